/**
 * ABI selection: which calling convention serves a module, decided once,
 * here, from what the module imports and exports. The rules, in order:
 *
 * 1. **WASI command** — the module imports from `wasi_snapshot_preview1`
 *    and exports a function `_start`. It must also export `memory`.
 * 2. **IPLD bytes** — the module exports `ipvm_alloc` (its allocator, which
 *    is also the ABI's marker) and `memory`; the called function takes the
 *    DAG-CBOR encoding of the argument list as `(ptr, len)` and returns a
 *    packed `i64` `ptr << 32 | len` of DAG-CBOR output.
 * 3. **Core** — everything else: numbers, strings and bytes as `(ptr, len)`
 *    through `alloc` (see `../abi.ts`).
 *
 * A module that declares an ABI it cannot be served by is `UnsupportedAbi`:
 * `ipvm_alloc` without `memory`, or not `(i32) -> i32`; a WASI command
 * without `memory`; a module that is both a WASI command and exports
 * `ipvm_alloc` (ambiguous). A module importing WASI without exporting
 * `_start` (a WASI reactor or library) is `ForbiddenImport`: WASI imports are
 * allowed only to commands.
 *
 * Why an export and not a custom section as the IPLD marker: every toolchain
 * can emit an export by name (AssemblyScript `export function`, Rust
 * `#[no_mangle]`, C `export_name`, WAT), exports survive `wasm-opt` and
 * `wasm-strip` (which drop custom sections), and the export is needed anyway:
 * the host must call the allocator. The `ipvm_` prefix keeps it from
 * colliding with the core ABI's `alloc`.
 */
import { TaskError } from '../../errors.js'
import { HOST_IMPORTS } from '../host-functions.js'
import { WASI_IMPORTS } from '../wasi.js'
import { IPLD_ALLOC_EXPORT, MEMORY_EXPORT, WASI_MODULE, WASI_START_EXPORT } from './constants.js'
import { parseModule } from '../meter/module-parser.js'
import type { ExportSummary, ImportSummary, SignatureSummary, ValueTypeName } from '../meter/summary.js'

/** The calling conventions ipvm serves. */
export type AbiKind = 'core' | 'ipld' | 'wasi' | 'component'

/** Every {@link AbiKind}, for validating an `abi` override. */
export const ABI_KINDS: readonly AbiKind[] = ['core', 'ipld', 'wasi', 'component']

/** What selection needs to know about a module. */
export interface ModuleShape {
  imports: ReadonlyArray<Pick<ImportSummary, 'module' | 'name' | 'kind'>>
  exports: ReadonlyArray<Pick<ExportSummary, 'name' | 'kind'> & { type?: SignatureSummary | undefined }>
}

/** The selected ABI and the imports the sandbox may link for it. */
export interface AbiSelection {
  kind: AbiKind
  /** The import allow-list for `instrument()`: the `ipvm` host, plus WASI preview 1 for commands only. */
  allowedImports: ReadonlySet<string>
}

const WASI_ALLOWED: ReadonlySet<string> = new Set([...HOST_IMPORTS, ...WASI_IMPORTS])

const sameSignature = (type: SignatureSummary | undefined, params: string[], results: string[]): boolean =>
  type !== undefined && type.params.join() === params.join() && type.results.join() === results.join()

/**
 * Selects the ABI of a module from its imports and exports. Throws
 * `TaskError('UnsupportedAbi')` or `TaskError('ForbiddenImport')` naming why.
 *
 * @example
 * ```ts
 * const { kind, allowedImports } = selectAbi(validateModule(bytes, undefined, new Set(['*'])))
 * ```
 *
 * `forced` (the task's `abi`) overrides the rules for an ambiguous module (a
 * WASI command that also exports `ipvm_alloc`, a core-ABI module that happens
 * to export `ipvm_alloc`); a module that does not meet the forced ABI's
 * contract is `UnsupportedAbi`, describing what the module looks like.
 * Components are recognised before this function (see `component.ts`).
 */
