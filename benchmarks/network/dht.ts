/**
 * DHT `findProviders` latency and hop count with 10, 50 and 100 ipvm nodes in
 * one process on 127.0.0.1 (issue 7, "Measure").
 *
 * Setup per network size N: N nodes made with `createIpvmNode` (allowLoopback,
 * listen /ip4/127.0.0.1/tcp/0, maxConnections and maxIncomingPendingConnections
 * raised so no node prunes connections). Node 0 is the bootstrap node; the
 * others know only its address (as test/net/helpers.ts loopbackNetwork) and
 * are started in bounded-parallel batches. Then we wait until the process is
 * quiet (joining sets off routing-table refreshes and self-queries that
 * saturate the one event loop for seconds; see `quietAfterMs`). Then
 * `PROVIDED` nodes each provide one CID: the first is the executor role CID
 * (`roleCid('executor')`, what `advertiseRole` provides), the rest random raw
 * CIDs. Then `lookups` sequential lookups: lookup i asks for CID i mod PROVIDED
 * from a seeker chosen at random (fixed seed) among nodes that are neither the
 * provider nor directly connected to it; if every node is connected to the
 * provider (small networks) any other node is used and this is counted.
 *
 * Latency: from calling `dht.findProviders` to the first PROVIDER event that
 * names the provider (the query is then abandoned, as `findPeersByRole` with
 * `limit: 1` would). Failed lookups (10 s timeout) are counted, not averaged.
 *
 * Hop count, our definition: kad-dht's query events carry the disjoint-path
 * index, not a depth, so we rebuild depths from the events. A peer the query
 * starts with (taken from the seeker's own routing table) is at depth 1; a peer
 * first learned from the `closer` list of a depth-d peer's PEER_RESPONSE is at
 * depth d+1. The lookup's hop count is the depth of the peer whose response
 * carried the first provider; 0 when the seeker held the provider record
 * itself (kad-dht answers from its local provider store, path index -1).
 * We also report `peersQueried`: distinct peers sent a GET_PROVIDERS request
 * (SEND_QUERY events) before the first provider arrived — the query's cost.
 *
 * `measureDhtExperiments` repeats the measurement with nodes built from a
 * copy of src/net/node.ts's libp2p config with changed kadDHT options. That
 * is an EXPERIMENT only, to inform src/net/node.ts; the main result always
 * uses `createIpvmNode` unchanged.
 *
 * Standalone: `node dist/benchmarks/network/dht.js [--sizes 10,50,100]
 * [--lookups 40] [--experiments]` prints JSON.
 */
import '../../src/polyfill.js'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { multiaddr } from '@multiformats/multiaddr'
import { identityFromSeed } from '../../src/auth/identity.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { createIpvmNode } from '../../src/net/node.js'
import { roleCid } from '../../src/net/discovery.js'
import { DHT_PROTOCOL, RECORD_NAMESPACE } from '../../src/net/constants.js'
import { selectSignedRecord, validateSignedRecord } from '../../src/net/records.js'
import { quantile, round, target } from '../lib.js'
import { lineChart } from './plot.js'
import type { Target } from '../lib.js'
import type { IpvmNode, IpvmServices } from '../../src/net/node.js'
import type { KadDHTInit } from '@libp2p/kad-dht'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

/** What the benchmark needs of a node; an IpvmNode or an experiment node. */
type BenchNode = Pick<IpvmNode, 'libp2p' | 'dht' | 'peerId' | 'start' | 'stop' | 'getMultiaddrs'>

export interface DhtOptions {
  /** Network sizes. @default [10, 50, 100] */
  sizes?: number[]
  /** Lookups per size. @default 60 */
  lookups?: number
  /** Nodes started at once. @default 16 */
  startBatch?: number
  /** Distinct provided CIDs (one provider each). @default 5 */
  provided?: number
  /** Longest wait for the network to go quiet after the last node started (ms). @default 60000 */
  settleMs?: number
  /** Print progress to stderr. @default true */
  verbose?: boolean
}

