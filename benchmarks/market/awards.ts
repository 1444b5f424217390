/**
 * Market latency on an in-process devnet over loopback: time from a task
 * being ready at the scheduler to its award, and what the market adds to a
 * tiny task end to end, with 1, 4 and 16 executors bidding.
 *
 * Setup per executor count n, two devnets started side by side in this one
 * process (each `startDevnet({ executors: n, threads: 1 })`, signing on):
 * - `market`: the market on (`{ challengeWindowMs: 0 }`, the devnet default:
 *   bid window 500 ms, every executor asked, escrow opened at the award,
 *   charged as soon as the receipt is verified, settled in the background),
 *   executors with
 *   the default bid policy; the scheduler's own DID funded from the faucet
 *   (it pays: workflows are submitted without a budget delegation).
 * - `direct`: `market: false`, executors with `{ price: 0 }`: tasks handed
 *   round-robin straight to an executor, unpaid.
 * The module (`examples/build/arith.wasm`) is put in every executor's store
 * first, so no sample fetches it; the tasks are `add(i, i)` with a distinct i
 * per task (no memo answers).
 *
 * Samples: one-task workflows submitted with
 * `devnet.scheduler.role.scheduler.submit(bytes)` + `wait(id)`, one at a
 * time, alternating the two devnets (ABBA: market first on even samples,
 * direct first on odd ones) so drift and noise hit both alike. Per market
 * sample the market's own events give the award latency (`awarded`:
 * `msSinceReady`) and the bid round (`round`: `ms`, executors asked, bids);
 * the ledger calls of the market (escrow at the award, charge and settle
 * after the receipt) are timed by wrapping them on the scheduler's ledger
 * object (instrumentation only). Overhead = market latency − direct latency,
 * per quantile and per pair.
 *
 * A warm-up on each devnet (single tasks, then a workflow of 4·n tasks so
 * every executor's worker compiles the module) is not counted.
 *
 * Standalone: `node dist/benchmarks/market/awards.js [--executors 1,4,16]
 * [--samples 200,200,60]` prints JSON (for `node --cpu-prof`).
 */
import '../../src/polyfill.js'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as dagJson from '@ipld/dag-json'
import { startDevnet } from '../../src/devnet.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { marketRequest } from '../../src/net/protocols/market.js'
import { quantile, round, stats } from '../lib.js'
import type { Stats } from '../lib.js'

export type { Stats }
import type { CID } from 'multiformats/cid'
import type { Devnet, DevnetInit } from '../../src/devnet.js'
import type { MarketEvent } from '../../scheduler/market.js'
import type { Ledger } from '../../scheduler/ledger.js'


const MODULE_PATH = fileURLToPath(new URL('../../../examples/build/arith.wasm', import.meta.url))

/** Where a market task's time goes, p50 of each part (ms). */
export interface Breakdown {
  /** The bid round: announce (sign), ask every executor, collect and verify bids. */
  roundP50: number
  /** Ready → award outside the round: grant check before, ranking and escrow after. */
  awardOutsideRoundP50: number
  /** `openEscrow` (awaited to disk) alone. */
  openEscrowP50: number
  /** `charge` + `settle` after the receipt (each awaited to disk). */
  chargeSettleP50: number
  /** Market end to end minus direct end to end, per alternated pair. */
  pairedOverheadP50: number
  /** One bare `/ipvm/market` request to every executor at once, no crypto: the streams' share of a round. */
  bareStreamsP50: number
}

