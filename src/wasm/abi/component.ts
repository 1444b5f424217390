/**
 * The component ABI: a WebAssembly component (WIT types, canonical ABI) is
 * transpiled with jco into core modules plus JavaScript bindings; every core
 * module is validated and instrumented by `instrument()` (fuel, call depth,
 * memory cap, canonical NaNs) before it is compiled; the bindings are
 * instantiated with jco's instantiation hooks, so no core module ever runs
 * uninstrumented; the task's IPLD arguments are converted to the exported
 * function's WIT parameter types and its result back (see `wit.ts`).
 *
 * Host imports (component level; anything else is `ForbiddenImport`):
 *
 * - `wasi:logging/logging` — `log(level, context, message)` appends
 *   `"level context: message"` to the task's log;
 * - `homestar:host/helpers` — `get-current-time() -> time` reads the
 *   virtual clock (`../host-functions.ts`), `print(msg)` appends to the log.
 *
 * One fuel budget covers all core instances: their fuel globals are
 * reconciled (to the lowest, since fuel only falls) at every crossing between
 * instances and JavaScript, which is exactly where instrumented code
 * publishes its counter.
 */
import { TaskError } from '../../errors.js'
import { instrument, OutOfFuelError, StackOverflowError, TrapError, MAX_FUEL, DEPTH_EXPORT, FUEL_EXPORT, TRAP_REASON_EXPORT, START_EXPORT, RESERVED_EXPORT_PREFIX, TrapReason } from '../meter/index.js'
import { hostFunctions, MAX_LOG_BYTES } from '../host-functions.js'
import { moduleShape } from './select.js'
import { componentFromCore, componentWitText, transpileComponent } from './component-tools.js'
import { WitConverter, camelCase, parseWit } from './wit.js'
import type { WitFunction, WitWorld } from './wit.js'
import type { WasmArgument, WasmResult } from '../abi.js'

/** The component-level imports the host provides (any version). */
export const COMPONENT_HOST_INTERFACES: readonly string[] = ['wasi:logging/logging', 'homestar:host/helpers']

import { isComponent } from './component-detect.js'
export { COMPONENT_TYPE_SECTION, isComponent, hasComponentType } from './component-detect.js'

type CoreInstantiate = (module: WebAssembly.Module, imports?: WebAssembly.Imports) => { exports: Record<string, unknown> }
type BindingsInstantiate = (getCoreModule: (name: string) => WebAssembly.Module, imports: Record<string, unknown>, instantiateCore: CoreInstantiate) => Record<string, unknown>

/** A component ready to run: instrumented, compiled core modules and the bindings that wire them. */
export interface PreparedComponent {
  coreModules: ReadonlyMap<string, WebAssembly.Module>
  instantiate: BindingsInstantiate
  world: WitWorld
  /** The component-level imports (interface names, without versions). */
  imports: readonly string[]
  /** The exports jco generated (camelCase names). */
  bindings: ReadonlyArray<readonly [string, string]>
}

/** Options of {@link prepareComponent}. */
export interface PrepareOptions {
  moduleCid: string
  /** Memory cap of each core module, in 64 KiB pages. */
  memoryPages: number
}