/** One size's figures. */
export interface SizeMetrics {
  nodes: number
  startAllMs: number
  /** Time after the last start until the event loop was quiet (see settle). */
  quietAfterMs: number
  routingTableP50: number
  routingTableMin: number
  provideP50Ms: number
  provideFailed: number
  lookups: number
  failed: number
  seekersConnectedToProvider: number
  answeredLocally: number
  findProvidersP50Ms: number
  findProvidersP99Ms: number
  findProvidersMeanMs: number
  hopsP50: number
  hopsMax: number
  hopsMean: number
  peersQueriedP50: number
  peersQueriedP99: number
  /** Diagnostics: ms to the first request sent / first response received. */
  firstSendP50Ms: number
  firstResponseP50Ms: number
  /** Peers the seeker had to dial (no open connection) before the first provider, p50. */
  dialledP50: number
  /** Share of lookups whose provider-carrying peer was already connected to the seeker. */
  responderConnectedShare: number
  /** Event-loop delay while lookups ran (all nodes share one loop). */
  eventLoopDelayP50Ms: number
  eventLoopDelayP99Ms: number
  connectionsP50: number
  samplesMs: number[]
  samplesHops: number[]
}

const PLAIN_TIMEOUT_MS = 10_000
const log = (verbose: boolean, text: string): void => { if (verbose) process.stderr.write(`  [dht] ${text}\n`) }

/** A small deterministic PRNG (mulberry32) so seekers are the same each run. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

async function keyFor (index: number): Promise<IpvmNode['privateKey']> {
  const seed = new Uint8Array(32).fill(0xd7)
  seed[0] = index >> 8
  seed[1] = index & 0xff
  return (await identityFromSeed(seed)).privateKey
}

/** Builds (not starts) node `index`; `bootstrap` empty for the first. */
type Factory = (index: number, bootstrap: string[], size: number) => Promise<BenchNode>

/** The ipvm node, unchanged, with limits raised for N nodes in one process. */
const ipvmFactory: Factory = async (index, bootstrap, size) => await createIpvmNode({
  privateKey: await keyFor(index),
  listen: ['/ip4/127.0.0.1/tcp/0'],
  allowLoopback: true,
  bootstrap,
  maxConnections: Math.max(100, size * 2),
  maxIncomingPendingConnections: 64,
  bootstrapDialTimeoutMs: 10_000
})

/**
 * EXPERIMENT: a copy of createIpvmNode's libp2p config (allowLoopback branch)
 * with `kad` merged into the kadDHT options. Not used for the main result.
 */
function experimentFactory (kad: Partial<KadDHTInit>): Factory {
  return async (index, bootstrapAddresses, size) => {
    const libp2p = await createLibp2p({
      start: false,
      privateKey: await keyFor(index),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: {
        maxConnections: Math.max(100, size * 2),
        maxIncomingPendingConnections: 64,
        allow: ['/ip4/127.0.0.1/ipcidr/8']
      },
      services: {
        identify: identify(),
        ping: ping(),
        dht: kadDHT({
          protocol: DHT_PROTOCOL,
          clientMode: false,
          peerInfoMapper: passthroughMapper,
          validators: { [RECORD_NAMESPACE]: validateSignedRecord },
          selectors: { [RECORD_NAMESPACE]: selectSignedRecord },
          ...kad
        })
      }
    }) as Libp2p<IpvmServices>
    const bootstrap = bootstrapAddresses.map(a => multiaddr(a))
    return {
      libp2p,
      get peerId () { return libp2p.peerId },
      get dht () { return libp2p.services.dht },
      getMultiaddrs: () => libp2p.getMultiaddrs(),
      stop: async () => { await libp2p.stop() },
      start: async () => {
        await libp2p.start()
        if (bootstrap.length === 0) return
        const table = (libp2p.services.dht as unknown as { routingTable: EventTarget & { size: number } }).routingTable
        const routed = new Promise<void>(resolve => {
          if (table.size > 0) { resolve(); return }
          table.addEventListener('peer:add', () => { resolve() }, { once: true })
        })
        await Promise.allSettled(bootstrap.map(async a => await libp2p.dial(a, { signal: AbortSignal.timeout(10_000) })))
        await Promise.race([routed, new Promise(resolve => setTimeout(resolve, 10_000))])
      }
    }
  }
}

