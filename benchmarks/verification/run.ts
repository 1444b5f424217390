/**
 * Verification benchmark (issue 9, "Measure"), result "verification":
 * - Detection: a cheating executor at cheat rates 0.5 (2,000 tasks per p)
 *   and 0.2 (1,000 tasks per p), a verifier at sample rates
 *   p ∈ {0.01, 0.05, 0.1, 0.25}, through a devnet (./devnet-run.ts). A cheat
 *   is caught when a fraud proof against its receipt was upheld. For
 *   k = 1..50, the share of disjoint windows of k consecutive cheats with at
 *   least one caught, against 1 − (1 − p)^k with a 95 % band
 *   (./detection.ts); per cheat rate and pooled. Plot:
 *   benchmarks/results/verification.svg.
 * - False positives: 10,000 honest tasks at p = 0.25 and 1,000 at p = 1
 *   (every receipt re-run): fraud proofs filed and upheld (must be 0),
 *   attestations. (10,000 at p = 1 would take ~8 minutes on 2 vCPUs: the
 *   devnet does ~17 fully checked tasks/s.)
 * - Compute overhead: honest runs at each p (and p = 1): executor fuel
 *   (receipts' meta.fuel) + verifier re-run fuel against (1 + p) × executor
 *   fuel; target ≤ (1 + p) × 1.05. Worker ms likewise.
 *
 * Standalone: `node dist/benchmarks/verification/run.js [--tasks 2000,1000]
 * [--cheat 0.5,0.2] [--p 0.01,0.05,0.1,0.25] [--fp 10000] [--fp-p 0.25]
 * [--full 1000] [--overhead 1000] [--k 50] [--workflow 250] [--out-dir DIR]`
 * writes the result like `node dist/benchmarks/run.js verification`.
 */
import '../../src/polyfill.js'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { machine, resultsDir, round, target, writeResult } from '../lib.js'
import { runConfig } from './devnet-run.js'
import { detectionCurve } from './detection.js'
import { detectionSvg } from './plot.js'
import type { BenchmarkResult, Target } from '../lib.js'
import type { RunData } from './devnet-run.js'
import type { DetectionPoint } from './detection.js'
import type { DetectionPanel } from './plot.js'

const log = (line: string): void => { process.stderr.write(`  [verification] ${line}\n`) }

/** Options of {@link measureVerification}. */
export interface VerificationOptions {
  /** Sample rates of the detection and overhead runs. @default [0.01, 0.05, 0.1, 0.25] */
  sampleRates?: number[]
  /** Cheat rates of the detection runs. @default [0.5, 0.2] */
  cheatRates?: number[]
  /** Tasks per detection configuration, by position in `cheatRates`. @default [2000, 1000] */
  tasks?: number[]
  /** Sample rate of the false-positive run. @default 0.25 */
  falsePositiveSampleRate?: number
  /** Honest tasks of the false-positive run (also the overhead point at its p). @default 10000 */
  falsePositiveTasks?: number
  /** Honest tasks of a run at p = 1 (every receipt re-run; 0 for none). @default 1000 */
  fullCheckTasks?: number
  /** Honest tasks per overhead run (at each other p). @default 1000 */
  overheadTasks?: number
  /** Largest window. @default 50 */
  maxK?: number
  /** Tasks per workflow. @default 250 */
  workflowSize?: number
}

/** The overhead target: total compute ≤ (1 + p) × execution × this. */
export const OVERHEAD_SLACK = 1.05