/** Turns jco's generated ES module into a function without evaluating anything but the bindings themselves. */
function loadBindings (source: string, moduleCid: string): BindingsInstantiate {
  // Instantiation-mode output imports nothing (every import arrives through `imports`) and exports
  // `instantiate` (and a `_util` object): turned into a function body it is evaluated synchronously.
  if (/^\s*import\s/m.test(source)) throw new TaskError('UnsupportedFeature', `component ${moduleCid}: jco's bindings import modules`, { module: moduleCid, feature: 'component-model' })
  const body = source
    .replace(/^export function instantiate\(/m, 'function instantiate(')
    .replace(/^export const _util\b/m, 'const _util')
  if (/^export\s/m.test(body)) throw new TaskError('UnsupportedFeature', `component ${moduleCid}: unexpected exports in jco's bindings`, { module: moduleCid, feature: 'component-model' })
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(`'use strict';\n${body}\nreturn instantiate`)() as BindingsInstantiate
}

/**
 * Transpiles a component (or a wit-bindgen core module carrying a
 * `component-type` section) with jco and instruments and compiles each of its
 * core modules. Throws named task errors: `ForbiddenImport` for an import
 * the host does not provide, `UnsupportedFeature`, `InvalidModule`, and the
 * sandbox's (`LimitExceeded`, …) through `instrument()`.
 */
export function prepareComponent (original: Uint8Array, options: PrepareOptions): PreparedComponent {
  const { moduleCid } = options
  let bytes = original
  let transpiled
  let witText
  try {
    if (!isComponent(bytes)) bytes = componentFromCore(bytes)
    transpiled = transpileComponent(bytes, { name: 'component', instantiation: { tag: 'sync' }, noTypescript: true, noNodejsCompat: true, base64Cutoff: 0, tracing: false, noComponentErrorWrapping: false })
    witText = componentWitText(bytes)
  } catch (err) {
    throw new TaskError('InvalidModule', `component ${moduleCid} cannot be transpiled: ${(err as Error).message.split('\n').join(' ')}`, { module: moduleCid })
  }
  const imports = transpiled.imports.map(name => name.replace(/@[^/]*$/, ''))
  const forbidden = imports.find(name => !COMPONENT_HOST_INTERFACES.includes(name))
  if (forbidden !== undefined) {
    throw new TaskError('ForbiddenImport', `component ${moduleCid} imports ${forbidden}; the host provides only ${COMPONENT_HOST_INTERFACES.join(', ')}`, { module: moduleCid, import: forbidden })
  }
  const files = new Map(transpiled.files)
  const coreModules = new Map<string, WebAssembly.Module>()
  let source: string | undefined
  for (const [name, content] of files) {
    if (name.endsWith('.js')) source = new TextDecoder().decode(content)
    if (!name.endsWith('.wasm')) continue
    // A core module's imports are wired by the bindings to other (instrumented) core modules or to the
    // host interfaces checked above, so each may import exactly what it declares.
    const allowedImports = new Set(moduleShape(content).imports.map(i => `${i.module}.${i.name}`))
    const instrumented = instrument(content, { limits: { maxMemoryPages: options.memoryPages }, allowedImports })
    try {
      coreModules.set(name, new WebAssembly.Module(instrumented.bytes as Uint8Array<ArrayBuffer>))
    } catch (err) {
      throw new TaskError('InvalidModule', `component ${moduleCid}: core module ${name} does not compile: ${(err as Error).message}`, { module: moduleCid })
    }
  }
  if (source === undefined) throw new TaskError('InvalidModule', `component ${moduleCid}: jco produced no bindings`, { module: moduleCid })
  const world = parseWit(witText)
  if (world.functions.length === 0) {
    // Interface exports (`export wasi:cli/run`, `export my:pkg/api`) are not served yet: only world-level functions.
    const exported = transpiled.exports.map(([name, kind]) => `${name} (${kind})`).join(', ') || 'nothing'
    throw new TaskError('UnsupportedFeature', `component ${moduleCid} exports no world-level function (it exports ${exported}); the component ABI calls world-level functions only`, { module: moduleCid, feature: 'component-model' })
  }
  return { coreModules, instantiate: loadBindings(source, moduleCid), world, imports, bindings: transpiled.exports }
}

/** Finds the exported function for a task's `func`: exact, `_` ↔ `-`, or camelCase. */
export function findComponentExport (world: WitWorld, func: string): WitFunction | undefined {
  const candidates = [func, func.replaceAll('_', '-'), func.replaceAll('-', '_')]
  return world.functions.find(f => candidates.includes(f.name)) ?? world.functions.find(f => camelCase(f.name) === func)
}

/** One call of a component export. */
export interface ComponentCall {
  moduleCid: string
  func: string
  args: WasmArgument[]
  fuel: bigint
  /** Seed of the deterministic random stream (unused by the current host interfaces, kept for parity). */
  seed: Uint8Array
}

/** What a component call reports besides its value, whatever happens. */
export interface ComponentRunState {
  fuel: bigint
  log: string[]
}

interface MeteredCore {
  fuel: WebAssembly.Global
  depth: WebAssembly.Global
  trap: WebAssembly.Global
}

/**
 * Shares one fuel budget (and one call-depth budget) between the core
 * instances of a component. Instrumented code publishes its counter to its
 * instance's globals whenever control leaves it (export returns, import
 * calls), so at every crossing the lowest fuel global is the budget left.
 */
class SharedMeter {
  private readonly cores: MeteredCore[] = []
  private nesting = 0
  constructor (readonly limit: bigint) {}

  private remaining (): bigint {
    let lowest = this.limit
    for (const core of this.cores) if ((core.fuel.value as bigint) < lowest) lowest = core.fuel.value as bigint
    return lowest
  }

  get fuelUsed (): bigint {
    return this.limit - this.remaining()
  }

  /** Registers an instance and wraps its function exports so every entry reconciles the budget. */
  adopt (instance: WebAssembly.Instance): Record<string, unknown> {
    const global = (name: string): WebAssembly.Global => {
      const value = instance.exports[name]
      if (!(value instanceof WebAssembly.Global)) throw new TaskError('InvalidModule', `a core module of the component lacks ${name}: was it instrumented?`)
      return value
    }
    const core: MeteredCore = { fuel: global(FUEL_EXPORT), depth: global(DEPTH_EXPORT), trap: global(TRAP_REASON_EXPORT) }
    core.fuel.value = this.remaining()
    this.cores.push(core)
    const exports: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(instance.exports)) {
      if (name.startsWith(RESERVED_EXPORT_PREFIX)) continue
      exports[name] = typeof value === 'function' ? this.wrap(core, value as (...args: unknown[]) => unknown) : value
    }
    const start = instance.exports[START_EXPORT]
    if (typeof start === 'function') this.wrap(core, start as () => unknown)()
    return exports
  }

  private wrap (core: MeteredCore, fn: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
    return (...args: unknown[]): unknown => {
      if (this.nesting === 0) for (const c of this.cores) { c.depth.value = 0; c.trap.value = 0 }
      const remaining = this.remaining()
      const depths = this.cores.map(c => c.depth.value as number)
      for (const c of this.cores) c.fuel.value = remaining
      core.depth.value = Math.max(...depths)
      this.nesting++
      try {
        return fn(...args)
      } catch (err) {
        throw this.nesting === 1 ? this.classify(err) : err
      } finally {
        this.nesting--
        const left = this.remaining()
        this.cores.forEach((c, index) => { c.fuel.value = left; c.depth.value = depths[index] as number })
      }
    }
  }

  private classify (err: unknown): unknown {
    const reasons = this.cores.map(c => c.trap.value as number)
    const exhaust = (): void => { for (const c of this.cores) c.fuel.value = 0n }
    if (reasons.includes(TrapReason.OutOfFuel)) { exhaust(); return new OutOfFuelError(this.limit) }
    if (reasons.includes(TrapReason.StackOverflow)) return new StackOverflowError(this.fuelUsed)
    if (err instanceof WebAssembly.RuntimeError) { exhaust(); return new TrapError(err.message, this.limit, err) }
    return err
  }
}

