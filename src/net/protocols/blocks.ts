/**
 * `/ipvm/blocks/1.0.0`: ask a peer for blocks by CID.
 *
 * The requester sends one message `{ want: [CID, …] }` and closes its write
 * side; the responder answers with one message per CID, in order:
 * `{ block: bytes }` or `{ missing: true }`, then closes. The requester
 * verifies every block's hash against its CID before anything else sees it,
 * and reports the peer when the bytes are wrong.
 */
import { CID } from 'multiformats/cid'
import { equals } from 'multiformats/bytes'
import { digestOf, isSupportedHash } from '../../model/block.js'
import { MessageReader, writeMessage } from '../framing.js'
import { InvalidBlockError, MalformedMessageError } from '../errors.js'
import {
  BLOCKS_MAX_INBOUND_STREAMS, BLOCKS_MAX_OUTBOUND_STREAMS, BLOCKS_PROTOCOL,
  DEFAULT_MESSAGE_TIMEOUT_MS, MAX_BLOCK_BYTES, MAX_BLOCKS_PER_REQUEST
} from '../constants.js'
import type { Connection, Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { AbortOptions, Blocks } from '../../store/interface.js'

/** The request message. */
export interface BlockRequest {
  want: CID[]
}

/** One response message per wanted CID. */
export type BlockResponse = { block: Uint8Array } | { missing: true }

// A response carries one block plus a few bytes of CBOR framing.
const RESPONSE_OVERHEAD = 64

/** Options of {@link BlockExchange}. */
export interface BlockExchangeInit {
  /** Where served blocks are read from. */
  blocks: Blocks
  /**
   * Largest block served or accepted (bytes).
   * @default 2097152
   */
  maxBlockBytes?: number
  /**
   * Time allowed for each message (the request, each block) to arrive (ms).
   * @default 10000
   */
  timeoutMs?: number
  /**
   * Most CIDs accepted in one request.
   * @default 64
   */
  maxBlocksPerRequest?: number
  /**
   * Most concurrent inbound block streams per connection.
   * @default 32
   */
  maxInboundStreams?: number
  /**
   * Most concurrent outbound block streams per connection.
   * @default 32
   */
  maxOutboundStreams?: number
}

/** The parts of a libp2p node the exchange uses. */
export type BlockExchangeNode = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'logger' | 'peerId'>

/** True when `bytes` hash to `cid`'s multihash. False for hashes ipvm cannot compute. */
export function blockMatches (cid: CID, bytes: Uint8Array): boolean {
  if (!isSupportedHash(cid.multihash.code)) return false
  return equals(digestOf(bytes, cid.multihash.code).digest, cid.multihash.digest)
}

/**
 * Serves blocks from a store over `/ipvm/blocks/1.0.0` and fetches blocks
 * from peers, verified against their CIDs.
 *
 * @example
 * ```ts
 * const exchange = new BlockExchange(node.libp2p, { blocks: repo.blocks })
 * await exchange.start()
 * const [bytes] = await exchange.fetch(peerId, [cid])
 * ```
 */
export class BlockExchange {
  private readonly node: BlockExchangeNode
  private readonly blocks: Blocks
  private readonly maxBlockBytes: number
  private readonly timeoutMs: number
  private readonly maxBlocksPerRequest: number
  private readonly maxInboundStreams: number
  private readonly maxOutboundStreams: number
  private readonly log: Logger
  private readonly reports = new Map<string, number>()
  private started = false

  constructor (node: BlockExchangeNode, init: BlockExchangeInit) {
    this.node = node
    this.blocks = init.blocks
    this.maxBlockBytes = init.maxBlockBytes ?? MAX_BLOCK_BYTES
    this.timeoutMs = init.timeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS
    this.maxBlocksPerRequest = init.maxBlocksPerRequest ?? MAX_BLOCKS_PER_REQUEST
    this.maxInboundStreams = init.maxInboundStreams ?? BLOCKS_MAX_INBOUND_STREAMS
    this.maxOutboundStreams = init.maxOutboundStreams ?? BLOCKS_MAX_OUTBOUND_STREAMS
    for (const [option, value] of Object.entries({ maxBlockBytes: this.maxBlockBytes, timeoutMs: this.timeoutMs, maxBlocksPerRequest: this.maxBlocksPerRequest })) {
      if (!(value > 0)) throw new RangeError(`${option} must be positive, got ${value}`)
    }
    this.log = node.logger.forComponent('ipvm:net:blocks')
    this.handleStream = this.handleStream.bind(this)
  }

  /** Registers the protocol handler. Safe to call twice. */
  async start (): Promise<void> {
    if (this.started) return
    await this.node.handle(BLOCKS_PROTOCOL, this.handleStream, {
      maxInboundStreams: this.maxInboundStreams,
      maxOutboundStreams: this.maxOutboundStreams
    })
    this.started = true
  }

  /** Unregisters the protocol handler. Safe to call twice. */
  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.node.unhandle(BLOCKS_PROTOCOL)
  }

  isStarted (): boolean { return this.started }

  /** How many times each peer (PeerId string) sent a block that did not match its CID. */
  misbehaviour (): ReadonlyMap<string, number> { return this.reports }

  /** True when `peer` has sent at least one wrong block. */
  isReported (peer: PeerId | string): boolean { return this.reports.has(peer.toString()) }

  /**
   * Asks `peer` for `cids`; the result holds each block's bytes, or
   * `undefined` where the peer does not have it. Throws
   * {@link InvalidBlockError} (and reports the peer) when any block's bytes do
   * not match its CID, and the framing errors on oversize, timeout or
   * malformed answers.
   */
  async fetch (peer: PeerId | Multiaddr, cids: CID[], options: AbortOptions = {}): Promise<Array<Uint8Array | undefined>> {
    if (cids.length === 0) return []
    if (cids.length > this.maxBlocksPerRequest) throw new RangeError(`at most ${this.maxBlocksPerRequest} CIDs per request, got ${cids.length}`)
    const dialOptions = options.signal === undefined ? {} : { signal: options.signal }
    const stream = await this.node.dialProtocol(peer, BLOCKS_PROTOCOL, dialOptions)
    const remote = peerName(peer)
    try {
      await writeMessage(stream, { want: cids } satisfies BlockRequest, options)
      await stream.close(options)
      const reader = new MessageReader(stream, { maxMessageBytes: this.maxBlockBytes + RESPONSE_OVERHEAD, timeoutMs: this.timeoutMs })
      const found: Array<Uint8Array | undefined> = []
      for (const cid of cids) {
        const response = parseResponse(await reader.readRequired(`block ${cid.toString()}`, options))
        if ('missing' in response) {
          found.push(undefined)
          continue
        }
        if (!blockMatches(cid, response.block)) {
          const err = new InvalidBlockError(cid.toString(), remote)
          this.reports.set(remote, (this.reports.get(remote) ?? 0) + 1)
          this.log.error('%s', err.message)
          stream.abort(err)
          throw err
        }
        found.push(response.block)
      }
      return found
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  /** Asks `peer` for one block; `undefined` when it does not have it. */
  async fetchOne (peer: PeerId | Multiaddr, cid: CID, options: AbortOptions = {}): Promise<Uint8Array | undefined> {
    const [bytes] = await this.fetch(peer, [cid], options)
    return bytes
  }

  private async handleStream (stream: Stream, connection: Connection): Promise<void> {
    try {
      const reader = new MessageReader(stream, { maxMessageBytes: this.maxBlocksPerRequest * 128 + 64, timeoutMs: this.timeoutMs })
      const request = parseRequest(await reader.readRequired('block request'), this.maxBlocksPerRequest)
      for (const cid of request.want) {
        const bytes = await this.blocks.get(cid)
        const response: BlockResponse = bytes === undefined || bytes.byteLength > this.maxBlockBytes ? { missing: true } : { block: bytes }
        await writeMessage(stream, response, { maxMessageBytes: this.maxBlockBytes + RESPONSE_OVERHEAD })
      }
      await stream.close({ signal: AbortSignal.timeout(this.timeoutMs) })
    } catch (err) {
      this.log.error('serving blocks to %p failed: %e', connection.remotePeer, err)
      stream.abort(err as Error)
    }
  }
}

function peerName (peer: PeerId | Multiaddr): string {
  if ('getComponents' in peer) return peer.getComponents().find(component => component.name === 'p2p')?.value ?? peer.toString()
  return peer.toString()
}

function parseRequest (value: unknown, maxBlocks: number): BlockRequest {
  const want = (value as { want?: unknown } | null)?.want
  if (!Array.isArray(want)) throw new MalformedMessageError('block request has no `want` list')
  if (want.length > maxBlocks) throw new MalformedMessageError(`block request wants ${want.length} blocks, more than ${maxBlocks}`)
  const cids = want.map(item => CID.asCID(item))
  if (cids.some(cid => cid === null)) throw new MalformedMessageError('block request `want` holds a value that is not a CID')
  return { want: cids as CID[] }
}

function parseResponse (value: unknown): BlockResponse {
  const response = value as { block?: unknown, missing?: unknown } | null
  if (response !== null && typeof response === 'object') {
    if (response.block instanceof Uint8Array) return { block: response.block }
    if (response.missing === true) return { missing: true }
  }
  throw new MalformedMessageError('block response is neither { block } nor { missing: true }')
}
