/**
 * End-to-end task latency and throughput through a devnet over loopback
 * (issue 7, "Measure"): tiny tasks (`add(i, i)` of examples/build/arith.wasm)
 * through scheduler → executor with 1, 2 and 4 executors, signing on
 * (executors sign invocations and receipts, the scheduler verifies every
 * receipt, and on the Requester path the requester verifies every receipt
 * and its chain again).
 *
 * Setup per executor count n: `startDevnet({ executors: n })` (1 worker
 * thread each, scheduler concurrency 8·n, the default), plus a requester node
 * of its own (createIpvmNode on 127.0.0.1, bootstrapped to the scheduler)
 * holding the module in its repo, and a `Requester` on it. Everything runs in
 * this one process (one event loop for scheduler, executors, verifier and
 * requester; only the wasm runs in worker threads).
 *
 * Two paths, each measured the same way:
 * - `requester`: `Requester.submit(file)` → /ipvm/submit → scheduler →
 *   /ipvm/execute → executor; the scheduler streams each verified receipt
 *   back and the requester verifies it (chain included) and stores it. Each
 *   submit also announces the module (DHT provide) and signs a budget.
 * - `scheduler`: `devnet.scheduler.role.scheduler.submit(bytes)` +
 *   `wait(id)`, in the scheduler's process: no submit protocol, no requester
 *   verification (the scheduler still verifies each executor's receipt).
 *   The scheduler then spends its own authority (no budget).
 *
 * Latency: `latencySamples` sequential one-task workflows, each with distinct
 * arguments (a distinct instruction, so the memo never answers), timed from
 * the call to the resolved report / summary. Throughput: one workflow of
 * `tasks` independent tasks (distinct arguments), tasks / wall time from the
 * call to the end. A warm-up (a one-task workflow, then a workflow of 4·n
 * tasks, on each path) comes first so worker start, module fetch and
 * compilation, connections and the executor discovery are not counted.
 * Every sample must end `ok` with the right sum, or the benchmark throws.
 *
 * Standalone: `node dist/benchmarks/network/e2e.js [--executors 1,2,4]
 * [--tasks 2000] [--samples 200]` prints JSON (used for profiling with
 * `node --cpu-prof`).
 */
import '../../src/polyfill.js'
import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import * as dagJson from '@ipld/dag-json'
import { startDevnet } from '../../src/devnet.js'
import { Requester } from '../../src/requester.js'
import { createIpvmNode } from '../../src/net/node.js'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { identityFromSeed } from '../../src/auth/identity.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { quantile, round, stats, target } from '../lib.js'
import { lineChart } from './plot.js'
import type { CID } from 'multiformats/cid'
import type { Target } from '../lib.js'

const MODULE_PATH = fileURLToPath(new URL('../../../examples/build/arith.wasm', import.meta.url))

/** Figures of one path at one executor count. */
export interface PathMetrics {
  latencyMs: { p50: number, p90: number, p99: number, mean: number, min: number, max: number, samples: number }
  throughput: { tasks: number, seconds: number, tasksPerSecond: number }
}

export interface ExecutorMetrics {
  executors: number
  requester: PathMetrics
  scheduler: PathMetrics
  /** Requester p50 minus scheduler p50: what the submit protocol, the budget, the announce and the requester's verification add. */
  requesterShareP50Ms: number
}

function task (module: CID, a: number, b: number): Record<string, unknown> {
  return { run: { rsc: `ipfs://${module}`, op: 'wasm/run', input: { func: 'add', args: [a, b] }, nnc: '' }, meta: {}, prf: [] }
}

/** A workflow of `count` independent `add(i, i)` tasks, i from `from`. */
function workflow (module: CID, from: number, count: number): Uint8Array {
  return dagJson.encode({ tasks: Array.from({ length: count }, (_, k) => task(module, from + k, from + k)) })
}

const log = (message: string): void => { process.stderr.write(`  [e2e] ${message}\n`) }

