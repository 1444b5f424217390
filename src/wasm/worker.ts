/**
 * The Piscina worker that runs `wasm/run` tasks inside the deterministic
 * sandbox: every module is validated and instrumented (fuel, call depth,
 * memory cap, canonical NaNs) before it is compiled, and every call is
 * metered. Compiled modules are kept per worker by (CID, memory cap); the main
 * thread sends a module's bytes only the first time, and again when this
 * worker answers `need-module`.
 */
import { performance } from 'node:perf_hooks'
import v8 from 'node:v8'
import { TaskError } from '../errors.js'
import { WORKER_MODULE_CACHE_SIZE } from '../constants.js'
import { instrument, MeteredInstance, MAX_FUEL } from './meter/index.js'
import { toWasmParams, fromWasmResults, findExport } from './abi.js'
import { hostFunctions, HOST_IMPORTS } from './host-functions.js'
import type { TaskErrorValue } from '../errors.js'
import type { ModuleSummary } from './meter/index.js'
import type { WasmArgument, WasmResult } from './abi.js'

// Compile guest code with the optimizing tier from the first call: a one-shot
// task then runs at its warm speed instead of in the baseline tier (measured
// in benchmarks/metering). V8 flags are per process; only Wasm is affected.
v8.setFlagsFromString('--no-liftoff')

/** A task for the worker. */
export interface RunRequest {
  moduleCid: string
  /** The module's bytes; omitted when the main thread expects this worker to have it cached. */
  moduleBytes?: Uint8Array
  func: string
  args: WasmArgument[]
  /** Fuel limit. */
  fuel: bigint
  /** Memory cap in 64 KiB pages. */
  memoryPages: number
  /** Seed of the guest's random stream: the instruction CID's bytes. */
  seed: Uint8Array
}

/** The worker's answer. Failures are values, so the pool never sees a thrown task error. */
export type RunResponse =
  | { status: 'ok', value: WasmResult, durationMs: number, fuel: bigint, log: string[] }
  | { status: 'error', error: TaskErrorValue, durationMs: number, fuel: bigint, log: string[] }
  | { status: 'need-module' }

interface CompiledModule {
  module: WebAssembly.Module
  summary: ModuleSummary
}

const cache = new Map<string, CompiledModule>()
const cacheKey = (cid: string, memoryPages: number): string => `${cid}/${memoryPages}`

/** Validates and instruments the module, then compiles it. Named errors: InvalidModule, UnsupportedFeature, ForbiddenImport, LimitExceeded. */
function compile (request: RunRequest, bytes: Uint8Array): CompiledModule {
  const { moduleCid } = request
  let instrumented
  try {
    instrumented = instrument(bytes, { limits: { maxMemoryPages: request.memoryPages }, allowedImports: HOST_IMPORTS })
  } catch (err) {
    const error = err as Error & Record<string, unknown>
    if (['InvalidModule', 'UnsupportedFeature', 'ForbiddenImport', 'LimitExceeded'].includes(error.name)) {
      const details: Record<string, unknown> = { module: moduleCid }
      for (const key of ['offset', 'feature', 'limit', 'value', 'max']) if (typeof error[key] === 'number' || typeof error[key] === 'string') details[key] = error[key]
      if (typeof error.module === 'string' && typeof error.field === 'string') details.import = `${error.module}.${error.field}`
      throw new TaskError(error.name, `module ${moduleCid}: ${error.message}`, details)
    }
    throw err
  }
  let module: WebAssembly.Module
  try {
    module = new WebAssembly.Module(instrumented.bytes as Uint8Array<ArrayBuffer>)
  } catch (err) {
    throw new TaskError('InvalidModule', `module ${moduleCid} does not compile: ${(err as Error).message}`, { module: moduleCid })
  }
  const compiled = { module, summary: instrumented.summary }
  cache.set(cacheKey(moduleCid, request.memoryPages), compiled)
  if (cache.size > WORKER_MODULE_CACHE_SIZE) cache.delete(cache.keys().next().value as string)
  return compiled
}

function lookup (request: RunRequest): CompiledModule | undefined {
  const key = cacheKey(request.moduleCid, request.memoryPages)
  const hit = cache.get(key)
  if (hit !== undefined) {
    // Re-insert: the Map's order is the LRU order.
    cache.delete(key)
    cache.set(key, hit)
  }
  return hit
}

