/**
 * Named defaults of the Wasm sandbox: resource limits, the reserved export
 * names through which the host drives an instrumented module, and the trap
 * reason codes. Changing any value here changes instrumented bytes (and so
 * fuel figures): bump {@link METERING_VERSION} when you do.
 */

/**
 * Version of the instrumentation scheme (cost table, block layout, limits
 * encoding). Two nodes agree on fuel figures only if they use the same
 * version; record it beside fuel in receipts.
 */
export const METERING_VERSION = 1

/** Static limits checked before a module runs. Every field has a documented default below. */
export interface SandboxLimits {
  /** Largest module accepted, in bytes. @default {@link DEFAULT_MAX_MODULE_BYTES} */
  maxModuleBytes: number
  /** Most functions (imported + defined). @default {@link DEFAULT_MAX_FUNCTIONS} */
  maxFunctions: number
  /** Largest table (initial size, and the cap on growth), and most items in one element segment. @default {@link DEFAULT_MAX_TABLE_ELEMENTS} */
  maxTableElements: number
  /** Most bytes over all data segments. @default {@link DEFAULT_MAX_DATA_BYTES} */
  maxDataBytes: number
  /** Memory cap in 64 KiB pages: the declared maximum is clamped to it and `memory.grow` past it returns -1. @default {@link DEFAULT_MAX_MEMORY_PAGES} */
  maxMemoryPages: number
  /** Call-depth budget in frame units of {@link FRAME_UNIT_BYTES} (a small function costs one unit). @default {@link DEFAULT_MAX_CALL_DEPTH} */
  maxCallDepth: number
  /** Most locals (parameters included) in one function. @default {@link DEFAULT_MAX_LOCALS_PER_FUNCTION} */
  maxLocalsPerFunction: number
  /** Most globals (imported + defined). @default {@link DEFAULT_MAX_GLOBALS} */
  maxGlobals: number
  /** Most imports. @default {@link DEFAULT_MAX_IMPORTS} */
  maxImports: number
  /** Most exports. @default {@link DEFAULT_MAX_EXPORTS} */
  maxExports: number
  /** Most entries in the type section. @default {@link DEFAULT_MAX_TYPES} */
  maxTypes: number
  /** Most data segments. @default {@link DEFAULT_MAX_DATA_SEGMENTS} */
  maxDataSegments: number
  /** Most element segments. @default {@link DEFAULT_MAX_ELEMENT_SEGMENTS} */
  maxElementSegments: number
  /** Largest single function body, in bytes. @default {@link DEFAULT_MAX_FUNCTION_BODY_BYTES} */
  maxFunctionBodyBytes: number
}

/** 16 MiB: larger than any guest we expect, small enough to parse in well under a second. */
export const DEFAULT_MAX_MODULE_BYTES = 16 * 1024 * 1024
/** 100 000 functions (V8's own limit is 1 000 000). */
export const DEFAULT_MAX_FUNCTIONS = 100_000
/** 100 000 table elements (V8 allows 10 000 000, i.e. 80 MB of table). */
export const DEFAULT_MAX_TABLE_ELEMENTS = 100_000
/** 16 MiB of data segments. */
export const DEFAULT_MAX_DATA_BYTES = 16 * 1024 * 1024
/** 2048 pages = 128 MiB of linear memory. */
export const DEFAULT_MAX_MEMORY_PAGES = 2048
/**
 * Size of one call-depth unit. A function's frame is estimated as
 * `48 + 8 × (params + locals + max operand stack height)` bytes (measured on
 * Node 20 with Liftoff, whose frames are the larger: 56 bytes for a
 * one-parameter function, 8 more per local) and each call charges
 * `ceil(estimate / FRAME_UNIT_BYTES)` units; small functions cost one unit.
 */
export const FRAME_UNIT_BYTES = 128
/**
 * 4096 units × 128 bytes = 512 KiB of estimated frames: half of V8's 984 KiB
 * main-thread stack, so the deterministic limit always trips before V8's own
 * `RangeError` (which depends on how much stack the host already uses).
 * Worker threads get 4 MiB by default and have even more margin.
 */
