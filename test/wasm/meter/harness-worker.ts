/**
 * Worker side of the test harness: instruments the job's module,
 * instantiates it with a fuel budget, runs the start function and the
 * requested export, and posts `{kind, value | error, fuelUsed}`.
 * Imported as a plain module (e.g. by the test runner) it does nothing.
 */

import { isMainThread, parentPort, workerData } from 'node:worker_threads'
import { MeteredInstance, instrument, requireWasmEngine } from '../../../src/wasm/meter/index.js'
import type { WasmImports } from '../../../src/wasm/meter/index.js'
import type { HarnessJob, HarnessOutcome } from './harness-types.js'

/** The result, bit for bit: numbers as f64 bit patterns, bigints as decimal, arrays element-wise. */
export function resultBits (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(resultBits).join(',')}]`
  if (typeof value === 'number') return `f64:${(new BigUint64Array(new Float64Array([value]).buffer)[0] as bigint).toString(16)}`
  if (typeof value === 'bigint') return `i64:${value}`
  return String(value)
}

function hostImports (kind: HarnessJob['imports']): WasmImports {
  if (kind !== 'host') return {}
  return {
    host: {
      add: (a: number, b: number) => (a + b) | 0,
      noop: () => {},
      memory: new (requireWasmEngine().Memory)({ initial: 1, maximum: 4 })
    }
  }
}

/** Runs one job in this thread (the worker entry below, and `harness-process.ts`, call it). */
export function runJob (job: HarnessJob): HarnessOutcome {
  let metered: MeteredInstance | undefined
  try {
    const engine = requireWasmEngine()
    if (job.raw === true) {
      const instance = new engine.Instance(new engine.Module(job.bytes), hostImports(job.imports))
      const fn = instance.exports[job.exportName ?? ''] as (...args: unknown[]) => unknown
      const value = fn(...job.args)
      return { kind: 'ok', value, fuelUsed: undefined, bits: resultBits(value) }
    }
    const options = job.allowedImports === undefined ? {} : { allowedImports: new Set(job.allowedImports) }
    const { bytes } = instrument(job.bytes, job.limits === undefined ? options : { ...options, limits: job.limits })
    const instance = new engine.Instance(new engine.Module(bytes), hostImports(job.imports))
    metered = new MeteredInstance(instance, job.fuel)
    metered.start()
    const value = job.exportName === undefined ? undefined : metered.call(job.exportName, ...job.args)
    return { kind: 'ok', value, fuelUsed: metered.fuelUsed.toString(), bits: resultBits(value) }
  } catch (err) {
    const error = err as Error & { fuelUsed?: bigint }
    return {
      kind: 'error',
      error: error.name,
      message: error.message,
      fuelUsed: error.fuelUsed !== undefined ? error.fuelUsed.toString() : metered?.fuelUsed.toString()
    }
  }
}

if (!isMainThread && parentPort !== null) {
  parentPort.postMessage(runJob(workerData as HarnessJob))
}
