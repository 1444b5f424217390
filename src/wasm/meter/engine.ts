/**
 * Minimal typings for the parts of the engine's `WebAssembly` namespace this
 * package uses. The project compiles without the DOM library, so the global
 * is not declared; these module-local types avoid declaring it globally
 * (which could clash with another part of the project doing the same).
 */

/** A `WebAssembly.Global`. */
export interface WasmGlobal {
  /** Current value (a `bigint` for i64 globals). */
  value: unknown
}

/** A `WebAssembly.Memory`. */
export interface WasmMemory {
  /** The memory's current buffer. */
  readonly buffer: ArrayBuffer
  /** Grows by `delta` pages; returns the old size in pages. */
  grow (delta: number): number
}

/** A compiled `WebAssembly.Module` (opaque here). */
export interface WasmModule {
  /** Brand: compiled modules are opaque. */
  readonly [Symbol.toStringTag]: string
}

/** A `WebAssembly.Instance`. */
export interface WasmInstance {
  /** The instance's exports. */
  readonly exports: Record<string, unknown>
}

/** Import object: module name → field name → value. */
export type WasmImports = Record<string, Record<string, unknown>>

/** The subset of the `WebAssembly` namespace used by ipvm's sandbox. */
export interface WasmEngine {
  /** `WebAssembly.validate`. */
  validate (bytes: Uint8Array): boolean
  /** `WebAssembly.Module`. */
  Module: new (bytes: Uint8Array) => WasmModule
  /** `WebAssembly.Instance`. */
  Instance: new (module: WasmModule, imports?: WasmImports) => WasmInstance
  /** `WebAssembly.Global`. */
  Global: new (descriptor: { value: string, mutable?: boolean }, value?: unknown) => WasmGlobal
  /** `WebAssembly.Memory`. */
  Memory: new (descriptor: { initial: number, maximum?: number }) => WasmMemory
  /** `WebAssembly.RuntimeError` (traps). */
  RuntimeError: new (message?: string) => Error
  /** `WebAssembly.CompileError`. */
  CompileError: new (message?: string) => Error
}

/** The engine's `WebAssembly` namespace, or `undefined` in a runtime without one. */
export const wasmEngine: WasmEngine | undefined = (globalThis as unknown as { WebAssembly?: WasmEngine }).WebAssembly

/** The engine's `WebAssembly` namespace; throws when the runtime has none. */
export function requireWasmEngine (): WasmEngine {
  if (wasmEngine === undefined) throw new Error('this JavaScript runtime has no WebAssembly support')
  return wasmEngine
}
