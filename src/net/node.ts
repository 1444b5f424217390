/**
 * The ipvm libp2p node: TCP, Noise, Yamux, identify, ping and a Kademlia DHT
 * in server mode under the private protocol prefix `/ipvm`, so ipvm nodes
 * form their own DHT and never join the public IPFS one.
 */
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { multiaddr } from '@multiformats/multiaddr'
import { logger } from '@libp2p/logger'
import {
  DEFAULT_BOOTSTRAP_DIAL_TIMEOUT_MS, DEFAULT_LISTEN_ADDRESSES, DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS, DHT_PROTOCOL, RECORD_NAMESPACE
} from './constants.js'
import { selectSignedRecord, validateSignedRecord } from './records.js'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Identify } from '@libp2p/identify'
import type { Ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'

const recordLog = logger('ipvm:net:records')

/** The record validator, with a log line for each record refused (a forged or malformed put names itself). */
const loggedValidator: typeof validateSignedRecord = async (key, value) => {
  try {
    await validateSignedRecord(key, value)
  } catch (err) {
    recordLog('refused a DHT record under %s: %s: %s', new TextDecoder().decode(key).slice(0, 120), (err as Error).name, (err as Error).message)
    throw err
  }
}

/** Options of {@link createIpvmNode}. */
export interface IpvmNodeInit {
  /**
   * The node's persistent key: `(await loadOrCreateIdentity(home)).privateKey`.
   * The PeerId derives from it, so a node keeps its name across restarts.
   */
  privateKey: PrivateKey
  /**
   * Multiaddrs to listen on.
   * @default ['/ip4/0.0.0.0/tcp/0']
   */
  listen?: string[]
  /**
   * Multiaddrs (with `/p2p/<peerId>`) dialled on start. A bootstrap address is
   * all a node needs to find the rest of the network through the DHT.
   * @default []
   */
  bootstrap?: string[]
  /**
   * Accept loopback addresses (127.0.0.0/8, ::1) for dialling, inbound
   * connections and DHT routing. Only for tests and single-machine devnets:
   * also exempts loopback from the inbound rate limit and keeps private
   * addresses in DHT answers.
   * @default false
   */
  allowLoopback?: boolean
  /**
   * Most open connections the node keeps.
   * @default 100
   */
  maxConnections?: number
  /**
   * Most inbound connections being upgraded at once.
   * @default 10
   */
  maxIncomingPendingConnections?: number
  /**
   * Time allowed to dial each bootstrap peer at start (ms).
   * @default 10000
   */
  bootstrapDialTimeoutMs?: number
}

/** The libp2p services an ipvm node runs (a type alias: libp2p's ServiceMap needs an index signature, which interfaces lack). */
export type IpvmServices = {
  identify: Identify
  ping: Ping
  dht: KadDHT
}

/** A started (or startable) ipvm node. */
export interface IpvmNode {
  readonly libp2p: Libp2p<IpvmServices>
  readonly peerId: PeerId
  readonly privateKey: PrivateKey
  readonly dht: KadDHT
  /** Starts libp2p, then dials the bootstrap peers. Safe to call twice. */
  start(): Promise<void>
  /** Stops libp2p and closes every connection. Safe to call twice. */
  stop(): Promise<void>
  isStarted(): boolean
  /** The addresses the node listens on, each with `/p2p/<peerId>`. */
  getMultiaddrs(): Multiaddr[]
  /** The bootstrap peers dialled successfully by the last start. */
  readonly connectedBootstrapPeers: number
}

/** True when `address` is a loopback address (127.0.0.0/8, ::1, localhost). */
export function isLoopback (address: Multiaddr): boolean {
  const first = address.getComponents()[0]
  if (first === undefined) return false
  const value = first.value ?? ''
  if (first.name === 'ip4') return value.startsWith('127.')
  if (first.name === 'ip6') return value === '::1' || value === '0:0:0:0:0:0:0:1'
  if (first.name === 'dns' || first.name === 'dns4' || first.name === 'dns6') return value === 'localhost'
  return false
}

/**
 * Creates an ipvm node (not started; call `start()`).
 *
 * @example
 * ```ts
 * const identity = await loadOrCreateIdentity(home)
 * const node = await createIpvmNode({ privateKey: identity.privateKey, bootstrap: ['/ip4/10.0.0.1/tcp/4001/p2p/12D3KooW…'] })
 * await node.start()
 * ```
 */
export async function createIpvmNode (init: IpvmNodeInit): Promise<IpvmNode> {
  const allowLoopback = init.allowLoopback ?? false
  const maxConnections = init.maxConnections ?? DEFAULT_MAX_CONNECTIONS
  if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new RangeError(`maxConnections must be a positive integer, got ${maxConnections}`)
  const bootstrapDialTimeoutMs = init.bootstrapDialTimeoutMs ?? DEFAULT_BOOTSTRAP_DIAL_TIMEOUT_MS
  if (!(bootstrapDialTimeoutMs > 0)) throw new RangeError(`bootstrapDialTimeoutMs must be positive, got ${bootstrapDialTimeoutMs}`)
  let bootstrap: Multiaddr[]
  try {
    bootstrap = (init.bootstrap ?? []).map(address => multiaddr(address))
  } catch (err) {
    throw new TypeError(`bootstrap: ${(err as Error).message}`)
  }
  for (const address of bootstrap) {
    if (address.getComponents().find(component => component.name === 'p2p') === undefined) throw new TypeError(`bootstrap: ${address.toString()} has no /p2p/<peerId>`)
  }

  const libp2p = await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    addresses: { listen: [...(init.listen ?? DEFAULT_LISTEN_ADDRESSES)] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections,
      maxIncomingPendingConnections: init.maxIncomingPendingConnections ?? DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS,
      // Many devnet nodes dialling one bootstrap node at once would trip the per-IP inbound rate limit.
      allow: allowLoopback ? ['/ip4/127.0.0.1/ipcidr/8'] : []
    },
    connectionGater: allowLoopback
      ? {}
      : {
          denyDialMultiaddr: (address: Multiaddr) => isLoopback(address),
          denyInboundConnection: (connection: { remoteAddr: Multiaddr }) => isLoopback(connection.remoteAddr)
        },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        // The library default is client mode; every ipvm node serves the DHT.
        clientMode: false,
        // Every query waits for the first self-query, which by default starts 1 s after start: a
        // second lost by every node joining. The bootstrap dial fills the routing table anyway.
        initialQuerySelfInterval: 0,
        // The default mapper drops private addresses, which leaves loopback routing tables empty.
        peerInfoMapper: allowLoopback ? passthroughMapper : removePrivateAddressesMapper,
        validators: { [RECORD_NAMESPACE]: loggedValidator },
        selectors: { [RECORD_NAMESPACE]: selectSignedRecord }
      })
    }
  })
  return new Node(libp2p, init.privateKey, bootstrap, bootstrapDialTimeoutMs)
}

