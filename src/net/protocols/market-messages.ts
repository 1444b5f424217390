/**
 * Messages of `/ipvm/market/1.0.0`, their signatures and their validation.
 *
 * Signed messages (announcements, bids, deposits) are DAG-CBOR blocks
 * `{ payload, sig }`: `sig` is the issuer's signature (varsig-encoded, see
 * `Signer`) of `"ipvm-market/1/<type>" ‖ DAG-CBOR(payload)`, the issuer is the
 * DID the payload names (`scheduler`, `executor`, `from`), and the block's CID
 * names the message (a bid cites its announcement's CID; an award cites the
 * winning bid's). The type prefix keeps a signature of one kind from being
 * replayed as another.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { IpvmError } from '../../errors.js'
import { cidOf, codecs } from '../../model/block.js'
import { isAmount } from '../../model/price.js'
import { verifySignature } from '../../auth/principal.js'
import { matchesCid } from '../../auth/delegation.js'
import { MalformedMessageError } from '../errors.js'
import type { DID, Signer } from '../../auth/types.js'

/** The market protocol. */
export const MARKET_PROTOCOL = '/ipvm/market/1.0.0'

/** Largest market request or answer (bytes). */
export const MAX_MARKET_MESSAGE_BYTES = 256 * 1024

/** Time allowed for a market request, and for its answer (ms). */
export const DEFAULT_MARKET_TIMEOUT_MS = 10_000

/** A signed market message did not verify, or says something it may not. */
export class InvalidMarketMessageError extends IpvmError {
  override name = 'InvalidMarketMessage'
}

/** The node answered with a named error (the answer's `name` is kept). */
export class MarketRequestRefusedError extends IpvmError {
  readonly remoteName: string
  constructor (name: string, message: string) {
    super(message)
    this.name = name
    this.remoteName = name
  }
}

/** A scheduler's call for bids on one task. */
export interface Announcement {
  scheduler: DID
  /** The InID: the instruction's CID. */
  task: CID
  module: CID
  /** The task's fuel limit. */
  fuel: number
  /** Highest price accepted, in credits per million fuel. */
  maxPrice: number
  /** Bids must arrive before this (ms since the epoch). */
  deadline: number
  /** When it was made (ms since the epoch); also makes each announcement unique. */
  issued: number
}

/** An executor's offer to run an announced task. */
export interface Bid {
  executor: DID
  /** CID of the announcement answered. */
  announcement: CID
  task: CID
  /** Credits per million fuel. */
  price: number
  /** When it expects to start the task if awarded now (ms since the epoch). */
  expectedStart: number
  /** Tasks it runs or has queued now, and how many it runs at the same instant (its worker threads). */
  load: { running: number, capacity: number }
  /** Whether it already holds the module (no fetch before running). */
  cached: boolean
  issued: number
}

/** A request to credit an account (a faucet on a devnet). */
export interface DepositRequest {
  from: DID
  to: DID
  amount: number
  /** Straight into `to`'s stake. */
  stake: boolean
  issued: number
}

/** Why an executor does not bid. */
export type DeclineCode = 'price' | 'capacity' | 'module' | 'deadline' | 'invalid'

/** A signed message as received: its CID, what it says, the raw block. */
export interface Opened<T> {
  cid: CID
  payload: T
  bytes: Uint8Array
}

const encoder = new TextEncoder()

type MessageType = 'announce' | 'bid' | 'deposit'

function signingBytes (type: MessageType, payload: unknown): Uint8Array {
  const prefix = encoder.encode(`ipvm-market/1/${type}`)
  const body = dagCbor.encode(payload)
  const out = new Uint8Array(prefix.byteLength + body.byteLength)
  out.set(prefix, 0)
  out.set(body, prefix.byteLength)
  return out
}

async function sign<T> (type: MessageType, payload: T, signer: Signer): Promise<Opened<T>> {
  const sig = Uint8Array.from(await signer.sign(signingBytes(type, payload)))
  const bytes = dagCbor.encode({ payload, sig })
  return { cid: cidOf(bytes, codecs.dagCbor), payload, bytes }
}

/** Signs an announcement (its `scheduler` must be the signer's DID). */
export async function signAnnouncement (payload: Announcement, signer: Signer): Promise<Opened<Announcement>> {
  return await sign('announce', payload, signer)
}

/** Signs a bid (its `executor` must be the signer's DID). */
export async function signBid (payload: Bid, signer: Signer): Promise<Opened<Bid>> {
  return await sign('bid', payload, signer)
}

/** Signs a deposit request. */
export async function signDeposit (payload: DepositRequest, signer: Signer): Promise<Opened<DepositRequest>> {
  return await sign('deposit', payload, signer)
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array) && CID.asCID(value) === null
/** True for a `did:key` (the only DIDs market messages name: their keys verify the signatures). */
export const isDidKey = (value: unknown): value is DID => typeof value === 'string' && /^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$/.test(value)
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0