/** Figures at one executor count. */
export interface CountMetrics {
  executors: number
  /** Pairs measured (one market and one direct task each). */
  pairs: number
  /** Ready at the scheduler → `awarded` event (`msSinceReady`). */
  awardMs: Stats
  /** The bid round alone (`round` event `ms`). */
  roundMs: Stats
  /** Executors asked and bids received per round (means). */
  askedMean: number
  bidsMean: number
  /** Rounds beyond the first (a round that awarded nothing). */
  extraRounds: number
  /** Single tiny task, submit → wait resolved, market on. */
  marketLatencyMs: Stats
  /** The same, market off (price 0, handed straight to an executor). */
  directLatencyMs: Stats
  /** Market quantile − direct quantile. */
  overheadMs: { p50: number, p90: number, p99: number, mean: number }
  /** Quantiles of the per-pair differences (noisier: two samples' noise). */
  pairedOverheadMs: Stats
  breakdown: Breakdown
}

/** Options of {@link measureMarketLatency}. */
export interface MarketLatencyInit {
  /** Executor counts. @default [1, 4, 16] */
  executors?: number[]
  /** Pairs per executor count (same order as `executors`); the last applies to any further count. @default [200, 200, 60] */
  samples?: number[]
  /** Called with progress lines. */
  log?: (line: string) => void
  /** Market settings of the market devnet beyond the devnet defaults (e.g. `{ announceInDht: 'always' }` to see what a DHT record per task costs). */
  market?: MarketSettings
}

type MarketSettings = Exclude<NonNullable<DevnetInit['market']>, false>

function task (module: CID, a: number): Record<string, unknown> {
  return { run: { rsc: `ipfs://${module}`, op: 'wasm/run', input: { func: 'add', args: [a, a] }, nnc: '' }, meta: {}, prf: [] }
}

const workflow = (module: CID, from: number, count: number): Uint8Array =>
  dagJson.encode({ tasks: Array.from({ length: count }, (_, k) => task(module, from + k)) })

/** Times every call of `method` on `target` into `sink` (ms). */
function _timeMethod (target: Record<string, unknown>, method: string, sink: number[]): void {
  const original = target[method] as (...args: unknown[]) => Promise<unknown>
  target[method] = async (...args: unknown[]): Promise<unknown> => {
    const started = performance.now()
    try {
      return await original.apply(target, args)
    } finally {
      sink.push(performance.now() - started)
    }
  }
}

/** Puts the module in every executor's store (and lets it provide it), so no sample fetches it. */
async function _seed (devnet: Devnet, module: CID, bytes: Uint8Array): Promise<void> {
  await Promise.all(devnet.executors.map(async executor => {
    await executor.role.blocks.put(module, bytes, { signal: AbortSignal.timeout(10_000) }).catch(() => {})
  }))
}

/**
 * The libp2p share of a bid round: `repeats` times, one `/ipvm/market` request
 * to every executor at once that each answers without any crypto (a call for
 * bids without an announcement is declined as `invalid`), timed until the
 * last answer (ms).
 */
async function _bareRoundTrips (devnet: Devnet, repeats: number): Promise<number[]> {
  const libp2p = devnet.scheduler.node.libp2p
  const peers = devnet.executors.map(executor => executor.node.peerId)
  const out: number[] = []
  for (let i = 0; i < repeats; i++) {
    const started = performance.now()
    await Promise.all(peers.map(async peer => await marketRequest(libp2p, peer, { bids: {} } as unknown as Parameters<typeof marketRequest>[2], { timeoutMs: 5_000 })))
    out.push(performance.now() - started)
  }
  return out
}

