/**
 * The deterministic Wasm sandbox core: validation and instrumentation of
 * core WebAssembly modules so that execution in V8 is bounded (fuel, call
 * depth, memory) and reproducible bit for bit (canonical NaNs).
 *
 * @example
 * ```ts
 * import { instrument, MeteredInstance } from './wasm/meter/index.js'
 * const { bytes } = instrument(original, { limits: { maxMemoryPages: 256 } })
 * const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes))
 * const run = new MeteredInstance(instance, 1_000_000n)
 * const value = run.call('main')
 * console.log(value, run.fuelUsed)
 * ```
 *
 * @packageDocumentation
 */

export { validateModule, isImportAllowed, resolveLimits } from './validate.js'
export { instrument } from './instrument.js'
export type { InstrumentOptions, InstrumentResult, InstrumentationExports } from './instrument.js'
export type { NaNMode } from './function-rewriter.js'
export type { ModuleSummary, ImportSummary, ExportSummary, TableSummary, MemorySummary, SignatureSummary, ValueTypeName } from './summary.js'
export type { FeatureUse, ExternKind } from './module-parser.js'
export type { SandboxLimits } from './constants.js'
export {
  METERING_VERSION, DEFAULT_LIMITS, FRAME_UNIT_BYTES, RESERVED_EXPORT_PREFIX,
  FUEL_EXPORT, TRAP_REASON_EXPORT, DEPTH_EXPORT, START_EXPORT, TrapReason, MAX_FUEL,
  COUNTER_DEPTH_BITS, MAX_CALL_DEPTH_LIMIT,
  CANONICAL_NAN_F32, CANONICAL_NAN_F64
} from './constants.js'
export { DEFAULT_COST_TABLE, checkCostTable } from './cost-table.js'
export type { CostTable } from './cost-table.js'
export {
  InvalidModuleError, UnsupportedFeatureError, ForbiddenImportError, LimitExceededError,
  OutOfFuelError, StackOverflowError, TrapError, InvalidExportError
} from './errors.js'
export { MeteredInstance, exportedFunction } from './host.js'
export { wasmEngine, requireWasmEngine } from './engine.js'
export type { WasmEngine, WasmInstance, WasmModule, WasmGlobal, WasmMemory, WasmImports } from './engine.js'