function field<T> (payload: Record<string, unknown>, key: string, check: (value: unknown) => value is T, what: string, kind: string): T {
  const value = payload[key]
  if (!check(value)) throw new InvalidMarketMessageError(`${kind}: \`${key}\` must be ${what}`)
  return value
}

const isCid = (value: unknown): value is CID => CID.asCID(value) !== null
const isBoolean = (value: unknown): value is boolean => typeof value === 'boolean'
const isPositive = (value: unknown): value is number => isAmount(value) && value > 0

function parseAnnouncement (payload: Record<string, unknown>): Announcement {
  const kind = 'announcement'
  return {
    scheduler: field(payload, 'scheduler', isDidKey, 'a did:key', kind),
    task: CID.asCID(field(payload, 'task', isCid, 'a CID', kind)) as CID,
    module: CID.asCID(field(payload, 'module', isCid, 'a CID', kind)) as CID,
    fuel: field(payload, 'fuel', isPositive, 'a positive integer', kind),
    maxPrice: field(payload, 'maxPrice', isAmount, 'a non-negative integer', kind),
    deadline: field(payload, 'deadline', isTime, 'a time in ms', kind),
    issued: field(payload, 'issued', isTime, 'a time in ms', kind)
  }
}

function parseBid (payload: Record<string, unknown>): Bid {
  const kind = 'bid'
  const load = payload.load
  if (!isRecord(load) || !isAmount(load.running) || !isPositive(load.capacity)) throw new InvalidMarketMessageError('bid: `load` must be { running, capacity } integers')
  return {
    executor: field(payload, 'executor', isDidKey, 'a did:key', kind),
    announcement: CID.asCID(field(payload, 'announcement', isCid, 'a CID', kind)) as CID,
    task: CID.asCID(field(payload, 'task', isCid, 'a CID', kind)) as CID,
    price: field(payload, 'price', isAmount, 'a non-negative integer', kind),
    expectedStart: field(payload, 'expectedStart', isTime, 'a time in ms', kind),
    load: { running: load.running, capacity: load.capacity },
    cached: field(payload, 'cached', isBoolean, 'a boolean', kind),
    issued: field(payload, 'issued', isTime, 'a time in ms', kind)
  }
}

function parseDeposit (payload: Record<string, unknown>): DepositRequest {
  const kind = 'deposit'
  return {
    from: field(payload, 'from', isDidKey, 'a did:key', kind),
    to: field(payload, 'to', isDidKey, 'a did:key', kind),
    amount: field(payload, 'amount', isPositive, 'a positive integer', kind),
    stake: field(payload, 'stake', isBoolean, 'a boolean', kind),
    issued: field(payload, 'issued', isTime, 'a time in ms', kind)
  }
}

const parsers = { announce: parseAnnouncement, bid: parseBid, deposit: parseDeposit }
const issuers = { announce: 'scheduler', bid: 'executor', deposit: 'from' } as const

/** Options of the `open*` functions. */
export interface OpenOptions {
  /** Skip the signature check: the message came over a connection authenticated as its issuer (checked by the caller). */
  trustedIssuer?: DID
}

function open<T extends MessageType> (type: T, bytes: Uint8Array, options: OpenOptions): Opened<ReturnType<typeof parsers[T]>> {
  let decoded: unknown
  try {
    decoded = dagCbor.decode(bytes)
  } catch (err) {
    throw new MalformedMessageError(`${type} message is not DAG-CBOR: ${(err as Error).message}`)
  }
  if (!isRecord(decoded) || !isRecord(decoded.payload) || !(decoded.sig instanceof Uint8Array)) throw new InvalidMarketMessageError(`${type} message must be { payload, sig }`)
  const payload = parsers[type](decoded.payload) as ReturnType<typeof parsers[T]>
  const issuer = (payload as unknown as Record<string, DID>)[issuers[type]] as DID
  if (options.trustedIssuer !== undefined) {
    if (options.trustedIssuer !== issuer) throw new InvalidMarketMessageError(`${type} from ${options.trustedIssuer} claims to be issued by ${issuer}`)
  } else {
    const verified = verifySignature(issuer, signingBytes(type, decoded.payload), decoded.sig, { what: `${type} message` })
    if (verified.error !== undefined) throw new InvalidMarketMessageError(`${verified.error.name}: ${verified.error.message}`)
  }
  return { cid: cidOf(bytes, codecs.dagCbor), payload, bytes }
}