function summarizeRun (data: RunData): Record<string, unknown> {
  return {
    config: data.config,
    seconds: round(data.seconds, 1),
    tasksPerSecond: round(data.config.tasks / data.seconds, 1),
    cheats: data.cheats.length,
    distinctCheats: new Set(data.cheats).size,
    caught: data.caught.size,
    caughtShare: data.cheats.length > 0 ? round(data.caught.size / data.cheats.length, 4) : null,
    schedulerEvents: data.events,
    refusals: data.refusals,
    fraudsAgainstHonest: data.fraudsAgainstHonest,
    verifier: data.verifier,
    verifierOutcomes: data.outcomes,
    sampledCheatsNotCaught: data.sampledCheatsNotCaught,
    receiptsBy: data.receiptsBy,
    cheatedResultsKept: data.cheatedResultsKept,
    retracted: data.retracted,
    notDone: data.notDone,
    executorCompute: { ...data.executorCompute, workerMs: round(data.executorCompute.workerMs) },
    verifierCompute: { ...data.verifierCompute, workerMs: round(data.verifierCompute.workerMs) }
  }
}

function overheadOf (data: RunData) {
  const p = data.config.sampleRate
  const exec = data.executorCompute
  const rerun = data.verifierCompute
  const fuelRatio = (exec.fuel + rerun.fuel) / exec.fuel
  const msRatio = (exec.workerMs + rerun.workerMs) / exec.workerMs
  return {
    p,
    tasks: exec.runs,
    executorFuel: exec.fuel,
    verifierFuel: rerun.fuel,
    verifierReruns: rerun.runs,
    /** (executor + verifier fuel) / executor fuel. */
    fuelRatio: round(fuelRatio, 4),
    /** The same with the share actually sampled (1 + sampled / tasks): what the draw gave. */
    expectedFuelRatioFromSample: round(1 + data.verifier.sampled / exec.runs, 4),
    bound: round((1 + p) * OVERHEAD_SLACK, 4),
    /** fuelRatio / (1 + p): the overhead against the ideal. */
    fuelRatioOverIdeal: round(fuelRatio / (1 + p), 4),
    executorWorkerMs: round(exec.workerMs),
    verifierWorkerMs: round(rerun.workerMs),
    workerMsRatio: round(msRatio, 4),
    workerMsRatioOverIdeal: round(msRatio / (1 + p), 4),
    /** Verifier wall time per check (open the claim, fetch, re-run; `stats.ms`) against executor worker ms. */
    verifierCheckMs: round(data.verifier.ms),
    checkMsRatio: round((exec.workerMs + data.verifier.ms) / exec.workerMs, 4)
  }
}

const compact = (point: DetectionPoint): Record<string, unknown> => ({
  k: point.k,
  n: point.windows,
  caught: point.caught,
  measured: round(point.measured, 4),
  theory: round(point.theory, 4),
  band: [round(point.band[0], 4), round(point.band[1], 4)],
  inside: point.inside,
  exact: [round(point.exact[0], 4), round(point.exact[1], 4)],
  insideExact: point.insideExact
})

const insideShare = (points: DetectionPoint[], key: 'inside' | 'insideExact' = 'inside'): number => points.length === 0 ? NaN : round(points.filter(point => point[key]).length / points.length, 3)