export function selectAbi (module: ModuleShape, moduleCid = 'module', forced?: AbiKind): AbiSelection {
  const exported = (name: string): ModuleShape['exports'][number] | undefined => module.exports.find(e => e.name === name)
  const memory = exported(MEMORY_EXPORT)
  const hasMemory = memory !== undefined && memory.kind === 'memory'
  const wasiImport = module.imports.find(i => i.module === WASI_MODULE)
  const start = exported(WASI_START_EXPORT)
  const alloc = exported(IPLD_ALLOC_EXPORT)
  const isCommand = wasiImport !== undefined && start !== undefined && start.kind === 'function'
  const unsupported = (why: string): never => {
    throw new TaskError('UnsupportedAbi', `module ${moduleCid} ${why}`, { module: moduleCid })
  }
  const allocOk = alloc !== undefined && alloc.kind === 'function' && (alloc.type === undefined || sameSignature(alloc.type, ['i32'], ['i32']))

  if (forced !== undefined) {
    // An override settles ambiguity; it cannot make a module fit an ABI whose contract it lacks.
    const mismatch = (needs: string): never => {
      throw new TaskError('UnsupportedAbi', `module ${moduleCid} cannot be run with abi "${forced}", which needs ${needs}; the module ${describeShape(module)}`, { module: moduleCid, abi: forced })
    }
    switch (forced) {
      case 'wasi':
        if (start === undefined || start.kind !== 'function' || !hasMemory) mismatch(`a function export \`${WASI_START_EXPORT}\` and a \`${MEMORY_EXPORT}\` export`)
        return { kind: 'wasi', allowedImports: WASI_ALLOWED }
      case 'ipld':
        if (!allocOk || !hasMemory) mismatch(`exports ${IPLD_ALLOC_EXPORT}: (i32) -> i32 and \`${MEMORY_EXPORT}\``)
        if (wasiImport !== undefined) mismatch('no WASI imports')
        return { kind: 'ipld', allowedImports: HOST_IMPORTS }
      case 'core':
        if (wasiImport !== undefined) mismatch('no WASI imports')
        return { kind: 'core', allowedImports: HOST_IMPORTS }
      case 'component':
        return mismatch('a component (or a core module with a component-type section)')
      default:
        throw new TaskError('UnsupportedAbi', `abi must be one of ${ABI_KINDS.join(', ')}, got ${String(forced)}`, { module: moduleCid })
    }
  }
  if (isCommand) {
    if (alloc !== undefined) unsupported(`is a WASI command and also exports ${IPLD_ALLOC_EXPORT}: it must declare one ABI (or the task must set abi)`)
    if (!hasMemory) unsupported(`is a WASI command but exports no \`${MEMORY_EXPORT}\``)
    return { kind: 'wasi', allowedImports: WASI_ALLOWED }
  }
  if (wasiImport !== undefined) {
    throw new TaskError('ForbiddenImport', `module ${moduleCid} imports ${wasiImport.module}.${wasiImport.name} but exports no \`${WASI_START_EXPORT}\`: only WASI commands may import WASI (reactors and libraries are not supported)`, { module: moduleCid, import: `${wasiImport.module}.${wasiImport.name}` })
  }
  if (alloc !== undefined) {
    if (!allocOk) unsupported(`exports ${IPLD_ALLOC_EXPORT}, which must be a function (i32) -> i32`)
    if (!hasMemory) unsupported(`exports ${IPLD_ALLOC_EXPORT} (the IPLD bytes ABI) but no \`${MEMORY_EXPORT}\``)
    return { kind: 'ipld', allowedImports: HOST_IMPORTS }
  }
  return { kind: 'core', allowedImports: HOST_IMPORTS }
}

/** What a module looks like, for `UnsupportedAbi` messages: its import modules and notable exports. */
export function describeShape (module: ModuleShape): string {
  const importModules = [...new Set(module.imports.map(i => i.module))]
  const functions = module.exports.filter(e => e.kind === 'function').map(e => e.name)
  const notable = [WASI_START_EXPORT, IPLD_ALLOC_EXPORT, 'alloc', 'cabi_realloc'].filter(name => functions.includes(name))
  const hasMemory = module.exports.some(e => e.name === MEMORY_EXPORT && e.kind === 'memory')
  return `is a core module that imports from ${importModules.join(', ') || '(nothing)'}, ${hasMemory ? 'exports' : 'does not export'} \`${MEMORY_EXPORT}\`, and exports ${functions.length} function${functions.length === 1 ? '' : 's'}${notable.length > 0 ? ` including ${notable.join(', ')}` : ''}`
}

const VALUE_TYPES: Record<number, ValueTypeName> = { 0x7F: 'i32', 0x7E: 'i64', 0x7D: 'f32', 0x7C: 'f64', 0x7B: 'v128', 0x70: 'funcref', 0x6F: 'externref' }

/**
 * Reads a module's imports and exports (with function signatures) without
 * scanning its code, so the ABI, and with it the import allow-list, is known
 * before `instrument()` runs. Throws the parser's named errors
 * (`InvalidModule`, `UnsupportedFeature`) on a malformed module.
 */
export function moduleShape (bytes: Uint8Array): ModuleShape {
  const parsed = parseModule(bytes)
  const signature = (functionIndex: number): SignatureSummary | undefined => {
    const type = parsed.types[parsed.functionTypes[functionIndex] ?? -1]
    if (type === undefined) return undefined
    const names = (codes: Uint8Array): ValueTypeName[] => [...codes].map(code => VALUE_TYPES[code] ?? 'externref')
    return { params: names(type.params), results: names(type.results) }
  }
  return {
    imports: parsed.imports.map(i => ({ module: i.module, name: i.name, kind: i.kind })),
    exports: parsed.exports.map(e => ({ name: e.name, kind: e.kind, type: e.kind === 'function' ? signature(e.index) : undefined }))
  }
}
