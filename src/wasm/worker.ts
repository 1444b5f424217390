/**
 * The Piscina worker that runs `wasm/run` tasks. Modules are compiled once
 * per worker and kept by CID; the main thread sends a module's bytes only the
 * first time, and again when this worker answers `need-module`.
 */
import { performance } from 'node:perf_hooks'
import { TaskError } from '../errors.js'
import { WORKER_MODULE_CACHE_SIZE } from '../constants.js'
import { readModuleInfo, findExport, ModuleFormatError } from './module-info.js'
import { toWasmParams, fromWasmResults } from './abi.js'
import type { TaskErrorValue } from '../errors.js'
import type { ModuleInfo } from './module-info.js'
import type { WasmArgument, WasmResult } from './abi.js'

/** A task for the worker. */
export interface RunRequest {
  moduleCid: string
  /** The module's bytes; omitted when the main thread expects this worker to have it cached. */
  moduleBytes?: Uint8Array
  func: string
  args: WasmArgument[]
}

/** The worker's answer. Failures are values, so the pool never sees a thrown task error. */
export type RunResponse =
  | { status: 'ok', value: WasmResult, durationMs: number }
  | { status: 'error', error: TaskErrorValue, durationMs: number }
  | { status: 'need-module' }

interface CompiledModule {
  module: WebAssembly.Module
  info: ModuleInfo
}

const cache = new Map<string, CompiledModule>()

function compile (cid: string, bytes: Uint8Array): CompiledModule {
  let info: ModuleInfo
  try {
    info = readModuleInfo(bytes)
  } catch (err) {
    if (err instanceof ModuleFormatError) throw new TaskError('InvalidModule', `module ${cid} is not a valid core WebAssembly module: ${err.message}`, { module: cid })
    throw err
  }
  let module: WebAssembly.Module
  try {
    module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>)
  } catch (err) {
    throw new TaskError('InvalidModule', `module ${cid} does not compile: ${(err as Error).message}`, { module: cid })
  }
  const compiled = { module, info }
  cache.set(cid, compiled)
  if (cache.size > WORKER_MODULE_CACHE_SIZE) cache.delete(cache.keys().next().value as string)
  return compiled
}

function lookup (cid: string): CompiledModule | undefined {
  const hit = cache.get(cid)
  if (hit !== undefined) {
    // Re-insert: the Map's order is the LRU order.
    cache.delete(cid)
    cache.set(cid, hit)
  }
  return hit
}

function execute (compiled: CompiledModule, request: RunRequest): WasmResult {
  const { info, module } = compiled
  const { func, moduleCid } = request
  const exported = findExport(info, func)
  if (exported === undefined) {
    const functions = [...info.exports.values()].filter(e => e.kind === 'func').map(e => e.name)
    throw new TaskError('ExportNotFound', `module ${moduleCid} has no export ${func}; its functions are: ${functions.join(', ') || '(none)'}`, { module: moduleCid, func })
  }
  if (exported.kind !== 'func' || exported.type === undefined) {
    throw new TaskError('ExportNotFound', `export ${exported.name} of module ${moduleCid} is a ${exported.kind}, not a function`, { module: moduleCid, func })
  }
  if (info.imports.length > 0) {
    const names = info.imports.map(i => `${i.module}.${i.name}`)
    throw new TaskError('UnsupportedImport', `module ${moduleCid} imports ${names.join(', ')}; ipvm provides no host functions to core modules yet`, { module: moduleCid, imports: names })
  }
  const instance = new WebAssembly.Instance(module, {})
  const exports = instance.exports
  const memory = exports.memory
  const alloc = exports.alloc
  const writeBytes = memory instanceof WebAssembly.Memory && typeof alloc === 'function'
    ? (bytes: Uint8Array, index: number): [number, number] => {
        const ptr = (alloc as (len: number) => number)(bytes.byteLength) >>> 0
        if (ptr + bytes.byteLength > memory.buffer.byteLength) {
          throw new TaskError('ArgumentError', `alloc(${bytes.byteLength}) returned ${ptr}, outside the module's memory, for argument ${index}`, { func })
        }
        new Uint8Array(memory.buffer, ptr, bytes.byteLength).set(bytes)
        return [ptr, bytes.byteLength]
      }
    : undefined
  const params = toWasmParams(func, exported.type, request.args, writeBytes)
  const fn = exports[exported.name] as (...args: unknown[]) => unknown
  return fromWasmResults(func, exported.type, fn(...params))
}

/** Maps what the engine threw to a named task error. */
function toTaskError (err: unknown, request: RunRequest): TaskError {
  if (err instanceof TaskError) return err
  const error = err as Error
  if (error instanceof WebAssembly.RuntimeError) {
    return new TaskError('Trap', `${request.func} trapped: ${error.message}`, { func: request.func })
  }
  if (error instanceof WebAssembly.LinkError) {
    return new TaskError('UnsupportedImport', `module ${request.moduleCid} cannot be linked: ${error.message}`, { module: request.moduleCid })
  }
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return new TaskError('StackOverflow', `${request.func} overflowed the call stack`, { func: request.func })
  }
  return new TaskError('Trap', `${request.func} failed: ${error?.message ?? String(err)}`, { func: request.func })
}

/** Piscina entry point. */
export default function run (request: RunRequest): RunResponse {
  const started = performance.now()
  try {
    let compiled = lookup(request.moduleCid)
    if (compiled === undefined) {
      if (request.moduleBytes === undefined) return { status: 'need-module' }
      compiled = compile(request.moduleCid, request.moduleBytes)
    }
    const value = execute(compiled, request)
    return { status: 'ok', value, durationMs: performance.now() - started }
  } catch (err) {
    return { status: 'error', error: toTaskError(err, request).toValue(), durationMs: performance.now() - started }
  }
}
