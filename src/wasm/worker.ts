/**
 * The Piscina worker that runs `wasm/run` tasks inside the deterministic
 * sandbox: every module is validated and instrumented (fuel, call depth,
 * memory cap, canonical NaNs) before it is compiled, and every call is
 * metered. Each module is served by one calling convention, selected from
 * its imports and exports before instrumentation (core numbers, IPLD bytes,
 * a WASI command, or a WIT component transpiled by jco; see `abi/README.md`),
 * which also decides the imports it may link. A task may force the ABI
 * (`abi`) for an ambiguous module. Compiled modules are kept per worker by (CID, memory cap); the main
 * thread sends a module's bytes only the first time, and again when this
 * worker answers `need-module`.
 */
import { performance } from 'node:perf_hooks'
import v8 from 'node:v8'
import { threadId } from 'node:worker_threads'
import { TaskError } from '../errors.js'
import { WORKER_MODULE_CACHE_SIZE } from '../constants.js'
import { instrument, MeteredInstance, MAX_FUEL } from './meter/index.js'
import { findExport } from './abi.js'
import { hostFunctions } from './host-functions.js'
import { wasiHost } from './wasi.js'
import { selectAbi, moduleShape, callCore, callIpld, wasiInvocation, checkCommandEntry, runCommand, exitCodeError } from './abi/index.js'
import { isComponent, hasComponentType } from './abi/component-detect.js'
import type { AbiKind, Guest } from './abi/index.js'
import type { PreparedComponent } from './abi/component.js'

/** The component machinery (jco), loaded on the first component this worker sees. */
let components: typeof import('./abi/component.js') | undefined

/** True when serving `request` needs the component machinery, which is not loaded yet. */
function needsComponents (request: RunRequest): boolean {
  if (components !== undefined) return false
  const bytes = request.moduleBytes
  if (bytes === undefined) return false
  return isComponent(bytes) || ((request.abi === undefined || request.abi === 'component') && hasComponentType(bytes))
}
import type { WasiHost } from './wasi.js'
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
  /** Forces the calling convention (the task's `input.abi`); by default it is selected from the module (`abi/select.ts`). */
  abi?: AbiKind
}

/** What every answer that ran (or tried to) carries besides the outcome. */
interface RunReport {
  /** The worker thread that answered: the pool tracks which workers hold which modules. */
  threadId: number
  /** True when this call compiled the module (the worker had not cached it). */
  compiled: boolean
  durationMs: number
  fuel: bigint
  log: string[]
  /** The ABI that served the call, once the module compiled (see `abi/select.ts`). */
  abi?: AbiKind
  /** WASI commands: what the command wrote to stderr (at most 64 KiB), for the receipt's meta. */
  stderr?: string
  /** WASI commands: the exit code (0 on success; a non-zero one is also an `ExitCode` error). */
  exitCode?: number
}

/** The worker's answer. Failures are values, so the pool never sees a thrown task error. */
export type RunResponse =
  | ({ status: 'ok', value: WasmResult } & RunReport)
  | ({ status: 'error', error: TaskErrorValue } & RunReport)
  | { status: 'need-module' }

type CompiledModule =
  | { abi: Exclude<AbiKind, 'component'>, module: WebAssembly.Module, summary: ModuleSummary }
  | { abi: 'component', component: PreparedComponent }

/** Per-run state reported whatever happens. */
interface RunState {
  fuel: bigint
  log: string[]
  abi?: AbiKind
  stderr?: string
  exitCode?: number
}

const cache = new Map<string, CompiledModule>()
// The forced ABI is part of the key: it decides the import allow-list the module was instrumented with.
const cacheKey = (request: RunRequest): string => `${request.moduleCid}/${request.memoryPages}/${request.abi ?? ''}`

function remember (request: RunRequest, compiled: CompiledModule): CompiledModule {
  cache.set(cacheKey(request), compiled)
  if (cache.size > WORKER_MODULE_CACHE_SIZE) cache.delete(cache.keys().next().value as string)
  return compiled
}

