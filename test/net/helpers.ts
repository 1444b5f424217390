/**
 * Network test helpers: fixed identities and loopback node sets, every node
 * stopped when the test ends.
 */
import { identityFromSeed } from '../../src/auth/identity.js'
import { createIpvmNode } from '../../src/net/node.js'
import type { TestContext } from 'node:test'
import type { IpvmNode, IpvmNodeInit } from '../../src/net/node.js'

/** Fixed test identities: seed byte `index + 1`, so PeerIds are the same every run. */
export async function fixedKey (index: number): Promise<IpvmNodeInit['privateKey']> {
  return (await identityFromSeed(new Uint8Array(32).fill(index + 1))).privateKey
}

/** A loopback node (not started), stopped after the test. */
export async function loopbackNode (t: TestContext, index: number, init: Partial<IpvmNodeInit> = {}): Promise<IpvmNode> {
  const node = await createIpvmNode({
    privateKey: await fixedKey(index),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    allowLoopback: true,
    bootstrapDialTimeoutMs: 5_000,
    ...init
  })
  t.after(async () => { await node.stop() })
  return node
}

/**
 * `count` started loopback nodes: the first is the bootstrap node, the others
 * know only its address and learn the rest through the DHT.
 */
export async function loopbackNetwork (t: TestContext, count: number, firstIndex = 0): Promise<IpvmNode[]> {
  const bootstrap = await loopbackNode(t, firstIndex)
  await bootstrap.start()
  const address = bootstrap.getMultiaddrs()[0]?.toString()
  if (address === undefined) throw new Error('bootstrap node has no address')
  const others = await Promise.all(Array.from({ length: count - 1 }, async (_, i) => await loopbackNode(t, firstIndex + 1 + i, { bootstrap: [address] })))
  await Promise.all(others.map(async node => { await node.start() }))
  return [bootstrap, ...others]
}

/** A signal that aborts after `ms`: bounds every wait in a test. */
export const within = (ms: number): { signal: AbortSignal } => ({ signal: AbortSignal.timeout(ms) })
