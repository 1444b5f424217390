/**
 * Signed DHT records under `/ipvm/<peerId>/<name>`. The value is DAG-CBOR
 * `{ value, seq, signature }`, signed by the key of the PeerId named in the
 * key, so only that peer can write it. The validator runs on every put a DHT
 * node accepts and on every record a get returns; the selector keeps the
 * highest `seq`. Unsigned, forged or malformed records are refused.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { equals } from 'multiformats/bytes'
import { peerIdFromString } from '@libp2p/peer-id'
import { InvalidRecordError, RecordNotFoundError } from './errors.js'
import { DEFAULT_DHT_QUERY_TIMEOUT_MS, MAX_SIGNED_RECORD_BYTES, RECORD_NAMESPACE } from './constants.js'
import type { SelectFn, ValidateFn } from '@libp2p/kad-dht'
import type { IpvmNode } from './node.js'
import type { AbortOptions } from '../store/interface.js'

/** A record as read back: what was written, by whom, and its sequence number. */
export interface SignedRecord {
  /** PeerId (string) of the writer, the key's second segment. */
  publisher: string
  /** The record's name, the rest of the key. */
  name: string
  value: Uint8Array
  /** Higher replaces lower. */
  seq: number
}

interface Envelope {
  value: Uint8Array
  seq: number
  signature: Uint8Array
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })
// Domain separation: a record signature can never be replayed as another ipvm signature.
const SIGNATURE_DOMAIN = 'ipvm-signed-record/1'

/** The DHT key of record `name` written by `publisher` (a PeerId string). */
export function recordKey (publisher: string, name: string): Uint8Array {
  if (name.length === 0) throw new RangeError('record name must not be empty')
  return encoder.encode(`/${RECORD_NAMESPACE}/${publisher}/${name}`)
}

function signedPayload (key: Uint8Array, value: Uint8Array, seq: number): Uint8Array {
  return dagCbor.encode([SIGNATURE_DOMAIN, key, value, seq])
}

function parseKey (key: Uint8Array): { publisher: string, name: string } {
  let text: string
  try {
    text = decoder.decode(key)
  } catch {
    throw new InvalidRecordError('record key is not UTF-8')
  }
  const match = /^\/([^/]+)\/([^/]+)\/(.+)$/.exec(text)
  if (match === null || match[1] !== RECORD_NAMESPACE) throw new InvalidRecordError(`record key ${text} is not /${RECORD_NAMESPACE}/<peerId>/<name>`)
  return { publisher: match[2] ?? '', name: match[3] ?? '' }
}

function decodeEnvelope (bytes: Uint8Array): Envelope {
  if (bytes.byteLength > MAX_SIGNED_RECORD_BYTES) throw new InvalidRecordError(`record is ${bytes.byteLength} bytes, more than ${MAX_SIGNED_RECORD_BYTES}`)
  let decoded: unknown
  try {
    decoded = dagCbor.decode(bytes)
  } catch {
    throw new InvalidRecordError('record value is not DAG-CBOR')
  }
  const envelope = decoded as Partial<Envelope> | null
  if (envelope === null || typeof envelope !== 'object' ||
    !(envelope.value instanceof Uint8Array) ||
    !(envelope.signature instanceof Uint8Array) ||
    typeof envelope.seq !== 'number' || !Number.isSafeInteger(envelope.seq) || envelope.seq < 0) {
    throw new InvalidRecordError('record is not a signed { value, seq, signature } envelope')
  }
  return envelope as Envelope
}

/**
 * Checks a record: its key names a PeerId with an embedded public key, and its
 * signature by that key covers key, value and seq. Throws {@link InvalidRecordError}.
 */
export async function verifySignedRecord (key: Uint8Array, bytes: Uint8Array): Promise<SignedRecord> {
  const { publisher, name } = parseKey(key)
  let publicKey
  try {
    publicKey = peerIdFromString(publisher).publicKey
  } catch {
    throw new InvalidRecordError(`record key names ${publisher}, which is not a PeerId`)
  }
  if (publicKey === undefined) throw new InvalidRecordError(`PeerId ${publisher} does not embed its public key`)
  const envelope = decodeEnvelope(bytes)
  let valid: boolean
  try {
    valid = await publicKey.verify(signedPayload(key, envelope.value, envelope.seq), envelope.signature)
  } catch {
    // e.g. a signature of the wrong length
    valid = false
  }
  if (!valid) throw new InvalidRecordError(`record ${publisher}/${name} is not signed by ${publisher}`)
  return { publisher, name, value: envelope.value, seq: envelope.seq }
}

