/**
 * Network: 5 ipvm nodes on loopback (one bootstrap, four that know only its
 * address). Measures node start, DHT provide, DHT findProviders (time to the
 * first provider), and fetching a 256 KiB block: from a known peer over
 * `/ipvm/blocks/1.0.0`, and end to end through `NetworkBlocks` (DHT lookup,
 * fetch, hash check, local store). No targets: the figures feed the design.
 */
import '../../src/polyfill.js'
import { randomBytes } from 'node:crypto'
import { identityFromSeed } from '../../src/auth/identity.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { createIpvmNode } from '../../src/net/node.js'
import { BlockExchange } from '../../src/net/protocols/blocks.js'
import { NetworkBlocks } from '../../src/net/network-blocks.js'
import { machine, median, quantile, round } from '../lib.js'
import type { BenchmarkResult } from '../lib.js'
import type { IpvmNode } from '../../src/net/node.js'

const NODES = 5
const PROVIDES = 20
const FETCHES = 20
const BLOCK_BYTES = 256 * 1024

interface Member { node: IpvmNode, exchange: BlockExchange, blocks: NetworkBlocks }

async function member (index: number, bootstrap: string[]): Promise<{ member: Member, startMs: number }> {
  const { privateKey } = await identityFromSeed(new Uint8Array(32).fill(100 + index))
  const node = await createIpvmNode({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], allowLoopback: true, bootstrap })
  const started = performance.now()
  await node.start()
  const startMs = performance.now() - started
  const local = memoryRepo().blocks
  const exchange = new BlockExchange(node.libp2p, { blocks: local })
  await exchange.start()
  return { member: { node, exchange, blocks: new NetworkBlocks({ local, node, exchange }) }, startMs }
}

const signal = (): { signal: AbortSignal } => ({ signal: AbortSignal.timeout(10_000) })

export async function run (): Promise<BenchmarkResult> {
  const members: Member[] = []
  try {
    const first = await member(0, [])
    members.push(first.member)
    const address = first.member.node.getMultiaddrs()[0]?.toString()
    if (address === undefined) throw new Error('bootstrap node has no address')
    // Node start: libp2p start, bootstrap dial, until the DHT knows a peer.
    const startMs = [first.startMs]
    const started = performance.now()
    const rest = await Promise.all(Array.from({ length: NODES - 1 }, async (_, i) => await member(i + 1, [address])))
    const allStartedMs = performance.now() - started
    for (const { member: m, startMs: ms } of rest) { members.push(m); startMs.push(ms) }

    // provide / findProviders: random CIDs, provided by one node, looked up from another.
    const provideMs: number[] = []
    const findMs: number[] = []
    for (let i = 0; i < PROVIDES; i++) {
      const provider = members[1 + (i % (NODES - 1))]!
      const seeker = members[1 + ((i + 1) % (NODES - 1))]!
      const cid = cidOf(randomBytes(32), codecs.raw)
      let t0 = performance.now()
      await provider.blocks.provide(cid, signal())
      provideMs.push(performance.now() - t0)
      t0 = performance.now()
      let found = false
      for await (const event of seeker.node.dht.findProviders(cid, signal())) {
        if (event.name === 'PROVIDER' && event.providers.some(p => p.id.equals(provider.node.peerId))) { found = true; break }
      }
      findMs.push(performance.now() - t0)
      if (!found) throw new Error(`findProviders did not find ${provider.node.peerId.toString()}`)
    }

    // 256 KiB block: direct fetch from a known peer, and NetworkBlocks.get end to end.
    const directMs: number[] = []
    const endToEndMs: number[] = []
    for (let i = 0; i < FETCHES; i++) {
      const holder = members[1 + (i % (NODES - 1))]!
      const reader = members[1 + ((i + 2) % (NODES - 1))]!
      const bytes = randomBytes(BLOCK_BYTES)
      const cid = cidOf(bytes, codecs.raw)
      await holder.blocks.put(cid, bytes, signal())
      let t0 = performance.now()
      const direct = await reader.exchange.fetchOne(holder.node.peerId, cid, signal())
      directMs.push(performance.now() - t0)
      if (direct?.byteLength !== BLOCK_BYTES) throw new Error('direct fetch failed')
      t0 = performance.now()
      const fetched = await reader.blocks.get(cid, signal())
      endToEndMs.push(performance.now() - t0)
      if (fetched?.byteLength !== BLOCK_BYTES) throw new Error('network fetch failed')
    }

    const p = (samples: number[], q: number): number => round(quantile(samples, q), 2)
    return {
      name: 'net',
      description: `${NODES} ipvm nodes on loopback (TCP, Noise, Yamux, kad-dht /ipvm/kad/1.0.0); ${PROVIDES} provide + findProviders of random CIDs, ${FETCHES} fetches of a ${BLOCK_BYTES / 1024} KiB block`,
      machine: machine(),
      date: new Date().toISOString(),
      metrics: {
        nodes: NODES,
        nodeStartP50Ms: round(median(startMs), 2),
        fourNodesStartTogetherMs: round(allStartedMs, 1),
        provideP50Ms: p(provideMs, 0.5),
        provideP90Ms: p(provideMs, 0.9),
        findProvidersP50Ms: p(findMs, 0.5),
        findProvidersP90Ms: p(findMs, 0.9),
        blockFetchDirectP50Ms: p(directMs, 0.5),
        blockFetchDirectMiBPerSecond: round(BLOCK_BYTES / 2 ** 20 / (median(directMs) / 1000), 1),
        blockFetchViaDhtP50Ms: p(endToEndMs, 0.5),
        blockFetchViaDhtP90Ms: p(endToEndMs, 0.9),
        samples: {
          startMs: startMs.map(v => round(v, 1)),
          provideMs: provideMs.map(v => round(v, 1)),
          findProvidersMs: findMs.map(v => round(v, 1)),
          blockFetchDirectMs: directMs.map(v => round(v, 1)),
          blockFetchViaDhtMs: endToEndMs.map(v => round(v, 1))
        }
      },
      targets: []
    }
  } finally {
    await Promise.all(members.map(async m => { await m.exchange.stop(); await m.node.stop() }))
  }
}