const tableSize = (node: BenchNode): number =>
  (node.dht as unknown as { routingTable?: { size: number } }).routingTable?.size ?? NaN

const connected = (a: BenchNode, b: PeerId): boolean => a.libp2p.getConnections(b).length > 0

/** Runs `fn` over `items` with at most `limit` at once. */
async function pool<T, R> (items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!)
    }
  }))
  return out
}

interface Lookup { ms: number, hops: number, peersQueried: number, local: boolean, found: boolean, firstSendMs: number, firstResponseMs: number, responderWasConnected: boolean, unconnectedQueried: number }

/** One findProviders, timed to the first PROVIDER event naming `provider`. */
async function lookup (seeker: BenchNode, cid: CID, provider: PeerId): Promise<Lookup> {
  const depth = new Map<string, number>()
  const queried = new Set<string>()
  const self = seeker.peerId.toString()
  const wasConnected = new Map<string, boolean>()
  let firstSendMs = NaN
  let firstResponseMs = NaN
  const t0 = performance.now()
  for await (const event of seeker.dht.findProviders(cid, { signal: AbortSignal.timeout(PLAIN_TIMEOUT_MS) })) {
    if (event.name === 'DIAL_PEER') {
      const name = event.peer.toString()
      if (!wasConnected.has(name)) wasConnected.set(name, connected(seeker, event.peer))
    } else if (event.name === 'SEND_QUERY') {
      if (Number.isNaN(firstSendMs)) firstSendMs = performance.now() - t0
      const to = event.to.toString()
      queried.add(to)
      if (!depth.has(to)) depth.set(to, 1)
    } else if (event.name === 'PEER_RESPONSE') {
      const from = event.from.toString()
      if (Number.isNaN(firstResponseMs)) firstResponseMs = performance.now() - t0
      const d = depth.get(from) ?? (from === self ? 0 : 1)
      for (const closer of event.closer) {
        const name = closer.id.toString()
        if (!depth.has(name)) depth.set(name, d + 1)
      }
    } else if (event.name === 'PROVIDER' && event.providers.some(p => p.id.equals(provider))) {
      const ms = performance.now() - t0
      const from = event.from.toString()
      const local = from === self
      const unconnectedQueried = [...wasConnected.values()].filter(v => !v).length
      return { ms, hops: local ? 0 : (depth.get(from) ?? 1), peersQueried: queried.size, local, found: true, firstSendMs, firstResponseMs, responderWasConnected: wasConnected.get(from) ?? true, unconnectedQueried }
    }
  }
  return { ms: performance.now() - t0, hops: NaN, peersQueried: queried.size, local: false, found: false, firstSendMs, firstResponseMs, responderWasConnected: false, unconnectedQueried: 0 }
}