export async function measureVerification (options: VerificationOptions = {}): Promise<{ result: BenchmarkResult, svg: string }> {
  const sampleRates = options.sampleRates ?? [0.01, 0.05, 0.1, 0.25]
  const cheatRates = options.cheatRates ?? [0.5, 0.2]
  const taskCounts = options.tasks ?? [2000, 1000]
  const fpRate = options.falsePositiveSampleRate ?? 0.25
  const fpTasks = options.falsePositiveTasks ?? 10_000
  const fullTasks = options.fullCheckTasks ?? 1000
  const overheadTasks = options.overheadTasks ?? 1000
  const maxK = options.maxK ?? 50
  const workflowSize = options.workflowSize ?? 250
  const started = performance.now()
  // Distinct arguments over the whole benchmark: every InID is new.
  let nextArg = 1
  const args = (count: number): number => { const from = nextArg; nextArg += count; return from }

  // 1. Detection.
  const detectionRuns: RunData[] = []
  for (const p of sampleRates) {
    for (const [i, cheatRate] of cheatRates.entries()) {
      const tasks = taskCounts[i] ?? taskCounts[taskCounts.length - 1] ?? 2000
      log(`detection: p = ${p}, cheat rate ${cheatRate}, ${tasks} tasks`)
      const data = await runConfig({ sampleRate: p, cheatRate, tasks, workflowSize, firstArg: args(tasks), log })
      log(`  ${data.cheats.length} cheats, ${data.caught.size} caught (${round(data.caught.size / Math.max(1, data.cheats.length), 3)}), ${data.retracted} reassigned, ${round(data.seconds, 1)} s`)
      detectionRuns.push(data)
    }
  }
  const sequenceOf = (data: RunData): boolean[] => data.cheats.map(instruction => data.caught.has(instruction))
  const panels: DetectionPanel[] = sampleRates.map(p => {
    const runs = detectionRuns.filter(data => data.config.sampleRate === p)
    return {
      p,
      pooled: detectionCurve(runs.map(sequenceOf), p, maxK),
      byCheatRate: runs.map(data => ({ cheatRate: data.config.cheatRate, points: detectionCurve([sequenceOf(data)], p, maxK) }))
    }
  })

  // 2. False positives (also the overhead point at that p), and every receipt checked (p = 1).
  const honestRun = async (p: number, count: number): Promise<RunData> => {
    const data = await runConfig({ sampleRate: p, cheatRate: 0, tasks: count, workflowSize, firstArg: args(count), log })
    log(`  p = ${p}: ${data.verifier.sampled} checked, ${data.events.fraud} frauds upheld, ${data.events['false-accusation']} false accusations, ${data.events.attested} attestations, ` +
      `fuel ratio ${round((data.executorCompute.fuel + data.verifierCompute.fuel) / data.executorCompute.fuel, 4)}, ${round(data.seconds, 1)} s`)
    return data
  }
  log(`false positives: ${fpTasks} honest tasks at p = ${fpRate}`)
  const honestFp = await honestRun(fpRate, fpTasks)
  let honestAll: RunData | undefined
  if (fullTasks > 0) {
    log(`every receipt checked: ${fullTasks} honest tasks at p = 1`)
    honestAll = await honestRun(1, fullTasks)
  }

  // 3. Overhead at each other p (honest).
  const overheadRuns: RunData[] = [honestFp]
  for (const p of sampleRates.filter(rate => rate !== fpRate)) {
    log(`overhead: ${overheadTasks} honest tasks at p = ${p}`)
    overheadRuns.push(await honestRun(p, overheadTasks))
  }
  if (honestAll !== undefined) overheadRuns.push(honestAll)
  overheadRuns.sort((a, b) => a.config.sampleRate - b.config.sampleRate)
  const overhead = overheadRuns.map(overheadOf)
  const honestRuns = overheadRuns
  const falsePositives = {
    honestTasks: honestRuns.reduce((sum, data) => sum + data.config.tasks, 0),
    runs: honestRuns.map(data => ({ p: data.config.sampleRate, tasks: data.config.tasks })),
    byRun: honestRuns.map(data => ({
      p: data.config.sampleRate,
      tasks: data.config.tasks,
      checked: data.verifier.sampled,
      // Fraud proofs the verifier made (upheld, refused, or not delivered) and the scheduler's verdicts.
      fraudProofsFiled: data.verifier.frauds + data.events['false-accusation'] + data.verifier.refused + data.verifier.unsent,
      fraudsUpheld: data.events.fraud,
      falseAccusations: data.events['false-accusation'],
      attestations: data.events.attested,
      uncheckable: data.verifier.uncheckable,
      unsent: data.verifier.unsent,
      refused: data.verifier.refused
    })),
    /** Over every honest run, and the honest executor's receipts in the detection runs. */
    fraudsUpheldTotal: honestRuns.reduce((sum, data) => sum + data.events.fraud, 0) + detectionRuns.reduce((sum, data) => sum + data.fraudsAgainstHonest, 0),
    falseAccusationsTotal: [...honestRuns, ...detectionRuns].reduce((sum, data) => sum + data.events['false-accusation'], 0),
    attestationsTotal: honestRuns.reduce((sum, data) => sum + data.events.attested, 0)
  }
  const seconds = (performance.now() - started) / 1000
  log(`total ${Math.round(seconds)} s`)

  const metrics: Record<string, unknown> = {}
  for (const panel of panels) {
    metrics[`detectionInsideBand@p${panel.p}`] = insideShare(panel.pooled)
    metrics[`detectionInsideExact@p${panel.p}`] = insideShare(panel.pooled, 'insideExact')
    const runs = detectionRuns.filter(data => data.config.sampleRate === panel.p)
    const cheats = runs.reduce((sum, data) => sum + data.cheats.length, 0)
    const caught = runs.reduce((sum, data) => sum + data.caught.size, 0)
    metrics[`perCheatCatchRate@p${panel.p}`] = round(caught / Math.max(1, cheats), 4)
  }
  const allPooled = panels.flatMap(panel => panel.pooled)
  metrics.detectionInsideBandOverall = insideShare(allPooled)
  metrics.detectionInsideExactOverall = insideShare(allPooled, 'insideExact')
  const allByRate = panels.flatMap(panel => panel.byCheatRate.flatMap(entry => entry.points))
  metrics.detectionInsideBandPerCheatRateOverall = insideShare(allByRate)
  metrics.falsePositiveFraudsUpheld = falsePositives.fraudsUpheldTotal
  metrics.falsePositiveFalseAccusations = falsePositives.falseAccusationsTotal
  metrics.falsePositiveHonestTasks = falsePositives.honestTasks
  for (const entry of overhead) {
    metrics[`fuelRatio@p${entry.p}`] = entry.fuelRatio
    metrics[`workerMsRatio@p${entry.p}`] = entry.workerMsRatio
  }
  metrics.seconds = round(seconds, 1)
  metrics.detection = {
    method: 'cheats of executor 0 in the order it made them (its `dishonesty.cheats`); caught = a fraud proof against that receipt was upheld at the scheduler (its `fraud` event); ' +
      'disjoint windows of k consecutive cheats per run (none spans two runs); measured = windows with ≥ 1 caught / windows n; theory 1 − (1 − p)^k; ' +
      'band = theory ± 1.96·√(theory(1 − theory)/n) (a measured share is in it iff its Wilson 95 % interval contains theory); exact = central 95 % region of Bin(n, theory). ' +
      'Points for different k reuse the same cheats, so they are correlated.',
    sampleRates,
    cheatRates,
    tasksPerConfiguration: Object.fromEntries(cheatRates.map((rate, i) => [String(rate), taskCounts[i] ?? taskCounts[taskCounts.length - 1] ?? 2000])),
    maxK,
    bySampleRate: panels.map(panel => ({
      p: panel.p,
      insideBand: insideShare(panel.pooled),
      insideExact: insideShare(panel.pooled, 'insideExact'),
      pooled: panel.pooled.map(compact),
      byCheatRate: panel.byCheatRate.map(entry => ({ cheatRate: entry.cheatRate, insideBand: insideShare(entry.points), points: entry.points.map(compact) }))
    })),
    runs: detectionRuns.map(summarizeRun)
  }
  metrics.falsePositives = { ...falsePositives, runs: honestRuns.map(summarizeRun) }
  metrics.overhead = overhead

  const targets: Target[] = [
    target('fraud proofs upheld against honest receipts', falsePositives.fraudsUpheldTotal, '<=', 0),
    target('false accusations (fraud proofs filed against honest receipts)', falsePositives.falseAccusationsTotal, '<=', 0),
    ...overhead.map(entry => target(`total fuel / executor fuel at p = ${entry.p} (bound (1 + p) × ${OVERHEAD_SLACK})`, entry.fuelRatio, '<=', entry.bound)),
    // 95 % of points are expected in a 95 % band; 0.9 leaves room for discreteness and the correlation between k.
    target('share of (p, k) detection points inside the 95 % band, pooled', metrics.detectionInsideBandOverall as number, '>=', 0.9)
  ]

  const result: BenchmarkResult = {
    name: 'verification',
    description: 'Optimistic verification on an in-process devnet (1 scheduler, 1 verifier, and 2 executors for detection — executor 0 cheats at the cheat rate, bids price 1, stake 1e12; ' +
      'executor 1 honest, price 10, minPrice 10, takes the tasks reassigned after a proven fraud — or 1 honest executor otherwise; 1 worker thread each; every node a libp2p node on 127.0.0.1 in this one process; ' +
      'signing on; market on, challenge window 600 s, the scheduler paying from the faucet; the verifier trusted). Tiny tasks add(i, i) of examples/build/arith.wasm, a distinct i per task over the whole run, ' +
      `in workflows of ${workflowSize} independent tasks submitted at once via the Scheduler API; each configuration waits for devnet.verified() and for reassigned tasks to finish. ` +
      `Detection: ${cheatRates.map((rate, i) => `${taskCounts[i] ?? taskCounts[taskCounts.length - 1] ?? 2000} tasks per p at cheat rate ${rate}`).join(', ')} (the devnet does ~25–130 such tasks/s end to end with verification on, slower as p grows, so fewer at cheat rate 0.2). ` +
      `False positives: ${fpTasks} honest tasks at p = ${fpRate}, ${fullTasks} at p = 1 (every receipt re-run), plus the other honest overhead runs and the honest executor's receipts in the detection runs. ` +
      `Overhead: ${overheadTasks} honest tasks per other p; executor fuel and worker ms from the final receipts' meta.fuel / meta.time, verifier fuel and worker ms from its executor's results (cross-check: stats.fuel).`,
    machine: machine(),
    date: new Date().toISOString(),
    metrics,
    targets
  }
  return { result, svg: detectionSvg(panels) }
}

