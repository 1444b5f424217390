/**
 * The worker pool's per-task overhead: one task at a time through the pool
 * (module cached in the worker), against the same work (instantiate + call)
 * done directly on the main thread. Target: overhead ≤ 0.15 ms per task p50.
 */
import '../../src/polyfill.js'
import wabtInit from 'wabt'
import { WasmPool } from '../../src/wasm/pool.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { machine, median, quantile, target, round } from '../lib.js'
import type { BenchmarkResult } from '../lib.js'

const WARMUP = 500
const SAMPLES = 3000
const BATCH = 2000

export async function run (): Promise<BenchmarkResult> {
  const wabt = await wabtInit()
  const parsed = wabt.parseWat('add.wat', '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))')
  const bytes = new Uint8Array(parsed.toBinary({}).buffer)
  parsed.destroy()
  const moduleCid = cidOf(bytes, codecs.raw)

  // Direct: what a worker does per task, on the main thread.
  const module = new WebAssembly.Module(bytes)
  const direct: number[] = []
  let sink = 0
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const started = performance.now()
    const instance = new WebAssembly.Instance(module, {})
    sink += (instance.exports.add as (a: number, b: number) => number)(i, 1)
    if (i >= WARMUP) direct.push(performance.now() - started)
  }

  const pool = new WasmPool()
  const seed = new Uint8Array(32)
  const task = (i: number): Parameters<WasmPool['run']>[0] => ({ moduleCid, loadModule: async () => bytes, func: 'add', args: [i, 1], fuel: 1_000_000n, memoryBytes: 1 << 24, seed, timeoutMs: 10_000 })
  const roundTrips: number[] = []
  try {
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      const started = performance.now()
      const outcome = await pool.run(task(i))
      if (i >= WARMUP) roundTrips.push(performance.now() - started)
      if (!('ok' in outcome) || outcome.ok !== i + 1) throw new Error(`wrong result ${JSON.stringify(outcome)}`)
    }
    // Throughput with every thread busy.
    const started = performance.now()
    let next = 0
    await Promise.all(Array.from({ length: pool.threads * 2 }, async () => {
      while (next < BATCH) await pool.run(task(next++))
    }))
    const batchMs = performance.now() - started
    const directP50 = median(direct)
    const poolP50 = median(roundTrips)
    const overhead = poolP50 - directP50
    return {
      name: 'pool-overhead',
      description: `per-task cost of the Piscina pool (${pool.threads} threads; metered sandbox, module cached in the worker) vs instantiate+call of the plain module on the main thread; ${SAMPLES} sequential samples after ${WARMUP} warm-up`,
      machine: machine(),
      date: new Date().toISOString(),
      metrics: {
        threads: pool.threads,
        directP50Ms: round(directP50, 4),
        poolRoundTripP50Ms: round(poolP50, 4),
        poolRoundTripP90Ms: round(quantile(roundTrips, 0.9), 4),
        poolRoundTripP99Ms: round(quantile(roundTrips, 0.99), 4),
        overheadP50Ms: round(overhead, 4),
        concurrentTasksPerSecond: Math.round(BATCH / batchMs * 1000),
        checksum: sink
      },
      targets: [target('pool overhead per task p50 (ms)', round(overhead, 4), '<=', 0.15)]
    }
  } finally {
    await pool.stop()
  }
}