/** Runs one call; `state` receives the fuel used whatever happens. */
function execute (compiled: CompiledModule, request: RunRequest, state: { fuel: bigint, log: string[] }): WasmResult {
  const { summary, module } = compiled
  const { func, moduleCid } = request
  const exported = findExport(summary, func)
  if (exported === undefined) {
    const functions = summary.exports.filter(e => e.kind === 'function').map(e => e.name)
    throw new TaskError('ExportNotFound', `module ${moduleCid} has no export ${func}; its functions are: ${functions.join(', ') || '(none)'}`, { module: moduleCid, func })
  }
  if (exported.kind !== 'function' || exported.type === undefined) {
    throw new TaskError('ExportNotFound', `export ${exported.name} of module ${moduleCid} is a ${exported.kind}, not a function`, { module: moduleCid, func })
  }
  let metered: MeteredInstance | undefined
  let memory: WebAssembly.Memory | undefined
  const host = hostFunctions({ memory: () => memory, fuelUsed: () => metered?.fuelUsed ?? 0n, seed: request.seed })
  state.log = host.log
  const instance = new WebAssembly.Instance(module, host.imports)
  metered = new MeteredInstance(instance, request.fuel > MAX_FUEL ? MAX_FUEL : request.fuel)
  const run = metered
  const exported_ = instance.exports
  memory = exported_.memory instanceof WebAssembly.Memory ? exported_.memory : undefined
  try {
    run.start()
    const hasAlloc = typeof exported_.alloc === 'function'
    const writeBytes = memory !== undefined && hasAlloc
      ? (bytes: Uint8Array, index: number): [number, number] => {
          const ptr = Number(run.call('alloc', bytes.byteLength)) >>> 0
          const buffer = (memory as WebAssembly.Memory).buffer
          if (ptr + bytes.byteLength > buffer.byteLength) {
            throw new TaskError('ArgumentError', `alloc(${bytes.byteLength}) returned ${ptr}, outside the module's memory, for argument ${index}`, { func })
          }
          new Uint8Array(buffer, ptr, bytes.byteLength).set(bytes)
          return [ptr, bytes.byteLength]
        }
      : undefined
    const params = toWasmParams(func, exported.type, request.args, writeBytes)
    return fromWasmResults(func, exported.type, run.call(exported.name, ...params))
  } finally {
    state.fuel = run.fuelUsed
  }
}

/** Maps what the sandbox or the engine threw to a named task error. */
function toTaskError (err: unknown, request: RunRequest): TaskError {
  if (err instanceof TaskError) return err
  const error = err as Error & { fuelUsed?: bigint }
  switch (error?.name) {
    case 'OutOfFuel':
      return new TaskError('OutOfFuel', `${request.func} ran out of fuel (limit ${request.fuel})`, { func: request.func, limit: request.fuel })
    case 'StackOverflow':
      return new TaskError('StackOverflow', `${request.func} exceeded the call-depth limit`, { func: request.func })
    case 'Trap':
      return new TaskError('Trap', `${request.func} trapped: ${error.message}`, { func: request.func })
    case 'InvalidExport':
      return new TaskError('ExportNotFound', error.message, { func: request.func })
  }
  if (error instanceof WebAssembly.RuntimeError) return new TaskError('Trap', `${request.func} trapped: ${error.message}`, { func: request.func })
  if (error instanceof WebAssembly.LinkError) {
    return new TaskError('ForbiddenImport', `module ${request.moduleCid} cannot be linked: ${error.message}`, { module: request.moduleCid })
  }
  return new TaskError('Trap', `${request.func} failed: ${error?.message ?? String(err)}`, { func: request.func })
}

/** Piscina entry point. */
export default function run (request: RunRequest): RunResponse {
  const started = performance.now()
  const state = { fuel: 0n, log: [] as string[] }
  try {
    let compiled = lookup(request)
    if (compiled === undefined) {
      if (request.moduleBytes === undefined) return { status: 'need-module' }
      compiled = compile(request, request.moduleBytes)
    }
    const value = execute(compiled, request, state)
    return { status: 'ok', value, durationMs: performance.now() - started, fuel: state.fuel, log: state.log }
  } catch (err) {
    return { status: 'error', error: toTaskError(err, request).toValue(), durationMs: performance.now() - started, fuel: state.fuel, log: state.log }
  }
}
