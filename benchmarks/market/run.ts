/**
 * Market benchmark, result "market":
 * - Award latency (./awards.ts): ready at the scheduler → `awarded`, p50/p90/p99,
 *   with 1, 4 and 16 executors bidding, on an in-process loopback devnet.
 * - Market overhead (./awards.ts): a single tiny task end to end through the
 *   Scheduler API with the market on, minus the same with the market off
 *   (price 0, handed straight to an executor), alternated sample by sample on
 *   two devnets running side by side. Target: ≤ 2 ms p50 with 4 executors.
 *   A second pass at 4 and 16 executors with `announceInDht: 'always'` shows
 *   what publishing every announcement as a DHT record costs (by default only
 *   tasks that wait for a bid are published).
 * - Ledger (./ledger.ts): LmdbLedger journal entries/s. Target: ≥ 20,000.
 * Plot: benchmarks/results/market.svg.
 */
import '../../src/polyfill.js'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { machine, resultsDir, round, target } from '../lib.js'
import { measureMarketLatency } from './awards.js'
import { measureLedger, LEDGER_TARGET_ENTRIES_PER_SECOND } from './ledger.js'
import { marketSvg } from './plot.js'
import type { BenchmarkResult, Target } from '../lib.js'
import type { CountMetrics } from './awards.js'

/** The project's target for the market overhead per task, p50 with 4 executors (ms). */
export const OVERHEAD_TARGET_MS = 2

const COUNTS = [1, 4, 16]
/** Pairs (one market and one direct task) per executor count: 16 executors in one process are slow (see the description). */
const PAIRS = [200, 200, 40]
const DHT_ALWAYS_COUNTS = [4, 16]
const DHT_ALWAYS_PAIRS = [100, 30]

const log = (line: string): void => { process.stderr.write(`  [market] ${line}\n`) }

function flat (prefix: string, byCount: CountMetrics[]): Record<string, number> {
  const metrics: Record<string, number> = {}
  for (const m of byCount) {
    const at = `@${m.executors}`
    metrics[`${prefix}awardP50Ms${at}`] = m.awardMs.p50
    metrics[`${prefix}awardP90Ms${at}`] = m.awardMs.p90
    metrics[`${prefix}awardP99Ms${at}`] = m.awardMs.p99
    metrics[`${prefix}marketOnP50Ms${at}`] = m.marketLatencyMs.p50
    metrics[`${prefix}marketOffP50Ms${at}`] = m.directLatencyMs.p50
    metrics[`${prefix}overheadP50Ms${at}`] = m.overheadMs.p50
    metrics[`${prefix}overheadP99Ms${at}`] = m.overheadMs.p99
  }
  return metrics
}

export async function run (): Promise<BenchmarkResult> {
  const started = performance.now()
  const byCount = await measureMarketLatency({ executors: COUNTS, samples: PAIRS, log })
  log('again with a DHT record for every announcement (announceInDht: always)')
  const noDht = await measureMarketLatency({ executors: DHT_ALWAYS_COUNTS, samples: DHT_ALWAYS_PAIRS, market: { announceInDht: 'always' }, log })
  const ledger = await measureLedger()
  log(`ledger: ${ledger.entriesPerSecond} entries/s (${ledger.inFlight} tasks in flight), ${ledger.sequentialEntriesPerSecond} entries/s one call at a time`)
  log(`total ${Math.round((performance.now() - started) / 1000)} s`)

  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, 'market.svg'), marketSvg(byCount, noDht, OVERHEAD_TARGET_MS))

  const targets: Target[] = []
  const four = byCount.find(m => m.executors === 4)
  if (four !== undefined) targets.push(target('market overhead per task p50 ms, 4 executors', four.overheadMs.p50, '<=', OVERHEAD_TARGET_MS))
  targets.push(target('ledger journal entries/s, tasks in flight', ledger.entriesPerSecond, '>=', LEDGER_TARGET_ENTRIES_PER_SECOND))

  return {
    name: 'market',
    description: 'Market on an in-process devnet (1 scheduler, n executors with 1 worker thread each, 1 verifier, every node a libp2p node on 127.0.0.1, ' +
      'all in this one process on one event loop; signing on). Tiny tasks: add(i, i) of examples/build/arith.wasm, a distinct i per task, the module already in every executor\'s store. ' +
      'Award latency: the market\'s `awarded` event (msSinceReady: ready at the scheduler → award, i.e. grant check, bid round, ranking, escrow opened and flushed to disk), ' +
      'one task at a time, with 1, 4 and 16 executors, every one asked (maxBidders 16); a round ends when every executor asked has answered, else at the 500 ms bid window. ' +
      'Market overhead: one-task workflows via Scheduler.submit + wait, one at a time, on two devnets side by side, market on (defaults, challengeWindowMs 0: escrow and charge per task before the result, settlement in the background; ' +
      'the scheduler pays itself, no budget delegation) and market off (price-0 bid policies, tasks handed round-robin to executors), alternated ABBA; overhead = quantile(on) − quantile(off), ' +
      'pairedOverheadMs = quantiles of the per-pair differences. Breakdown: bid round, ledger calls (timed by wrapping the scheduler ledger object), ' +
      'and a bare /ipvm/market request to every executor at once (no crypto) for the streams\' share. ' +
      `Pairs: ${PAIRS.join('/')} at ${COUNTS.join('/')} executors (fewer at 16: 32 executor nodes and 32 worker threads in one process on 2 vCPUs make each market task take hundreds of ms). ` +
      `dhtAlways: the same at ${DHT_ALWAYS_COUNTS.join('/')} executors (${DHT_ALWAYS_PAIRS.join('/')} pairs) with announceInDht: 'always', to show what publishing each announcement as a DHT record costs (the default publishes only tasks that wait). ` +
      'Ledger: measureLedger() (LmdbLedger, escrow/charge/settle lifecycles, 1000 in flight; and one call at a time; each call awaited until on disk).',
    machine: machine(),
    date: new Date().toISOString(),
    metrics: {
      ...flat('', byCount),
      ...flat('dhtAlways_', noDht),
      ...Object.fromEntries(noDht.flatMap(m => {
        const byDefault = byCount.find(d => d.executors === m.executors)
        return byDefault === undefined ? [] : [[`overheadFromDhtAnnounceP50Ms@${m.executors}`, round(m.overheadMs.p50 - byDefault.overheadMs.p50)]]
      })),
      ledgerEntriesPerSecond: ledger.entriesPerSecond,
      ledgerSequentialEntriesPerSecond: ledger.sequentialEntriesPerSecond,
      ledgerAuditEntriesPerSecond: ledger.auditEntriesPerSecond,
      market: { task: 'add(i, i), examples/build/arith.wasm, distinct i per task', byExecutors: byCount },
      marketWithDhtRecordPerTask: { byExecutors: noDht },
      ledger
    },
    targets
  }
}