/** Builds a network of `size`, measures, and stops every node. */
async function measureSize (size: number, factory: Factory, options: Required<DhtOptions>): Promise<SizeMetrics> {
  const { lookups, startBatch, provided, settleMs, verbose } = options
  const nodes: BenchNode[] = []
  try {
    const t0 = performance.now()
    const first = await factory(0, [], size)
    nodes.push(first)
    await first.start()
    const address = first.getMultiaddrs()[0]?.toString()
    if (address === undefined) throw new Error('bootstrap node has no address')
    const indices = Array.from({ length: size - 1 }, (_, i) => i + 1)
    await pool(indices, startBatch, async i => {
      const node = await factory(i, [address], size)
      nodes.push(node)
      await node.start()
    })
    const startAllMs = performance.now() - t0
    log(verbose, `${size} nodes started in ${round(startAllMs, 0)} ms`)
    // The joins set off a storm of routing-table refreshes, self-queries and
    // dials (every node in this one process shares the event loop, so lookups
    // measured during it time CPU contention, not the DHT). Wait until the
    // network is quiet: three 1 s windows in a row with event-loop delay p50
    // under 5 ms, no connection opened and no routing table changed, at most settleMs.
    const settleStart = performance.now()
    let quietWindows = 0
    let opened = 0
    let closed = 0
    for (const node of nodes) {
      node.libp2p.addEventListener('connection:open', () => { opened++ })
      node.libp2p.addEventListener('connection:close', () => { closed++ })
    }
    let lastTables = -1
    while (quietWindows < 3 && performance.now() - settleStart < settleMs) {
      const window = monitorEventLoopDelay({ resolution: 1 })
      window.enable()
      const openedBefore = opened
      await new Promise(resolve => setTimeout(resolve, 1000))
      window.disable()
      const tablesNow = nodes.map(tableSize).reduce((a, b) => a + b, 0)
      const quiet = window.percentile(50) / 1e6 < 5 && opened === openedBefore && tablesNow === lastTables
      lastTables = tablesNow
      quietWindows = quiet ? quietWindows + 1 : 0
    }
    const quietAfterMs = performance.now() - settleStart
    log(verbose, `quiet after ${round(quietAfterMs, 0)} ms${quietWindows < 3 ? ' (gave up waiting)' : ''}`)
    const tables = nodes.map(tableSize)
    log(verbose, `routing tables p50 ${quantile(tables, 0.5)} min ${Math.min(...tables)}; connections p50 ${quantile(nodes.map(n => n.libp2p.getConnections().length), 0.5)}`)

    // Providers: nodes spread over the index range (never the bootstrap node).
    const rand = prng(size * 7919 + lookups)
    const cids: CID[] = [roleCid('executor'), ...Array.from({ length: provided - 1 }, () => cidOf(randomBytes(32), codecs.raw))]
    const providers = cids.map((_, i) => nodes[1 + Math.floor((i * (size - 1)) / provided)]!)
    const provideMs: number[] = []
    let provideFailed = 0
    for (let i = 0; i < cids.length; i++) {
      const t = performance.now()
      try {
        for await (const event of providers[i]!.dht.provide(cids[i]!, { signal: AbortSignal.timeout(30_000) })) void event
        provideMs.push(performance.now() - t)
      } catch (err) {
        // A provide that times out has usually stored some records; lookups still run and count failures.
        provideFailed++
        log(verbose, `provide ${i} failed after ${round(performance.now() - t, 0)} ms: ${(err as Error).name}`)
      }
    }
    log(verbose, `${provided} CIDs provided (p50 ${round(quantile(provideMs, 0.5), 1)} ms)`)

    const openedBeforeLookups = opened
    const closedBeforeLookups = closed
    const results: Lookup[] = []
    const loop = monitorEventLoopDelay({ resolution: 1 })
    loop.enable()
    let seekersConnected = 0
    for (let i = 0; i < lookups; i++) {
      const which = i % cids.length
      const provider = providers[which]!
      const others = nodes.filter(n => n !== provider)
      const unconnected = others.filter(n => !connected(n, provider.peerId))
      const pickFrom = unconnected.length > 0 ? unconnected : others
      if (unconnected.length === 0) seekersConnected++
      const seeker = pickFrom[Math.floor(rand() * pickFrom.length)]!
      results.push(await lookup(seeker, cids[which]!, provider.peerId))
    }
    loop.disable()
    log(verbose, `during lookups: ${opened - openedBeforeLookups} connections opened, ${closed - closedBeforeLookups} closed (all nodes)`)
    const ok = results.filter(r => r.found)
    const ms = ok.map(r => r.ms)
    const hops = ok.map(r => r.hops)
    const queried = ok.map(r => r.peersQueried)
    const metrics: SizeMetrics = {
      nodes: size,
      startAllMs: round(startAllMs, 0),
      quietAfterMs: round(quietAfterMs, 0),
      routingTableP50: quantile(tables, 0.5),
      routingTableMin: Math.min(...tables),
      provideP50Ms: round(quantile(provideMs, 0.5), 2),
      provideFailed,
      lookups,
      failed: results.length - ok.length,
      seekersConnectedToProvider: seekersConnected,
      answeredLocally: ok.filter(r => r.local).length,
      findProvidersP50Ms: round(quantile(ms, 0.5), 2),
      findProvidersP99Ms: round(quantile(ms, 0.99), 2),
      findProvidersMeanMs: round(ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length), 2),
      hopsP50: quantile(hops, 0.5),
      hopsMax: Math.max(...hops),
      hopsMean: round(hops.reduce((a, b) => a + b, 0) / Math.max(1, hops.length), 2),
      peersQueriedP50: quantile(queried, 0.5),
      peersQueriedP99: quantile(queried, 0.99),
      firstSendP50Ms: round(quantile(ok.map(r => r.firstSendMs), 0.5), 2),
      firstResponseP50Ms: round(quantile(ok.filter(r => !r.local).map(r => r.firstResponseMs), 0.5), 2),
      dialledP50: quantile(ok.map(r => r.unconnectedQueried), 0.5),
      responderConnectedShare: round(ok.filter(r => r.responderWasConnected).length / Math.max(1, ok.length), 2),
      eventLoopDelayP50Ms: round(loop.percentile(50) / 1e6, 2),
      eventLoopDelayP99Ms: round(loop.percentile(99) / 1e6, 2),
      connectionsP50: quantile(nodes.map(n => n.libp2p.getConnections().length), 0.5),
      samplesMs: ms.map(v => round(v, 2)),
      samplesHops: hops
    }
    log(verbose, `${size} nodes: p50 ${metrics.findProvidersP50Ms} ms, p99 ${metrics.findProvidersP99Ms} ms, hops p50 ${metrics.hopsP50} (max ${metrics.hopsMax}), peers queried p50 ${metrics.peersQueriedP50}, dialled p50 ${metrics.dialledP50}, first send/response p50 ${metrics.firstSendP50Ms}/${metrics.firstResponseP50Ms} ms, responder connected ${metrics.responderConnectedShare}, loop delay p50/p99 ${metrics.eventLoopDelayP50Ms}/${metrics.eventLoopDelayP99Ms} ms, failed ${metrics.failed}`)
    return metrics
  } finally {
    await Promise.allSettled(nodes.map(async n => { await n.stop() }))
  }
}