/** The DHT validator for the `/ipvm/` namespace: pass as `validators: { ipvm: validateSignedRecord }`. */
export const validateSignedRecord: ValidateFn = async (key, value) => {
  await verifySignedRecord(key, value)
}

/** The DHT selector for the `/ipvm/` namespace: the valid record with the highest `seq` (the first on ties). */
export const selectSignedRecord: SelectFn = (_key, records) => {
  let best = 0
  let bestSeq = -1
  records.forEach((bytes, index) => {
    let seq: number
    try {
      seq = decodeEnvelope(bytes).seq
    } catch {
      return
    }
    if (seq > bestSeq) {
      best = index
      bestSeq = seq
    }
  })
  return best
}

/** Options of {@link putSignedRecord}. */
export interface PutRecordOptions extends AbortOptions {
  /**
   * Sequence number; a higher one replaces a lower one.
   * @default Date.now()
   */
  seq?: number
}

/** Encodes and signs record `name` = `value` with `node`'s key (no network). */
export async function signRecord (node: IpvmNode, name: string, value: Uint8Array, seq: number = Date.now()): Promise<{ key: Uint8Array, bytes: Uint8Array }> {
  const key = recordKey(node.peerId.toString(), name)
  const signature = await node.privateKey.sign(signedPayload(key, value, seq))
  const bytes = dagCbor.encode({ value, seq, signature })
  if (bytes.byteLength > MAX_SIGNED_RECORD_BYTES) throw new RangeError(`record ${name} is ${bytes.byteLength} bytes, more than ${MAX_SIGNED_RECORD_BYTES}`)
  return { key, bytes }
}

/**
 * Signs record `name` = `value` with the node's key and stores it in the DHT
 * under `/ipvm/<own peerId>/<name>`. Returns the key and how many peers stored it.
 *
 * @example
 * ```ts
 * await putSignedRecord(node, 'capacity', encoder.encode('4 cores'))
 * const record = await getSignedRecord(other, node.peerId.toString(), 'capacity')
 * ```
 */
export async function putSignedRecord (node: IpvmNode, name: string, value: Uint8Array, options: PutRecordOptions = {}): Promise<{ key: Uint8Array, storedBy: number }> {
  const { key, bytes } = await signRecord(node, name, value, options.seq)
  const signal = withTimeout(options.signal)
  let storedBy = 0
  for await (const event of node.dht.put(key, bytes, { signal })) {
    // A peer that accepted the record echoes it back; one that refused answers with an error.
    if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE' && event.record !== undefined && equals(event.record.value, bytes)) storedBy++
  }
  return { key, storedBy }
}

/**
 * Reads record `name` written by `publisher` from the DHT and verifies it.
 * Throws {@link RecordNotFoundError} when no peer holds a valid one.
 */
export async function getSignedRecord (node: IpvmNode, publisher: string, name: string, options: AbortOptions = {}): Promise<SignedRecord> {
  const key = recordKey(publisher, name)
  const signal = withTimeout(options.signal)
  let best: SignedRecord | undefined
  try {
    for await (const event of node.dht.get(key, { signal })) {
      if (event.name !== 'VALUE') continue
      try {
        const record = await verifySignedRecord(key, event.value)
        if (best === undefined || record.seq > best.seq) best = record
      } catch {
        // A peer returned a bad record; kad-dht already drops those, this is belt and braces.
      }
    }
  } catch (err) {
    if (best === undefined && (err as Error).name !== 'NotFoundError') throw err
  }
  if (best === undefined) throw new RecordNotFoundError(`no valid record ${name} from ${publisher} in the DHT`)
  return best
}

function withTimeout (signal: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(DEFAULT_DHT_QUERY_TIMEOUT_MS)
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout])
}