/** Decodes and checks an announcement: shape, and the signature of its `scheduler`. Throws `InvalidMarketMessage`/`MalformedMessageError`. */
export function openAnnouncement (bytes: Uint8Array, options: OpenOptions = {}): Opened<Announcement> {
  return open('announce', bytes, options)
}

/** Decodes and checks a bid: shape, and the signature of its `executor`. */
export function openBid (bytes: Uint8Array, options: OpenOptions = {}): Opened<Bid> {
  return open('bid', bytes, options)
}

/** Decodes and checks a deposit request: shape, and the signature of `from`. */
export function openDeposit (bytes: Uint8Array, options: OpenOptions = {}): Opened<DepositRequest> {
  return open('deposit', bytes, options)
}

/** A block as it travels in a message. */
export interface CarriedBlock { cid: CID, bytes: Uint8Array }

/** A market request. */
export type MarketRequest =
  | { bids: { announcement: Uint8Array } }
  | { deposit: Uint8Array }
  | { balance: { did: string } }
  | { executors: Record<string, never> }
  | { status: { workflow: string } }
  /** Scheduler → verifier: a finished receipt and the blocks it rests on (the verifier samples it). */
  | { check: { receipt: Uint8Array, blocks: CarriedBlock[] } }
  /** Verifier → scheduler: an attestation (a receipt/attest UCAN, archived). */
  | { attest: Uint8Array }
  /** Verifier → scheduler: a fraud proof block and the challenge receipt (and any other block it needs). */
  | { fraud: { proof: Uint8Array, blocks: CarriedBlock[] } }
  /** Anyone → scheduler: the verification state of receipts. */
  | { verification: { receipts: string[] } }
  /** Anyone → scheduler: the verifiers it has heard from, with their record. */
  | { verifiers: Record<string, never> }

/** The kinds of request, by their key. */
export type MarketRequestKind = 'bids' | 'deposit' | 'balance' | 'executors' | 'status' | 'check' | 'attest' | 'fraud' | 'verification' | 'verifiers'

export const MARKET_REQUEST_KINDS: readonly MarketRequestKind[] = ['bids', 'deposit', 'balance', 'executors', 'status', 'check', 'attest', 'fraud', 'verification', 'verifiers']

/** Largest verification message (`check`, `fraud`) (bytes): a receipt with its output inline and its blocks. */
export const MAX_VERIFICATION_MESSAGE_BYTES = 16 * 1024 * 1024

/** Reads the `blocks` of a verification message: each `{cid, bytes}` matching its CID. Throws `MalformedMessageError`. */
export function parseCarriedBlocks (value: unknown, max = 256): CarriedBlock[] {
  if (!Array.isArray(value) || value.length > max) throw new MalformedMessageError(`\`blocks\` must be a list of at most ${max} {cid, bytes}`)
  return value.map(entry => {
    const cid = CID.asCID((entry as { cid?: unknown } | null)?.cid)
    const bytes = (entry as { bytes?: unknown } | null)?.bytes
    if (cid === null || !(bytes instanceof Uint8Array)) throw new MalformedMessageError('a block is {cid, bytes}')
    if (!matchesCid(cid, bytes)) throw new MalformedMessageError(`block ${cid} does not match its CID`)
    return { cid, bytes }
  })
}

/** The kind of a decoded request and its body, or an error naming what is wrong. */
export function parseMarketRequest (value: unknown): { kind: MarketRequestKind, body: unknown } {
  if (!isRecord(value)) throw new MalformedMessageError('a market request must be a map')
  const keys = Object.keys(value)
  if (keys.length !== 1) throw new MalformedMessageError(`a market request has exactly one key (${MARKET_REQUEST_KINDS.join(', ')}), not ${keys.length}`)
  const kind = keys[0] as MarketRequestKind
  if (!MARKET_REQUEST_KINDS.includes(kind)) throw new MalformedMessageError(`unknown market request "${String(kind)}" (expected ${MARKET_REQUEST_KINDS.join(', ')})`)
  return { kind, body: value[kind] }
}

/** The answer to a call for bids. */
export type BidAnswer = { bid: Uint8Array } | { decline: { code: DeclineCode, reason: string } }

/** Reads a call-for-bids answer: a bid (still to be opened) or a decline. */
export function parseBidAnswer (value: unknown): BidAnswer {
  if (isRecord(value) && value.bid instanceof Uint8Array) return { bid: value.bid }
  if (isRecord(value) && isRecord(value.decline) && typeof value.decline.code === 'string' && typeof value.decline.reason === 'string') {
    const code = (['price', 'capacity', 'module', 'deadline', 'invalid'] as const).find(known => known === (value.decline as { code: string }).code) ?? 'invalid'
    return { decline: { code, reason: value.decline.reason.slice(0, 500) } }
  }
  throw new MalformedMessageError('a call-for-bids answer is { bid } or { decline: { code, reason } }')
}
