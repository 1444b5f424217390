/**
 * What the network commands share: address flags, the loopback rule, node
 * logs, and waiting for Ctrl-C.
 *
 * Loopback addresses (127.0.0.0/8, ::1) are accepted only when the user gives
 * one: a node whose flags name a loopback address accepts loopback peers (a
 * devnet on one machine); any other node refuses them.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { enable } from '@libp2p/logger'
import { UsageError } from '../errors.js'
import { isLoopback } from '../net/node.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Parses the multiaddrs of a flag; `needPeer` requires `/p2p/<peerId>`. */
export function parseAddresses (values: unknown, flag: string, needPeer = false): Multiaddr[] {
  const list = values === undefined ? [] : Array.isArray(values) ? values : [values]
  return list.map(value => {
    let address: Multiaddr
    try {
      address = multiaddr(String(value))
    } catch (err) {
      throw new UsageError(`--${flag} ${String(value)}: not a multiaddr (${(err as Error).message}); e.g. /ip4/10.0.0.1/tcp/4001${needPeer ? '/p2p/12D3KooW…' : ''}`)
    }
    if (needPeer && address.getComponents().find(component => component.name === 'p2p') === undefined) {
      throw new UsageError(`--${flag} ${String(value)} has no /p2p/<peerId>; \`ipvm node\` prints its full address`)
    }
    return address
  })
}

/** True when the user named a loopback address: the node then accepts loopback peers. */
export function loopbackConfigured (...lists: Multiaddr[][]): boolean {
  return lists.some(list => list.some(isLoopback))
}

/**
 * Turns on the node's log lines on stderr (refused messages, failed peers,
 * workflows taken): every `ipvm:` component, unless `DEBUG` says otherwise.
 */
export function enableNodeLogs (env: NodeJS.ProcessEnv): void {
  if (env.DEBUG === undefined || env.DEBUG === '') enable('ipvm:*,-ipvm:*:trace')
}

/** Resolves when `signal` aborts (Ctrl-C): how long-running commands wait. */
export async function untilAborted (signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>(resolve => { signal.addEventListener('abort', () => { resolve() }, { once: true }) })
}

/** A positive integer flag, or `fallback`. */
export function integerFlag (value: unknown, flag: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback
  const number = Number(value)
  if (!Number.isInteger(number) || number < min || number > max) throw new UsageError(`--${flag} must be an integer from ${min} to ${max}`)
  return number
}

/** A flag that is a probability: a number from 0 to 1 (`UsageError` otherwise). */
export function rateFlag (text: string, name: string): number {
  const rate = Number(text)
  if (text.trim() === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) throw new UsageError(`--${name} must be a number from 0 to 1, got ${text}`)
  return rate
}
