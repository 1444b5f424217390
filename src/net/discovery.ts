/**
 * Role discovery through the DHT alone. A node advertises a role (scheduler,
 * executor, verifier) by providing the CID of the raw bytes `ipvm-role:<name>`;
 * others find it with `findProviders` on the same CID. Only a bootstrap
 * address needs configuring.
 */
import { CID } from 'multiformats/cid'
import { cidOf, codecs } from '../model/block.js'
import { DEFAULT_DHT_QUERY_TIMEOUT_MS, ROLE_KEY_PREFIX } from './constants.js'
import type { PeerInfo } from '@libp2p/interface'
import type { IpvmNode } from './node.js'
import type { AbortOptions } from '../store/interface.js'

/** The roles a node can play. */
export type Role = 'scheduler' | 'executor' | 'verifier'

/** The roles, for validation. */
export const ROLES: readonly Role[] = ['scheduler', 'executor', 'verifier']

/** The CID a role is advertised under: raw CIDv1 (sha2-256) of `ipvm-role:<role>`. */
export function roleCid (role: Role): CID {
  if (!ROLES.includes(role)) throw new RangeError(`unknown role ${String(role)}; expected one of ${ROLES.join(', ')}`)
  return cidOf(new TextEncoder().encode(`${ROLE_KEY_PREFIX}${role}`), codecs.raw)
}

/** Options of role lookups. */
export interface FindRoleOptions extends AbortOptions {
  /**
   * Stop after this many peers.
   * @default Infinity
   */
  limit?: number
  /**
   * Time allowed for the DHT query (ms).
   * @default 30000
   */
  timeoutMs?: number
}

/** Announces in the DHT that `node` plays `role`. Re-announced by kad-dht's reprovider. */
export async function advertiseRole (node: IpvmNode, role: Role, options: AbortOptions = {}): Promise<void> {
  const signal = withTimeout(options.signal, DEFAULT_DHT_QUERY_TIMEOUT_MS)
  await whenSelfAddressed(node, signal)
  for await (const event of node.dht.provide(roleCid(role), { signal })) void event
}

/**
 * Peers that advertised `role`, found through the DHT, excluding `node`
 * itself. Their addresses are added to the peer store so they can be dialled.
 * Waits (within the timeout) for the routing table to hold a peer first.
 */
export async function findPeersByRole (node: IpvmNode, role: Role, options: FindRoleOptions = {}): Promise<PeerInfo[]> {
  const limit = options.limit ?? Infinity
  const signal = withTimeout(options.signal, options.timeoutMs ?? DEFAULT_DHT_QUERY_TIMEOUT_MS)
  const self = node.peerId.toString()
  const found = new Map<string, PeerInfo>()
  // A node that has just started may not have its bootstrap peer in the
  // routing table yet; a query then asks nobody and finds nothing.
  try {
    await whenRouted(node, signal)
  } catch (err) {
    if (options.signal?.aborted === true) throw err
    return []
  }
  for await (const event of node.dht.findProviders(roleCid(role), { signal })) {
    if (event.name !== 'PROVIDER') continue
    for (const provider of event.providers) {
      const name = provider.id.toString()
      if (name === self || found.has(name)) continue
      found.set(name, provider)
      if (provider.multiaddrs.length > 0) await node.libp2p.peerStore.merge(provider.id, { multiaddrs: provider.multiaddrs }, { signal })
      if (found.size >= limit) return [...found.values()]
    }
  }
  return [...found.values()]
}

/**
 * Resolves once the node's own peer record holds its listen addresses.
 * libp2p writes them there up to a second after listening, and a DHT node
 * answers a provider query for itself only with the addresses in that record:
 * a role advertised earlier would be found without an address, and dropped.
 * A node that listens on nothing resolves at once.
 */
async function whenSelfAddressed (node: IpvmNode, signal: AbortSignal): Promise<void> {
  const libp2p = node.libp2p
  if (libp2p.getMultiaddrs().length === 0) return
  const addressed = async (): Promise<boolean> => {
    try {
      return (await libp2p.peerStore.get(libp2p.peerId)).addresses.length > 0
    } catch {
      return false
    }
  }
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      libp2p.removeEventListener('self:peer:update', check)
      signal.removeEventListener('abort', onAbort)
    }
    const check = (): void => { void addressed().then(yes => { if (yes) { done(); resolve() } }) }
    const onAbort = (): void => { done(); reject(signal.reason) }
    libp2p.addEventListener('self:peer:update', check)
    signal.addEventListener('abort', onAbort, { once: true })
    check()
  })
}

/** Peers in the node's DHT routing table. */
export function routingTableSize (node: IpvmNode): number {
  return (node.dht as unknown as { routingTable?: { size: number } }).routingTable?.size ?? 0
}

/** Resolves once the DHT routing table holds a peer (at once if it does); rejects when `signal` aborts. */
export async function whenRouted (node: IpvmNode, signal: AbortSignal): Promise<void> {
  const table = (node.dht as unknown as { routingTable?: EventTarget & { size: number } }).routingTable
  if (table === undefined || table.size > 0) return
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const onPeer = (): void => { signal.removeEventListener('abort', onAbort); resolve() }
    const onAbort = (): void => { table.removeEventListener('peer:add', onPeer); reject(signal.reason) }
    table.addEventListener('peer:add', onPeer, { once: true })
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Advertises `role` as soon as the node has a DHT peer to tell (the first
 * node of a network has none until another joins), retrying failures every
 * `retryMs`. Resolves once advertised; rejects only when `signal` aborts.
 */
export async function advertiseRoleWhenRouted (node: IpvmNode, role: Role, signal: AbortSignal, retryMs = 2_000): Promise<void> {
  for (;;) {
    await whenRouted(node, signal)
    try {
      await advertiseRole(node, role, { signal })
      return
    } catch (err) {
      signal.throwIfAborted()
      await new Promise<void>(resolve => { setTimeout(resolve, retryMs).unref?.() })
    }
  }
}

function withTimeout (signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(ms)
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout])
}

/** What {@link startRole} needs: how to start a role's services, and how to stop them. */
export interface RoleLifecycle {
  node: IpvmNode
  role: Role
  /** Announce the role in the DHT once the node has a DHT peer. @default true */
  advertise?: boolean
  /** Starts the role's services; on failure, `stop` runs and the error is thrown. */
  start: () => Promise<void>
  /** Stops them (called at most once). */
  stop: () => Promise<void>
}

/**
 * Starts a role (executor, scheduler, verifier) the one way every role does:
 * its services, then its announcement in the DHT as soon as the node is
 * routed. Returns when it was announced, and an idempotent `stop` that
 * withdraws the announcement attempt and stops the services.
 */
export async function startRole (init: RoleLifecycle): Promise<{ advertised: Promise<void>, stop: () => Promise<void> }> {
  let stopped = false
  const advertising = new AbortController()
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    advertising.abort(new Error('the role is stopping'))
    await init.stop()
  }
  try {
    await init.start()
  } catch (err) {
    await stop()
    throw err
  }
  const advertised = init.advertise === false ? Promise.resolve() : advertiseRoleWhenRouted(init.node, init.role, advertising.signal)
  advertised.catch(() => {})
  return { advertised, stop }
}