/** The host side of `wasi:logging/logging` and `homestar:host/helpers`. */
function hostInterfaces (meter: () => SharedMeter | undefined, seed: Uint8Array, log: string[]): Record<string, unknown> {
  const host = hostFunctions({ memory: () => undefined, fuelUsed: () => meter()?.fuelUsed ?? 0n, seed })
  let logBytes = 0
  const append = (line: string): void => {
    if (logBytes >= MAX_LOG_BYTES) return
    const room = MAX_LOG_BYTES - logBytes
    const kept = line.length > room ? line.slice(0, room) + ' [log truncated]' : line
    logBytes += Math.min(line.length, room)
    log.push(kept)
  }
  return {
    'wasi:logging/logging': {
      log: (level: string, context: string, message: string): void => append(`${level}${context === '' ? '' : ' ' + context}: ${message}`)
    },
    'homestar:host/helpers': {
      getCurrentTime: (): { seconds: bigint, milliseconds: number, nanoseconds: number } => {
        const ns = host.nowNs()
        return { seconds: ns / 1_000_000_000n, milliseconds: Number((ns / 1_000_000n) % 1000n), nanoseconds: Number(ns % 1_000_000_000n) }
      },
      print: (message: string): void => append(message)
    }
  }
}

const takes = (func: WitFunction): string => `${func.signature} takes ${func.params.length} argument${func.params.length === 1 ? '' : 's'}`

/** A component instantiated for one task: its bindings, one fuel budget, the log. */
export interface ComponentInstance {
  /** Calls an export with IPLD arguments (see {@link callComponent} for the errors). */
  invoke: (func: string, args: WasmArgument[]) => WasmResult
  /** Fuel used so far by all core instances together. */
  readonly fuelUsed: bigint
  /** What the component logged. */
  readonly log: string[]
}

/**
 * Instantiates a prepared component: fresh core instances (each through the
 * sandbox, its start function metered), one fuel budget, the host
 * interfaces. Most callers want {@link callComponent}; this is for calling
 * several exports of one instance (benchmarks).
 */