async function measureCount (n: number, pairs: number, bytes: Uint8Array, module: CID, nextArg: () => number, log: (line: string) => void, settings: MarketSettings): Promise<CountMetrics> {
  const events: MarketEvent[] = []
  const startedAt = performance.now()
  const [market, direct] = await Promise.all([
    startDevnet({ executors: n, threads: 1, market: { challengeWindowMs: 0, ...settings, onEvent: event => { events.push(event) } } }),
    startDevnet({ executors: n, threads: 1, market: false, bidPolicies: Array.from({ length: n }, () => ({ price: 0 })) })
  ])
  log(`${n} executor(s): two devnets up in ${Math.round(performance.now() - startedAt)} ms`)
  try {
    await market.fund(market.scheduler.identity.did)
    await Promise.all([_seed(market, module, bytes), _seed(direct, module, bytes)])

    const escrowMs: number[] = []
    const chargeMs: number[] = []
    const settleMs: number[] = []
    const ledger = market.scheduler.role.market?.ledger as Ledger | undefined
    if (ledger === undefined) throw new Error('the market devnet has no market')

    const run = async (devnet: Devnet, count: number): Promise<number> => {
      const from = nextArg()
      for (let k = 1; k < count; k++) nextArg()
      const file = workflow(module, from, count)
      const scheduler = devnet.scheduler.role.scheduler
      const started = performance.now()
      const id = await scheduler.submit(file, 'bench.json')
      const summary = await scheduler.wait(id, { signal: AbortSignal.timeout(120_000) })
      const elapsed = performance.now() - started
      if (!summary.ok) throw new Error(`${devnet === market ? 'market' : 'direct'} devnet, ${n} executor(s): not every task is done: ${JSON.stringify(summary.tasks.find(t => t.state !== 'done'))}`)
      return elapsed
    }

    // Warm-up: connections, discovery, worker start and module compilation. Direct: a workflow of
    // n tasks at once reaches every executor (round-robin). Market: sequential single tasks warm the
    // executors that win them (with tasks one at a time the same few win: best reputation, then CID);
    // n tasks at once only up to 4 executors, as 16 rounds of 16 bidders at once in this one process
    // overrun the bid window and fall into retries with backoff (see the description).
    const warmStarted = performance.now()
    for (let i = 0; i < 3; i++) await run(direct, 1)
    await run(direct, n)
    for (let i = 0; i < 3; i++) await run(direct, 1)
    for (let i = 0; i < 3; i++) await run(market, 1)
    if (n <= 4) await run(market, n)
    for (let i = 0; i < 5; i++) await run(market, 1)
    log(`${n} executor(s): warm-up in ${Math.round(performance.now() - warmStarted)} ms`)
    const streamMs = await _bareRoundTrips(market, pairs >= 100 ? 100 : 30)
    events.length = 0
    // Instrument the market's ledger calls from here on (the same object the market holds).
    const target = ledger as unknown as Record<string, unknown>
    _timeMethod(target, 'openEscrow', escrowMs)
    _timeMethod(target, 'charge', chargeMs)
    _timeMethod(target, 'settle', settleMs)

    const marketMs: number[] = []
    const directMs: number[] = []
    const awardMs: number[] = []
    const roundMs: number[] = []
    const outsideMs: number[] = []
    const asked: number[] = []
    const bids: number[] = []
    let extraRounds = 0
    const measureMarket = async (): Promise<void> => {
      events.length = 0
      marketMs.push(await run(market, 1))
      const rounds = events.filter((e): e is Extract<MarketEvent, { type: 'round' }> => e.type === 'round')
      const awarded = events.find((e): e is Extract<MarketEvent, { type: 'awarded' }> => e.type === 'awarded')
      if (awarded === undefined || rounds.length === 0) throw new Error(`market devnet, ${n} executor(s): a task ended without an award event (${JSON.stringify(events)})`)
      extraRounds += rounds.length - 1
      const last = rounds[rounds.length - 1] as Extract<MarketEvent, { type: 'round' }>
      awardMs.push(awarded.msSinceReady)
      roundMs.push(last.ms)
      outsideMs.push(awarded.msSinceReady - rounds.reduce((sum, r) => sum + r.ms, 0))
      asked.push(last.asked)
      bids.push(last.bids)
    }
    const measureDirect = async (): Promise<void> => { directMs.push(await run(direct, 1)) }
    const measureStarted = performance.now()
    for (let i = 0; i < pairs; i++) {
      if (i % 2 === 0) {
        await measureMarket()
        await measureDirect()
      } else {
        await measureDirect()
        await measureMarket()
      }
    }
    const paired = marketMs.map((ms, i) => ms - (directMs[i] as number))
    const chargeSettle = chargeMs.map((ms, i) => ms + (settleMs[i] ?? 0))
    const on = stats(marketMs)
    const off = stats(directMs)
    const result: CountMetrics = {
      executors: n,
      pairs,
      awardMs: stats(awardMs),
      roundMs: stats(roundMs),
      askedMean: round(asked.reduce((a, b) => a + b, 0) / asked.length, 2),
      bidsMean: round(bids.reduce((a, b) => a + b, 0) / bids.length, 2),
      extraRounds,
      marketLatencyMs: on,
      directLatencyMs: off,
      overheadMs: { p50: round(on.p50 - off.p50), p90: round(on.p90 - off.p90), p99: round(on.p99 - off.p99), mean: round(on.mean - off.mean) },
      pairedOverheadMs: stats(paired),
      breakdown: {
        roundP50: round(quantile(roundMs, 0.5)),
        awardOutsideRoundP50: round(quantile(outsideMs, 0.5)),
        openEscrowP50: round(quantile(escrowMs, 0.5)),
        chargeSettleP50: round(quantile(chargeSettle, 0.5)),
        pairedOverheadP50: round(quantile(paired, 0.5)),
        bareStreamsP50: round(quantile(streamMs, 0.5))
      }
    }
    log(`${n} executor(s), ${pairs} pairs in ${Math.round((performance.now() - measureStarted) / 1000)} s: award p50 ${result.awardMs.p50} / p99 ${result.awardMs.p99} ms (round p50 ${result.roundMs.p50}); ` +
      `market p50 ${on.p50} / p99 ${on.p99} ms, direct p50 ${off.p50} / p99 ${off.p99} ms, overhead p50 ${result.overheadMs.p50} / p99 ${result.overheadMs.p99} ms; ` +
      `escrow p50 ${result.breakdown.openEscrowP50} ms, charge+settle p50 ${result.breakdown.chargeSettleP50} ms, bare streams p50 ${result.breakdown.bareStreamsP50} ms`)
    return result
  } finally {
    await Promise.all([market.stop(), direct.stop()])
  }
}

