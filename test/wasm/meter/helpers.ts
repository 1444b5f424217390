/**
 * Test helpers: WAT → binary through wabt, direct instantiation, and a
 * runner that executes one job in a fresh `node:worker_threads` Worker.
 */

import { Worker } from 'node:worker_threads'
import wabtInit from 'wabt'
import { requireWasmEngine } from '../../../src/wasm/meter/index.js'
import type { WasmImports, WasmInstance } from '../../../src/wasm/meter/index.js'
import type { HarnessJob, HarnessOutcome } from './harness-types.js'

type Wabt = Awaited<ReturnType<typeof wabtInit>>
let wabtPromise: Promise<Wabt> | undefined

/** Every feature wabt knows, so hostile modules (SIMD, threads, …) can be written in WAT too. */
export const ALL_FEATURES = {
  exceptions: true,
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  simd: true,
  threads: true,
  multi_value: true,
  tail_call: true,
  bulk_memory: true,
  reference_types: true,
  memory64: true,
  extended_const: true
}

/** Compiles WAT text to a binary module. */
export async function wat (source: string, features: Record<string, boolean> = ALL_FEATURES): Promise<Uint8Array> {
  wabtPromise ??= wabtInit()
  const wabt = await wabtPromise
  const module = wabt.parseWat('test.wat', source, features)
  try {
    return module.toBinary({ write_debug_names: true }).buffer
  } finally {
    module.destroy()
  }
}

/** Disassembles a binary (for failure messages). */
export async function wasm2wat (bytes: Uint8Array): Promise<string> {
  wabtPromise ??= wabtInit()
  const wabt = await wabtPromise
  const module = wabt.readWasm(bytes, { ...ALL_FEATURES, readDebugNames: true })
  try {
    return module.toText({ foldExprs: false })
  } finally {
    module.destroy()
  }
}

/** Instantiates a binary in this thread. */
export function instantiate (bytes: Uint8Array, imports?: WasmImports): WasmInstance {
  const engine = requireWasmEngine()
  return new engine.Instance(new engine.Module(bytes), imports)
}

/** True when the engine accepts the bytes. */
export function engineValid (bytes: Uint8Array): boolean {
  return requireWasmEngine().validate(bytes)
}

const harnessUrl = new URL('./harness-worker.js', import.meta.url)

function runOnce (job: HarnessJob): Promise<{ outcome: HarnessOutcome, loadFailure: boolean }> {
  return new Promise(resolve => {
    const worker = new Worker(harnessUrl, { workerData: job, resourceLimits: { maxOldGenerationSizeMb: 128, stackSizeMb: 4 } })
    let outcome: HarnessOutcome | undefined
    let loadFailure = false
    worker.once('message', (message: HarnessOutcome) => { outcome = message })
    worker.once('error', err => {
      loadFailure = err.name === 'SyntaxError' || (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND'
      outcome ??= { kind: 'error', error: 'WorkerCrashed', message: err.message, fuelUsed: undefined }
    })
    worker.once('exit', code => {
      if (outcome === undefined && code === 0) loadFailure = true
      resolve({ outcome: outcome ?? { kind: 'error', error: 'WorkerCrashed', message: `worker exited with code ${code}`, fuelUsed: undefined }, loadFailure })
    })
  })
}

/**
 * Runs one job in a fresh Worker and resolves with its outcome (a crash is
 * reported as `WorkerCrashed`). The harness reports every outcome, so a
 * worker that ends without a word, or cannot parse its code, never ran the
 * job: that happens when a concurrent build rewrites `dist/` while the
 * worker loads it, and such a start is retried (twice at most).
 */
export async function runInWorker (job: HarnessJob): Promise<HarnessOutcome> {
  let attempt = await runOnce(job)
  for (let retry = 0; retry < 2 && attempt.loadFailure; retry++) {
    await new Promise(resolve => setTimeout(resolve, 200))
    attempt = await runOnce(job)
  }
  return attempt.outcome
}

/** Runs `count` copies of a job, at most `parallel` at a time, each in its own Worker. */
export async function runRepeatedly (job: HarnessJob, count: number, parallel = 2): Promise<HarnessOutcome[]> {
  const outcomes: HarnessOutcome[] = new Array(count)
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < count) {
      const index = next++
      outcomes[index] = await runInWorker(job)
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane))
  return outcomes
}

/** A small deterministic PRNG (xorshift32) for property tests. */
export function prng (seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state / 0x100000000
  }
}

/** Unsigned LEB128, for hand-built binaries. */
export const u32 = (value: number): number[] => {
  const out: number[] = []
  do {
    let b = value & 0x7F
    value >>>= 7
    if (value !== 0) b |= 0x80
    out.push(b)
  } while (value !== 0)
  return out
}

/** A section: id, size, content. */
export const section = (id: number, content: number[]): number[] => [id, ...u32(content.length), ...content]

/** The Wasm magic and version 1. */
export const HEADER = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]