/** Validates and instruments the module, then compiles it. Named errors: InvalidModule, UnsupportedFeature, ForbiddenImport, LimitExceeded. */
function compile (request: RunRequest, bytes: Uint8Array): CompiledModule {
  const { moduleCid } = request
  let instrumented
  let abi: Exclude<AbiKind, 'component'>
  try {
    if (isComponent(bytes) || (request.abi === undefined || request.abi === 'component' ? hasComponentType(bytes) : false)) {
      if (request.abi !== undefined && request.abi !== 'component') {
        throw new TaskError('UnsupportedAbi', `module ${moduleCid} cannot be run with abi "${request.abi}": it is a WebAssembly component (WIT), served by abi "component"`, { module: moduleCid, abi: request.abi })
      }
      return remember(request, { abi: 'component', component: (components as typeof import('./abi/component.js')).prepareComponent(bytes, { moduleCid, memoryPages: request.memoryPages }) })
    }
    // The ABI decides which imports the sandbox allows (WASI only for commands), so it is selected first.
    const selection = selectAbi(moduleShape(bytes), moduleCid, request.abi)
    if (selection.kind === 'component') throw new TaskError('UnsupportedAbi', `module ${moduleCid} is not a component`, { module: moduleCid })
    abi = selection.kind
    instrumented = instrument(bytes, { limits: { maxMemoryPages: request.memoryPages }, allowedImports: selection.allowedImports })
  } catch (err) {
    if (err instanceof TaskError) throw err
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
  return remember(request, { module, summary: instrumented.summary, abi })
}

function lookup (request: RunRequest): CompiledModule | undefined {
  const key = cacheKey(request)
  const hit = cache.get(key)
  if (hit !== undefined) {
    // Re-insert: the Map's order is the LRU order.
    cache.delete(key)
    cache.set(key, hit)
  }
  return hit
}

/** Runs one call by the module's ABI; `state` receives the fuel used, the log and the command's stderr whatever happens. */
function execute (compiled: CompiledModule, request: RunRequest, state: RunState): WasmResult {
  if (compiled.abi === 'component') return (components as typeof import('./abi/component.js')).callComponent(compiled.component, request, state)
  const { summary, module, abi } = compiled
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
  const fuelUsed = (): bigint => metered?.fuelUsed ?? 0n
  const host = hostFunctions({ memory: () => memory, fuelUsed, seed: request.seed })
  state.log = host.log
  let wasi: WasiHost | undefined
  const imports: WebAssembly.Imports = { ...host.imports }
  if (abi === 'wasi') {
    checkCommandEntry(moduleCid, func, exported.type)
    const init = wasiInvocation(moduleCid, func, request.args)
    wasi = wasiHost(init, { memory: () => memory, nowNs: host.nowNs, elapsedNs: fuelUsed, randomFill: host.randomFill })
    Object.assign(imports, wasi.imports)
  }
  const instance = new WebAssembly.Instance(module, imports)
  metered = new MeteredInstance(instance, request.fuel > MAX_FUEL ? MAX_FUEL : request.fuel)
  const run = metered
  memory = instance.exports.memory instanceof WebAssembly.Memory ? instance.exports.memory : undefined
  const guest: Guest = { moduleCid, func, exported: { ...exported, type: exported.type }, run, memory }
  try {
    // A command's start function may call proc_exit: runCommand starts it inside its own handler.
    if (abi !== 'wasi') run.start()
    switch (abi) {
      case 'core': return callCore(guest, request.args)
      case 'ipld': return callIpld(guest, request.args)
      case 'wasi': {
        const result = runCommand(guest, wasi as WasiHost)
        state.exitCode = result.exitCode
        if (result.exitCode !== 0) throw exitCodeError(func, result.exitCode)
        return result.stdout
      }
      default: throw new TaskError('UnsupportedAbi', `module ${moduleCid}: unknown ABI ${String(abi)}`, { module: moduleCid })
    }
  } finally {
    state.fuel = run.fuelUsed
    if (wasi !== undefined) state.stderr = wasi.stderr()
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

/**
 * Piscina entry point. Synchronous, except for the first component a worker
 * sees: then it loads jco's machinery first (so workers that never run a
 * component never pay for it).
 */
export default function run (request: RunRequest): RunResponse | Promise<RunResponse> {
  if (needsComponents(request)) {
    return import('./abi/component.js').then(loaded => { components = loaded; return runLoaded(request) })
  }
  return runLoaded(request)
}

function runLoaded (request: RunRequest): RunResponse {
  const started = performance.now()
  const state: RunState = { fuel: 0n, log: [] }
  let compiledNow = false
  try {
    let compiled = lookup(request)
    if (compiled === undefined) {
      if (request.moduleBytes === undefined) return { status: 'need-module' }
      compiledNow = true
      compiled = compile(request, request.moduleBytes)
    }
    state.abi = compiled.abi
    const value = execute(compiled, request, state)
    return { status: 'ok', value, durationMs: performance.now() - started, threadId, compiled: compiledNow, ...state }
  } catch (err) {
    return { status: 'error', error: toTaskError(err, request).toValue(), durationMs: performance.now() - started, threadId, compiled: compiledNow, ...state }
  }
}