/**
 * Measures award latency and market overhead at each executor count.
 *
 * @example
 * ```ts
 * const byCount = await measureMarketLatency({ executors: [1, 4], samples: [100, 100] })
 * console.log(byCount[1]?.overheadMs.p50)
 * ```
 */
export async function measureMarketLatency (init: MarketLatencyInit = {}): Promise<CountMetrics[]> {
  const counts = init.executors ?? [1, 4, 16]
  const samples = init.samples ?? [200, 200, 60]
  const log = init.log ?? (() => {})
  const bytes = new Uint8Array(readFileSync(MODULE_PATH))
  const module = cidOf(bytes, codecs.raw)
  let next = 1
  const nextArg = (): number => next++
  const byCount: CountMetrics[] = []
  for (const [i, n] of counts.entries()) {
    const pairs = samples[Math.min(i, samples.length - 1)] ?? 100
    byCount.push(await measureCount(n, pairs, bytes, module, nextArg, log, init.market ?? {}))
  }
  return byCount
}

// Standalone.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`)
    return i >= 0 ? process.argv[i + 1] : undefined
  }
  const executors = arg('executors')?.split(',').map(Number)
  const samples = arg('samples')?.split(',').map(Number)
  const result = await measureMarketLatency({
    ...(executors !== undefined ? { executors } : {}),
    ...(samples !== undefined ? { samples } : {}),
    ...(process.argv.includes('--dht-always') ? { market: { announceInDht: 'always' } } : {}),
    log: line => { process.stderr.write(`  [market] ${line}\n`) }
  })
  process.stdout.write(JSON.stringify(result, null, 2) + '\n')
  process.exit(0)
}