export const DEFAULT_MAX_CALL_DEPTH = 4096
/** 10 000 locals per function (V8 allows 50 000; big frames also weigh more call-depth units). */
export const DEFAULT_MAX_LOCALS_PER_FUNCTION = 10_000
/** 10 000 globals. */
export const DEFAULT_MAX_GLOBALS = 10_000
/** 1 000 imports. */
export const DEFAULT_MAX_IMPORTS = 1_000
/** 10 000 exports. */
export const DEFAULT_MAX_EXPORTS = 10_000
/** 10 000 types. */
export const DEFAULT_MAX_TYPES = 10_000
/** 10 000 data segments. */
export const DEFAULT_MAX_DATA_SEGMENTS = 10_000
/** 10 000 element segments. */
export const DEFAULT_MAX_ELEMENT_SEGMENTS = 10_000
/** 1 MiB per function body (V8 allows 7 654 321 bytes). */
export const DEFAULT_MAX_FUNCTION_BODY_BYTES = 1024 * 1024

/** All default limits together. */
export const DEFAULT_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  maxModuleBytes: DEFAULT_MAX_MODULE_BYTES,
  maxFunctions: DEFAULT_MAX_FUNCTIONS,
  maxTableElements: DEFAULT_MAX_TABLE_ELEMENTS,
  maxDataBytes: DEFAULT_MAX_DATA_BYTES,
  maxMemoryPages: DEFAULT_MAX_MEMORY_PAGES,
  maxCallDepth: DEFAULT_MAX_CALL_DEPTH,
  maxLocalsPerFunction: DEFAULT_MAX_LOCALS_PER_FUNCTION,
  maxGlobals: DEFAULT_MAX_GLOBALS,
  maxImports: DEFAULT_MAX_IMPORTS,
  maxExports: DEFAULT_MAX_EXPORTS,
  maxTypes: DEFAULT_MAX_TYPES,
  maxDataSegments: DEFAULT_MAX_DATA_SEGMENTS,
  maxElementSegments: DEFAULT_MAX_ELEMENT_SEGMENTS,
  maxFunctionBodyBytes: DEFAULT_MAX_FUNCTION_BODY_BYTES
})

/** Export names starting with this prefix are reserved for the instrumentation; a guest may not use them. */
export const RESERVED_EXPORT_PREFIX = '__ipvm_'
/** Mutable i64 global: remaining fuel. The host writes the limit before a call and reads the remainder after. */
export const FUEL_EXPORT = '__ipvm_fuel'
/** Mutable i32 global: why the instrumentation trapped (a {@link TrapReason}); 0 after a guest's own trap. */
export const TRAP_REASON_EXPORT = '__ipvm_trap_reason'
/** Mutable i32 global: current call depth in frame units. The host sets it to 0 before each call from outside. */
export const DEPTH_EXPORT = '__ipvm_depth'
/**
 * The module's start function, turned into an export: the host sets the fuel
 * and calls it right after instantiation, so the start function is metered
 * from the same budget and an out-of-fuel in it can be told apart (a trap in a
 * real start function would abort instantiation and hide the globals).
 */
export const START_EXPORT = '__ipvm_start'

/**
 * Inside instrumented code, fuel and call depth travel together in one i64
 * "counter" passed to every function as an extra last parameter and handed
 * back as an extra last result, so they stay in registers (a global costs
 * a store→load dependency through memory on every call: 2.3× on recursive
 * code, against 1.01–1.08× for the counter). Layout:
 * `counter = remainingFuel << COUNTER_DEPTH_BITS | remainingDepthUnits`,
 * with bit `COUNTER_DEPTH_BITS - 1` a guard that a depth underflow sets.
 */
export const COUNTER_DEPTH_BITS = 16
/** Largest call-depth budget the counter can hold (15 bits). */
export const MAX_CALL_DEPTH_LIMIT = (1 << (COUNTER_DEPTH_BITS - 1)) - 1
/** Largest fuel budget the counter can hold: 2^47 − 1 (about 1.4 × 10^14 units). Larger limits are clamped. */
export const MAX_FUEL = (1n << BigInt(63 - COUNTER_DEPTH_BITS)) - 1n

/** Values of the {@link TRAP_REASON_EXPORT} global. */
export const TrapReason = Object.freeze({
  /** No instrumentation trap: either no trap, or the guest trapped by itself. */
  None: 0,
  /** The fuel ran out; the fuel global was set to 0. */
  OutOfFuel: 1,
  /** The call-depth budget ran out. */
  StackOverflow: 2
} as const)

/** One of the {@link TrapReason} values. */
export type TrapReason = typeof TrapReason[keyof typeof TrapReason]

/** Canonical f32 NaN bit pattern (positive quiet NaN, zero payload). */
export const CANONICAL_NAN_F32 = 0x7FC00000
/** Canonical f64 NaN bit pattern (positive quiet NaN, zero payload). */
export const CANONICAL_NAN_F64 = 0x7FF8000000000000n
