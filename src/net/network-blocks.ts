/**
 * A `Blocks` store backed by the network: reads locally first, then asks the
 * peers that delivered recent blocks (the children of a UnixFS file come from
 * whoever had its root, like a bitswap session), then the providers the DHT
 * knows for the CID, one after another, until one returns bytes that match.
 * What it fetched is stored locally; what is `put` is provided in the DHT.
 */
import { BlockFetchError, NoPeersError } from './errors.js'
import { DEFAULT_DHT_QUERY_TIMEOUT_MS, DEFAULT_MAX_PROVIDERS_TRIED } from './constants.js'
import type { CID } from 'multiformats/cid'
import type { Logger, PeerId } from '@libp2p/interface'
import type { IpvmNode } from './node.js'
import type { BlockExchange } from './protocols/blocks.js'
import type { AbortOptions, Blocks } from '../store/interface.js'

/** Peers remembered as recent providers. */
const RECENT_PROVIDERS = 4

/** Options of {@link NetworkBlocks}. */
export interface NetworkBlocksInit {
  /** The local store: read first, written with every fetched block. */
  local: Blocks
  /** The node whose DHT finds providers and records what is put. */
  node: IpvmNode
  /** Fetches blocks from providers (and serves `local` to others). */
  exchange: BlockExchange
  /**
   * Most providers tried for one block before giving up.
   * @default 5
   */
  maxProvidersTried?: number
  /**
   * Time allowed for a DHT query (findProviders, provide) (ms).
   * @default 30000
   */
  queryTimeoutMs?: number
  /**
   * Provide blocks fetched from the network too (in the background), so later
   * readers have more sources: an executor announces the modules it holds.
   * @default false
   */
  provideFetched?: boolean
}

/**
 * @example
 * ```ts
 * const exchange = new BlockExchange(node.libp2p, { blocks: repo.blocks })
 * await exchange.start()
 * const blocks = new NetworkBlocks({ local: repo.blocks, node, exchange })
 * await blocks.put(cid, bytes)     // stored and provided
 * await other.get(cid)             // on another node: found through the DHT, verified, stored
 * ```
 */
export class NetworkBlocks implements Blocks {
  private readonly local: Blocks
  private readonly node: IpvmNode
  private readonly exchange: BlockExchange
  private readonly maxProvidersTried: number
  private readonly queryTimeoutMs: number
  private readonly provideFetched: boolean
  private readonly log: Logger
  /** Peers that delivered blocks lately, most recent first. */
  private recent: PeerId[] = []

  constructor (init: NetworkBlocksInit) {
    this.local = init.local
    this.node = init.node
    this.exchange = init.exchange
    this.maxProvidersTried = init.maxProvidersTried ?? DEFAULT_MAX_PROVIDERS_TRIED
    this.queryTimeoutMs = init.queryTimeoutMs ?? DEFAULT_DHT_QUERY_TIMEOUT_MS
    this.provideFetched = init.provideFetched ?? false
    if (!Number.isInteger(this.maxProvidersTried) || this.maxProvidersTried < 1) throw new RangeError(`maxProvidersTried must be a positive integer, got ${this.maxProvidersTried}`)
    if (!(this.queryTimeoutMs > 0)) throw new RangeError(`queryTimeoutMs must be positive, got ${this.queryTimeoutMs}`)
    this.log = init.node.libp2p.logger.forComponent('ipvm:net:network-blocks')
  }

  /**
   * Stores the block locally, then announces it in the DHT. When the
   * announcement fails the block stays stored and the error is thrown:
   * {@link NoPeersError} at once on a node with no DHT peers (kad-dht would
   * otherwise wait for the whole query timeout).
   */
  async put (cid: CID, bytes: Uint8Array, options: AbortOptions = {}): Promise<void> {
    await this.local.put(cid, bytes, options)
    await this.provide(cid, options)
  }

  /** Announces in the DHT that this node has `cid`. */
  async provide (cid: CID, options: AbortOptions = {}): Promise<void> {
    const routingTable = (this.node.dht as unknown as { routingTable?: { size: number } }).routingTable
    if (routingTable?.size === 0) throw new NoPeersError(`cannot provide ${cid.toString()}: the DHT routing table is empty`)
    for await (const event of this.node.dht.provide(cid, { signal: this.signal(options) })) void event
  }

  /** True when the block is in the local store (the network is not asked). */
  async has (cid: CID, options: AbortOptions = {}): Promise<boolean> {
    return await this.local.has(cid, options)
  }

  /**
   * The block from the local store, else from the first provider that returns
   * matching bytes. A provider that sends wrong bytes is reported and the next
   * is tried. `undefined` when no provider was found; {@link BlockFetchError}
   * when providers were found but none delivered.
   */
  async get (cid: CID, options: AbortOptions = {}): Promise<Uint8Array | undefined> {
    const here = await this.local.get(cid, options)
    if (here !== undefined) return here
    const self = this.node.peerId.toString()
    const tried = new Set<string>()
    const failures: Error[] = []
    const signal = this.signal(options)
    // Only peers still connected: a dial to one gone away would cost the whole timeout.
    for (const peer of this.recent) {
      if (this.exchange.isReported(peer) || this.node.libp2p.getConnections(peer).length === 0) continue
      try {
        const bytes = await this.exchange.fetchOne(peer, cid, { signal })
        if (bytes !== undefined) return await this.fetched(cid, bytes, peer, options)
      } catch (err) {
        this.log('recent provider %p failed for %s: %s', peer, cid, (err as Error).message)
        this.recent = this.recent.filter(p => !p.equals(peer))
      }
    }
    for await (const event of this.node.dht.findProviders(cid, { signal })) {
      if (event.name !== 'PROVIDER') continue
      for (const provider of event.providers) {
        const name = provider.id.toString()
        if (name === self || tried.has(name) || this.exchange.isReported(name)) continue
        tried.add(name)
        try {
          if (provider.multiaddrs.length > 0) await this.node.libp2p.peerStore.merge(provider.id, { multiaddrs: provider.multiaddrs }, { signal })
          const bytes = await this.exchange.fetchOne(provider.id, cid, { signal })
          if (bytes !== undefined) return await this.fetched(cid, bytes, provider.id, options)
          failures.push(new Error(`provider ${name} no longer has it`))
        } catch (err) {
          this.log('provider %s failed for %s: %s', name, cid, (err as Error).message)
          failures.push(err as Error)
        }
        if (tried.size >= this.maxProvidersTried) throw new BlockFetchError(cid.toString(), failures)
      }
    }
    if (tried.size === 0) return undefined
    throw new BlockFetchError(cid.toString(), failures)
  }

  private async fetched (cid: CID, bytes: Uint8Array, from: PeerId, options: AbortOptions): Promise<Uint8Array> {
    await this.local.put(cid, bytes, options)
    this.recent = [from, ...this.recent.filter(peer => !peer.equals(from))].slice(0, RECENT_PROVIDERS)
    if (this.provideFetched) {
      // In the background: the reader has its block; the announcement is for later readers.
      this.provide(cid).catch((err: Error) => { this.log('could not announce fetched %s: %s', cid, err.message) })
    }
    return bytes
  }

  private signal (options: AbortOptions): AbortSignal {
    const timeout = AbortSignal.timeout(this.queryTimeoutMs)
    return options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])
  }
}