export function instantiateComponent (prepared: PreparedComponent, options: { moduleCid: string, fuel: bigint, seed: Uint8Array }): ComponentInstance {
  const { moduleCid } = options
  const meter = new SharedMeter(options.fuel > MAX_FUEL ? MAX_FUEL : options.fuel)
  const log: string[] = []
  const imports = hostInterfaces(() => meter, options.seed, log)
  const getCoreModule = (name: string): WebAssembly.Module => {
    const module = prepared.coreModules.get(name)
    if (module === undefined) throw new TaskError('InvalidModule', `component ${moduleCid}: the bindings ask for a core module ${name} that was not instrumented`, { module: moduleCid })
    return module
  }
  const instantiateCore: CoreInstantiate = (module, coreImports) => ({ exports: meter.adopt(new WebAssembly.Instance(module, coreImports)) })
  const bound = prepared.instantiate(getCoreModule, imports, instantiateCore)
  const converter = new WitConverter(prepared.world.types)

  const invoke = (func: string, args: WasmArgument[]): WasmResult => {
    const target = findComponentExport(prepared.world, func)
    if (target === undefined) {
      throw new TaskError('ExportNotFound', `component ${moduleCid} has no export ${func}; its functions are: ${componentSignatures(prepared) || '(none)'}`, { module: moduleCid, func })
    }
    if (args.length !== target.params.length) throw new TaskError('ArgumentError', `${takes(target)}, got ${args.length}`, { func, signature: target.signature })
    let guestArgs: unknown[]
    try {
      guestArgs = target.params.map(([name, type], index) => converter.toGuest(type, args[index], name))
    } catch (err) {
      if (err instanceof TaskError && err.name === 'ArgumentError') throw new TaskError('ArgumentError', `${target.signature}: ${err.message}`, { func, signature: target.signature })
      throw err
    }
    const fn = bound[camelCase(target.name)]
    if (typeof fn !== 'function') throw new TaskError('ExportNotFound', `component ${moduleCid}: ${target.name} is not a function of its bindings`, { module: moduleCid, func })
    const resultType = target.result
    // A top-level `result`: jco returns the `ok` value and throws a ComponentError carrying the `err` payload.
    const topLevelResult = resultType?.kind === 'result'
    let returned: unknown
    try {
      returned = (fn as (...args: unknown[]) => unknown)(...guestArgs)
      if (topLevelResult) returned = { tag: 'ok', val: returned }
    } catch (err) {
      // (jco's class sets no `name`: it is recognised by its constructor and its `payload`.)
      if (!topLevelResult || !(err instanceof Error) || err.constructor.name !== 'ComponentError' || !('payload' in err)) throw err
      returned = { tag: 'err', val: (err as { payload: unknown }).payload }
    }
    if (resultType === undefined) return null
    const value = converter.fromGuest(resultType, returned, target.name)
    if (!topLevelResult || value === null || typeof value !== 'object') return value
    if ('err' in value) {
      const shown = JSON.stringify(value.err, (_, v: unknown) => typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? `<${v.byteLength} bytes>` : v)
      throw new TaskError('ComponentError', `${target.name} returned err: ${shown}`, { func, payload: value.err, signature: target.signature })
    }
    return (value as { ok: WasmResult }).ok
  }
  return { invoke, log, get fuelUsed () { return meter.fuelUsed } }
}

/**
 * Instantiates a prepared component (fresh instances, one fuel budget) and
 * calls `call.func` with the IPLD `args` converted to its WIT parameters;
 * the function's `ok` value is the result. Named errors: `ExportNotFound`,
 * `ArgumentError` (showing the WIT signature), `ComponentError` (the function
 * returned `err`; `payload` holds it), `InvalidOutput`,
 * `UnrepresentableResult`, and the sandbox's `OutOfFuel`, `StackOverflow`,
 * `Trap`. `state` receives the fuel used and the log whatever happens.
 */
export function callComponent (prepared: PreparedComponent, call: ComponentCall, state: ComponentRunState): WasmResult {
  let instance: ComponentInstance | undefined
  try {
    instance = instantiateComponent(prepared, call)
    state.log = instance.log
    return instance.invoke(call.func, call.args)
  } finally {
    if (instance !== undefined) state.fuel = instance.fuelUsed
  }
}

/** The WIT signatures of a prepared component's exports, for messages. */
export function componentSignatures (prepared: PreparedComponent): string {
  return prepared.world.functions.map(f => f.signature).join('; ')
}