function withDefaults (options: DhtOptions): Required<DhtOptions> {
  return {
    sizes: options.sizes ?? [10, 50, 100],
    lookups: options.lookups ?? 60,
    startBatch: options.startBatch ?? 16,
    provided: options.provided ?? 5,
    settleMs: options.settleMs ?? 60_000,
    verbose: options.verbose ?? true
  }
}

/** The plot: p50 and p99 findProviders latency against network size, with the 20 ms target. */
export function dhtSvg (bySize: SizeMetrics[], title = 'DHT findProviders latency (ipvm, loopback, one process)'): string {
  return lineChart({
    title,
    xLabel: 'nodes',
    yLabel: 'ms to first provider',
    series: [
      { name: 'p50', points: bySize.map(m => [m.nodes, m.findProvidersP50Ms]) },
      { name: 'p99', points: bySize.map(m => [m.nodes, m.findProvidersP99Ms]), dashed: true }
    ],
    references: [{ label: 'target p50 ≤ 20 ms', y: 20, color: '#2ca02c' }]
  })
}

/**
 * Measures findProviders latency and hop count at each size with unchanged
 * ipvm nodes. Metrics are keyed `dht<N>` (plus flat `dht<N>P50Ms` etc. for the
 * summary printout); the target is p50 ≤ 20 ms at 100 nodes (or the largest size).
 */