/** Measures one executor count. `base` keeps arguments (hence instructions) distinct over the whole run. */
async function measureCount (n: number, tasks: number, latencySamples: number, bytes: Uint8Array, module: CID): Promise<ExecutorMetrics> {
  const devnet = await startDevnet({ executors: n, threads: 1 })
  const identity = await identityFromSeed(randomBytes(32))
  const node = await createIpvmNode({ privateKey: identity.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [devnet.address.toString()], allowLoopback: true })
  const repo = memoryRepo()
  await repo.blocks.put(module, bytes)
  const requester = new Requester({ node, repo, signer: identity.signer })
  const scheduler = devnet.scheduler.role.scheduler
  let next = 1
  const fresh = (count: number): { file: Uint8Array, from: number } => {
    const from = next
    next += count
    return { file: workflow(module, from, count), from }
  }
  try {
    await node.start()
    await requester.start()
    // A connection to the scheduler first; the PeerId is then enough to submit.
    await node.libp2p.dial(devnet.address)
    const schedulerPeer = devnet.scheduler.node.peerId

    const viaRequester = async (count: number): Promise<number> => {
      const { file, from } = fresh(count)
      const started = performance.now()
      const report = await requester.submit(file, 'bench.json', { scheduler: schedulerPeer, signal: AbortSignal.timeout(600_000) })
      const elapsed = performance.now() - started
      if (!report.ok) throw new Error(`requester path: ${report.failed} of ${count} tasks failed: ${JSON.stringify(report.tasks.find(t => t.status !== 'ok')?.out)}`)
      report.tasks.forEach((t, k) => {
        const out = t.out as { ok?: unknown } | undefined
        if (out?.ok !== 2 * (from + k)) throw new Error(`requester path: task ${k} gave ${JSON.stringify(out)}, not ${2 * (from + k)}`)
        if (t.cached) throw new Error(`requester path: task ${k} was answered from the memo`)
      })
      return elapsed
    }
    const viaScheduler = async (count: number): Promise<number> => {
      const { file } = fresh(count)
      const started = performance.now()
      const id = await scheduler.submit(file, 'bench.json')
      const summary = await scheduler.wait(id)
      const elapsed = performance.now() - started
      if (!summary.ok) throw new Error(`scheduler path: not every task is done: ${JSON.stringify(summary.tasks.find(t => t.state !== 'done'))}`)
      return elapsed
    }

    // Warm-up: module fetch and compile on each executor, worker start, connections, discovery.
    await viaRequester(1)
    await viaRequester(4 * n)
    await viaScheduler(1)
    await viaScheduler(4 * n)

    const measurePath = async (name: string, submit: (count: number) => Promise<number>): Promise<PathMetrics> => {
      const samples: number[] = []
      for (let i = 0; i < latencySamples; i++) samples.push(await submit(1))
      const latencyMs = stats(samples)
      const ms = await submit(tasks)
      const throughput = { tasks, seconds: round(ms / 1000), tasksPerSecond: round(tasks / (ms / 1000), 1) }
      log(`${n} executor(s), ${name}: p50 ${latencyMs.p50} ms, p99 ${latencyMs.p99} ms; ${throughput.tasksPerSecond} tasks/s (${tasks} in ${throughput.seconds} s)`)
      return { latencyMs, throughput }
    }
    const viaReq = await measurePath('requester', viaRequester)
    const viaSched = await measurePath('scheduler', viaScheduler)
    return { executors: n, requester: viaReq, scheduler: viaSched, requesterShareP50Ms: round(viaReq.latencyMs.p50 - viaSched.latencyMs.p50) }
  } finally {
    await requester.stop().catch(() => {})
    await node.stop().catch(() => {})
    await devnet.stop()
  }
}

/** The plot: tasks/s (left chart) and p50 latency (right chart) against executors, both paths. */
export function e2eSvg (byCount: ExecutorMetrics[]): string {
  const throughput = lineChart({
    title: 'Tiny tasks/s sustained (loopback, signing on)',
    xLabel: 'executors',
    yLabel: 'tasks/s',
    series: [
      { name: 'Requester.submit', points: byCount.map(m => [m.executors, m.requester.throughput.tasksPerSecond]) },
      { name: 'Scheduler API', points: byCount.map(m => [m.executors, m.scheduler.throughput.tasksPerSecond]), dashed: true }
    ],
    references: [{ label: 'target ≥ 1000', y: 1000, color: '#2ca02c' }]
  })
  const latency = lineChart({
    title: 'Single tiny task latency (loopback)',
    xLabel: 'executors',
    yLabel: 'ms',
    series: [
      { name: 'Requester p50', points: byCount.map(m => [m.executors, m.requester.latencyMs.p50]) },
      { name: 'Requester p99', points: byCount.map(m => [m.executors, m.requester.latencyMs.p99]), dashed: true },
      { name: 'Scheduler p50', points: byCount.map(m => [m.executors, m.scheduler.latencyMs.p50]) },
      { name: 'Scheduler p99', points: byCount.map(m => [m.executors, m.scheduler.latencyMs.p99]), dashed: true }
    ],
    references: [{ label: 'target p50 ≤ 5', y: 5, color: '#2ca02c' }]
  })
  // Two charts side by side in one document.
  const inner = (svg: string): string => svg.replace(/^<svg[^>]*>\n?/, '').replace(/<\/svg>\n?$/, '')
  return [
    '<svg xmlns="http://www.w3.org/2000/svg" width="1120" height="340" viewBox="0 0 1120 340" font-family="sans-serif" font-size="12">',
    `<g>${inner(throughput)}</g>`,
    `<g transform="translate(560 0)">${inner(latency)}</g>`,
    '</svg>'
  ].join('\n') + '\n'
}

