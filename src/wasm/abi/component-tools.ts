/**
 * jco's component tooling, loaded once per worker so that it can be used
 * synchronously: the worker's `run` is synchronous (a task is one
 * uninterrupted call), and jco's public API (`transpile`, `componentWit`,
 * `componentNew` of `@bytecodealliance/jco`) is async only because it awaits
 * the initialisation of its own Wasm. This module awaits that initialisation
 * at load time (top-level await, ~70 ms) and then calls the synchronous
 * functions underneath:
 *
 * - `generate` of `@bytecodealliance/jco-transpile/component` (what jco's
 *   `transpile` calls), and
 * - `tools.componentWit` / `tools.componentNew` of jco-transpile's vendored
 *   wasm-tools (what jco's `componentWit` / `componentNew` call). That file is
 *   not in the package's `exports`, so it is located next to the exported
 *   `wasm-tools` entry point.
 *
 * jco is a dependency of ipvm; `@bytecodealliance/jco-transpile` is jco's
 * (same maintainers, same release train).
 */
import { $init as transpilerReady, generate } from '@bytecodealliance/jco-transpile/component'
import type { GenerateOptions, Transpiled } from '@bytecodealliance/jco-transpile/component'

interface WasmTools {
  componentWit: (bytes: Uint8Array) => string
  componentNew: (bytes: Uint8Array, adapters?: Array<[string, Uint8Array]>) => Uint8Array
}

const wasmToolsUrl = new URL('../vendor/wasm-tools.js', import.meta.resolve('@bytecodealliance/jco-transpile/wasm-tools'))
const wasmTools = await import(wasmToolsUrl.href) as { $init: Promise<void>, tools: WasmTools }
await Promise.all([transpilerReady, wasmTools.$init])

/** jco's transpiler, synchronous: component bytes → core modules and JS bindings. */
export function transpileComponent (bytes: Uint8Array, options: GenerateOptions): Transpiled {
  return generate(bytes, options)
}

/** The WIT world of a component, as text (`jco wit`). */
export function componentWitText (bytes: Uint8Array): string {
  return wasmTools.tools.componentWit(bytes)
}

/** A component from a core module carrying a `component-type` custom section (`jco new`). */
export function componentFromCore (bytes: Uint8Array): Uint8Array {
  return wasmTools.tools.componentNew(bytes)
}