class Node implements IpvmNode {
  readonly libp2p: Libp2p<IpvmServices>
  readonly privateKey: PrivateKey
  private readonly bootstrap: Multiaddr[]
  private readonly bootstrapDialTimeoutMs: number
  private starting: Promise<void> | undefined
  private stopping: Promise<void> | undefined
  private bootstrapped = 0

  constructor (libp2p: Libp2p<IpvmServices>, privateKey: PrivateKey, bootstrap: Multiaddr[], bootstrapDialTimeoutMs: number) {
    this.libp2p = libp2p
    this.privateKey = privateKey
    this.bootstrap = bootstrap
    this.bootstrapDialTimeoutMs = bootstrapDialTimeoutMs
  }

  get peerId (): PeerId { return this.libp2p.peerId }
  get dht (): KadDHT { return this.libp2p.services.dht }
  get connectedBootstrapPeers (): number { return this.bootstrapped }

  isStarted (): boolean { return this.libp2p.status === 'started' }

  getMultiaddrs (): Multiaddr[] { return this.libp2p.getMultiaddrs() }

  async start (): Promise<void> {
    if (this.stopping !== undefined) await this.stopping
    this.starting ??= this.doStart()
    await this.starting
  }

  async stop (): Promise<void> {
    if (this.starting !== undefined) await this.starting.catch(() => {})
    this.stopping ??= this.doStop()
    await this.stopping
  }

  private async doStart (): Promise<void> {
    this.stopping = undefined
    await this.libp2p.start()
    const own = this.peerId.toString()
    const targets = this.bootstrap.filter(address => address.getComponents().find(c => c.name === 'p2p')?.value !== own)
    const routingTable = (this.dht as unknown as { routingTable?: EventTarget & { size: number } }).routingTable
    // Resolves when the DHT has learnt a peer (identify ran, the peer speaks the ipvm DHT).
    const routed = new Promise<void>(resolve => {
      if (routingTable === undefined || targets.length === 0 || routingTable.size > 0) { resolve(); return }
      routingTable.addEventListener('peer:add', () => { resolve() }, { once: true })
    })
    const results = await Promise.allSettled(targets.map(async address =>
      await this.libp2p.dial(address, { signal: AbortSignal.timeout(this.bootstrapDialTimeoutMs) })))
    this.bootstrapped = results.filter(result => result.status === 'fulfilled').length
    if (this.bootstrapped > 0) {
      const timeout = AbortSignal.timeout(this.bootstrapDialTimeoutMs)
      await new Promise<void>(resolve => {
        timeout.addEventListener('abort', () => { resolve() }, { once: true })
        void routed.then(resolve)
      })
    }
  }

  private async doStop (): Promise<void> {
    this.starting = undefined
    await this.libp2p.stop()
  }
}