export async function measureDht (options: { sizes?: number[], lookups?: number } & DhtOptions = {}): Promise<{ metrics: Record<string, unknown>, targets: Target[], svg?: string }> {
  const opts = withDefaults(options)
  const bySize: SizeMetrics[] = []
  for (const size of opts.sizes) bySize.push(await measureSize(size, ipvmFactory, opts))
  const metrics: Record<string, unknown> = {}
  for (const m of bySize) {
    metrics[`dht${m.nodes}FindProvidersP50Ms`] = m.findProvidersP50Ms
    metrics[`dht${m.nodes}FindProvidersP99Ms`] = m.findProvidersP99Ms
    metrics[`dht${m.nodes}HopsP50`] = m.hopsP50
    metrics[`dht${m.nodes}PeersQueriedP50`] = m.peersQueriedP50
  }
  metrics.dht = {
    hopDefinition: 'depth of the responding peer in the query graph: routing-table peers = 1, a peer first learned from a depth-d peer\'s closer list = d+1; 0 = answered from the seeker\'s own provider store',
    latencyDefinition: 'ms from findProviders() to the first PROVIDER event naming the provider',
    lookupsPerSize: opts.lookups,
    providedCids: opts.provided,
    bySize
  }
  const largest = bySize.find(m => m.nodes === 100) ?? bySize[bySize.length - 1]
  const targets = largest === undefined
    ? []
    : [target(`dht findProviders p50 ms at ${largest.nodes} nodes`, largest.findProvidersP50Ms, '<=', 20)]
  return { metrics, targets, svg: dhtSvg(bySize) }
}

/** A labelled kadDHT option set for {@link measureDhtExperiments}. */
export interface Experiment { label: string, kad: Partial<KadDHTInit> }

/** The alternatives tried by default. */
export const EXPERIMENTS: Experiment[] = [
  { label: 'copy of ipvm config (control)', kad: {} },
  { label: 'alpha 3', kad: { alpha: 3 } },
  { label: 'alpha 3, disjointPaths 1', kad: { alpha: 3, disjointPaths: 1 } },
  { label: 'disjointPaths 1', kad: { disjointPaths: 1 } },
  { label: 'disjointPaths 2', kad: { disjointPaths: 2 } }
]

/**
 * EXPERIMENT: the same measurement with nodes built from a copy of the ipvm
 * libp2p config and changed kadDHT options. For deciding src/net/node.ts.
 */
export async function measureDhtExperiments (options: DhtOptions & { experiments?: Experiment[] } = {}): Promise<Array<{ label: string, kad: Partial<KadDHTInit>, bySize: SizeMetrics[] }>> {
  const opts = withDefaults(options)
  const out: Array<{ label: string, kad: Partial<KadDHTInit>, bySize: SizeMetrics[] }> = []
  for (const experiment of options.experiments ?? EXPERIMENTS) {
    log(opts.verbose, `experiment: ${experiment.label}`)
    const bySize: SizeMetrics[] = []
    for (const size of opts.sizes) bySize.push(await measureSize(size, experimentFactory(experiment.kad), opts))
    out.push({ ...experiment, bySize })
  }
  return out
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2)
  const value = (flag: string): string | undefined => { const i = args.indexOf(flag); return i >= 0 ? args[i + 1] : undefined }
  const sizes = value('--sizes')?.split(',').map(Number)
  const lookups = value('--lookups') === undefined ? undefined : Number(value('--lookups'))
  const settleMs = value('--settle') === undefined ? undefined : Number(value('--settle'))
  const strip = (m: SizeMetrics): Omit<SizeMetrics, 'samplesMs' | 'samplesHops'> => { const { samplesMs: _a, samplesHops: _b, ...rest } = m; return rest }
  if (args.includes('--experiments')) {
    const only = value('--only')?.split(',').map(Number)
    const experiments = only === undefined ? EXPERIMENTS : EXPERIMENTS.filter((_, i) => only.includes(i))
    const results = await measureDhtExperiments({ sizes, lookups, experiments, settleMs })
    process.stdout.write(JSON.stringify(results.map(r => ({ ...r, bySize: r.bySize.map(strip) })), null, 2) + '\n')
  } else {
    const result = await measureDht({ sizes, lookups, settleMs })
    const { svg: _svg, ...rest } = result
    process.stdout.write(JSON.stringify(rest, null, 2) + '\n')
  }
}
