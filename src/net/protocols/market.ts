/**
 * `/ipvm/market/1.0.0`: one request, one answer, per stream.
 *
 * - A scheduler sends executors a call for bids (`{ bids: { announcement } }`,
 *   a signed {@link Announcement}); each answers with a signed bid or a
 *   decline with a reason.
 * - Anyone asks a scheduler for an account (`balance`), the executors it
 *   knows (`executors`), a workflow's status (`status`), or, on a devnet
 *   whose scheduler runs a faucet, for credits (`deposit`, signed).
 *
 * A node answers the kinds of request its role handles; any other is refused
 * with `UnsupportedMarketRequest`. Requests are size-limited and timed; a
 * malformed one gets a named error answer, and the node goes on serving.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { MessageReader, readRequestFrame, writeMessage } from '../framing.js'
import { MalformedMessageError } from '../errors.js'
import { IpvmError } from '../../errors.js'
import {
  DEFAULT_MARKET_TIMEOUT_MS, MARKET_PROTOCOL, MAX_MARKET_MESSAGE_BYTES, MarketRequestRefusedError, parseMarketRequest
} from './market-messages.js'
import type { Libp2p, Logger, PeerId, Stream, Connection } from '@libp2p/interface'
import type { AbortOptions } from '../../store/interface.js'
import type { MarketRequest, MarketRequestKind } from './market-messages.js'

export * from './market-messages.js'

/** The request kind is not served by this node (its role does not handle it). */
export class UnsupportedMarketRequestError extends IpvmError {
  override name = 'UnsupportedMarketRequest'
}

/** Handles one kind of request: returns the answer (any IPLD value) or throws a named error, which is sent back. */
export type MarketHandler = (body: unknown, remote: PeerId) => Promise<unknown>

/** Options of {@link MarketService}. */
export interface MarketServiceInit {
  /** The kinds of request this node answers. */
  handlers: Partial<Record<MarketRequestKind, MarketHandler>>
  /** @default 262144 */
  maxRequestBytes?: number
  /** Time allowed for the request to arrive, and for the handler (ms). @default 10000 */
  timeoutMs?: number
  /** Most requests served at once per connection. @default 64 */
  maxInboundStreams?: number
}

/**
 * Serves `/ipvm/market/1.0.0` with the given handlers.
 *
 * @example
 * ```ts
 * const market = new MarketService(node.libp2p, { handlers: { bids: async body => await policy.answer(body) } })
 * await market.start()
 * ```
 */
export class MarketService {
  private readonly node: Pick<Libp2p, 'handle' | 'unhandle' | 'logger'>
  private readonly init: MarketServiceInit
  private readonly log: Logger
  private readonly timeoutMs: number
  private controller = new AbortController()
  private started = false

  constructor (node: Pick<Libp2p, 'handle' | 'unhandle' | 'logger'>, init: MarketServiceInit) {
    this.node = node
    this.init = init
    this.timeoutMs = init.timeoutMs ?? DEFAULT_MARKET_TIMEOUT_MS
    this.log = node.logger.forComponent('ipvm:net:market')
    this.handleStream = this.handleStream.bind(this)
  }

  async start (): Promise<void> {
    if (this.started) return
    this.controller = new AbortController()
    await this.node.handle(MARKET_PROTOCOL, this.handleStream, { maxInboundStreams: this.init.maxInboundStreams ?? 64 })
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.controller.abort()
    await this.node.unhandle(MARKET_PROTOCOL)
  }

  private async answer (stream: Stream, value: unknown): Promise<void> {
    try {
      await writeMessage(stream, value, { maxMessageBytes: MAX_MARKET_MESSAGE_BYTES, signal: AbortSignal.timeout(this.timeoutMs) })
      await stream.close({ signal: AbortSignal.timeout(this.timeoutMs) })
    } catch (err) {
      stream.abort(err as Error)
    }
  }

  private async handleStream (stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer
    const frame = await readRequestFrame(stream, { maxBytes: this.init.maxRequestBytes ?? MAX_MARKET_MESSAGE_BYTES, timeoutMs: this.timeoutMs, what: 'market request', signal: this.controller.signal })
    let answer: unknown
    try {
      if ('error' in frame) throw frame.error
      let decoded: unknown
      try {
        decoded = dagCbor.decode(frame.bytes)
      } catch (err) {
        throw new MalformedMessageError(`request is not DAG-CBOR: ${(err as Error).message}`)
      }
      const { kind, body } = parseMarketRequest(decoded)
      const handler = this.init.handlers[kind]
      if (handler === undefined) throw new UnsupportedMarketRequestError(`this node does not answer "${kind}" requests`)
      answer = await handler(body, remote)
    } catch (err) {
      const error = err as Error
      this.log('refused a market request from %p: %s: %s', remote, error.name, error.message)
      answer = { error: { name: error.name, message: error.message } }
    }
    await this.answer(stream, answer)
  }
}

/** Options of {@link marketRequest}. */
export interface MarketRequestOptions extends AbortOptions {
  /** @default 10000 */
  timeoutMs?: number
  /** Largest request sent and answer read (bytes). @default 262144 */
  maxMessageBytes?: number
}

/**
 * Sends one request to `peer` and returns its answer. A `{ error }` answer is
 * thrown as a {@link MarketRequestRefusedError} carrying the remote name.
 */
export async function marketRequest (node: Pick<Libp2p, 'dialProtocol'>, peer: PeerId | Parameters<Libp2p['dialProtocol']>[0], request: MarketRequest, options: MarketRequestOptions = {}): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_MARKET_TIMEOUT_MS
  const signal = options.signal === undefined ? AbortSignal.timeout(timeoutMs) : AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)])
  const stream = await node.dialProtocol(peer, MARKET_PROTOCOL, { signal })
  try {
    const maxMessageBytes = options.maxMessageBytes ?? MAX_MARKET_MESSAGE_BYTES
    await writeMessage(stream, request, { maxMessageBytes, signal })
    await stream.close({ signal })
    const reader = new MessageReader(stream, { maxMessageBytes, timeoutMs })
    const answer = await reader.readRequired('market answer', { signal })
    if (typeof answer === 'object' && answer !== null && 'error' in answer) {
      const error = (answer as { error: { name?: unknown, message?: unknown } }).error
      throw new MarketRequestRefusedError(String(error?.name ?? 'Error').slice(0, 100), String(error?.message ?? '').slice(0, 2000))
    }
    return answer
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