/** Options of {@link measureEndToEnd}. */
export interface EndToEndOptions {
  /** Executor counts. @default [1, 2, 4] */
  executors?: number[]
  /** Tasks of the throughput workflow. @default 2000 */
  tasks?: number
  /** One-task workflows timed per path. @default 200 */
  latencySamples?: number
}

export async function measureEndToEnd (options: EndToEndOptions = {}): Promise<{ metrics: Record<string, unknown>, targets: Target[], svg?: string }> {
  const counts = options.executors ?? [1, 2, 4]
  const tasks = options.tasks ?? 2000
  const latencySamples = options.latencySamples ?? 200
  const bytes = new Uint8Array(readFileSync(MODULE_PATH))
  const module = cidOf(bytes, codecs.raw)
  const byCount: ExecutorMetrics[] = []
  for (const n of counts) byCount.push(await measureCount(n, tasks, latencySamples, bytes, module))

  const metrics: Record<string, unknown> = {}
  for (const m of byCount) {
    metrics[`e2eRequesterP50Ms@${m.executors}`] = m.requester.latencyMs.p50
    metrics[`e2eRequesterP99Ms@${m.executors}`] = m.requester.latencyMs.p99
    metrics[`e2eRequesterTasksPerSecond@${m.executors}`] = m.requester.throughput.tasksPerSecond
    metrics[`e2eSchedulerP50Ms@${m.executors}`] = m.scheduler.latencyMs.p50
    metrics[`e2eSchedulerP99Ms@${m.executors}`] = m.scheduler.latencyMs.p99
    metrics[`e2eSchedulerTasksPerSecond@${m.executors}`] = m.scheduler.throughput.tasksPerSecond
  }
  metrics.e2e = {
    task: 'add(i, i), examples/build/arith.wasm, distinct i per task',
    latencySamples,
    tasks,
    byExecutors: byCount
  }
  const targets: Target[] = []
  const one = byCount.find(m => m.executors === 1) ?? byCount[0]
  if (one !== undefined) targets.push(target(`e2e single tiny task p50 ms, Requester.submit, ${one.executors} executor(s)`, one.requester.latencyMs.p50, '<=', 5))
  if (byCount.length > 0) {
    const best = byCount.reduce((a, b) => b.requester.throughput.tasksPerSecond > a.requester.throughput.tasksPerSecond ? b : a)
    targets.push(target(`e2e tiny tasks/s sustained, Requester.submit, best (${best.executors} executor(s))`, best.requester.throughput.tasksPerSecond, '>=', 1000))
  }
  return { metrics, targets, ...(byCount.length > 0 ? { svg: e2eSvg(byCount) } : {}) }
}

// Standalone.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`)
    return i >= 0 ? process.argv[i + 1] : undefined
  }
  const executors = arg('executors')?.split(',').map(Number)
  const tasks = arg('tasks')
  const samples = arg('samples')
  const result = await measureEndToEnd({
    ...(executors !== undefined ? { executors } : {}),
    ...(tasks !== undefined ? { tasks: Number(tasks) } : {}),
    ...(samples !== undefined ? { latencySamples: Number(samples) } : {})
  })
  const { svg: _svg, ...rest } = result
  process.stdout.write(JSON.stringify(rest, (_, v) => typeof v === 'bigint' ? v.toString() : v, 2) + '\n')
  process.exit(0)
}