export async function run (): Promise<BenchmarkResult> {
  const { result, svg } = await measureVerification()
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, 'verification.svg'), svg)
  return result
}

// Standalone: the same as `node dist/benchmarks/run.js verification`, with sizes from the command line.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`)
    return i >= 0 ? process.argv[i + 1] : undefined
  }
  const list = (name: string): number[] | undefined => arg(name)?.split(',').map(Number)
  const number = (name: string): number | undefined => arg(name) === undefined ? undefined : Number(arg(name))
  const options: VerificationOptions = {}
  const sampleRates = list('p')
  const tasks = list('tasks')
  if (tasks !== undefined) options.tasks = tasks
  const cheatRates = list('cheat')
  if (sampleRates !== undefined) options.sampleRates = sampleRates
  if (cheatRates !== undefined) options.cheatRates = cheatRates
  for (const [key, name] of [['falsePositiveSampleRate', 'fp-p'], ['fullCheckTasks', 'full'], ['falsePositiveTasks', 'fp'], ['overheadTasks', 'overhead'], ['maxK', 'k'], ['workflowSize', 'workflow']] as const) {
    const value = number(name)
    if (value !== undefined) options[key] = value
  }
  const { result, svg } = await measureVerification(options)
  // --out-dir DIR writes there instead of benchmarks/results/ (trial runs).
  const dir = arg('out-dir') ?? resultsDir
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'verification.svg'), svg)
  const file = dir === resultsDir ? writeResult(result) : join(dir, 'verification.json')
  if (dir !== resultsDir) writeFileSync(file, JSON.stringify(result, null, 2) + '\n')
  for (const [metric, value] of Object.entries(result.metrics)) {
    if (typeof value !== 'object') process.stdout.write(`  ${metric.padEnd(44)} ${String(value)}\n`)
  }
  for (const t of result.targets) process.stdout.write(`  ${t.met ? '✓' : '✗'} ${t.metric}: ${t.value} (target ${t.target})\n`)
  process.stdout.write(`  → ${file}\n`)
  process.exit(0)
}
