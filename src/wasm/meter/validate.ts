/**
 * Module validation: structure and features (our parser and scanner), the
 * static {@link SandboxLimits}, the import allow-list, and finally the
 * engine's own validator for typing rules.
 */

import { DEFAULT_LIMITS, MAX_CALL_DEPTH_LIMIT, RESERVED_EXPORT_PREFIX } from './constants.js'
import type { SandboxLimits } from './constants.js'
import { scanFunctions } from './code-scanner.js'
import type { CostTable } from './cost-table.js'
import type { FunctionInfo } from './code-scanner.js'
import { wasmEngine } from './engine.js'
import { ForbiddenImportError, InvalidModuleError, LimitExceededError } from './errors.js'
import { parseModule } from './module-parser.js'
import type { ParsedModule } from './module-parser.js'
import { summarize } from './summary.js'
import type { ModuleSummary } from './summary.js'

/** A module that passed validation, with what the rewriter needs. */
export interface AnalyzedModule {
  /** Section-level parse. */
  module: ParsedModule
  /** Per defined function facts. */
  functions: FunctionInfo[]
  /** Public summary. */
  summary: ModuleSummary
  /** Limits in force. */
  limits: SandboxLimits
}

/**
 * Fills in defaults and checks that every limit is a non-negative safe
 * integer. Throws a `RangeError` naming the bad option.
 */
export function resolveLimits (limits?: Partial<SandboxLimits>): SandboxLimits {
  const resolved: SandboxLimits = { ...DEFAULT_LIMITS }
  if (limits === undefined) return resolved
  for (const key of Object.keys(DEFAULT_LIMITS) as Array<keyof SandboxLimits>) {
    const value = limits[key]
    if (value === undefined) continue
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`limits.${key} must be a non-negative integer, got ${String(value)}`)
    resolved[key] = value
  }
  if (resolved.maxMemoryPages > 65536) throw new RangeError('limits.maxMemoryPages must be at most 65536 (4 GiB)')
  if (resolved.maxCallDepth > MAX_CALL_DEPTH_LIMIT) throw new RangeError(`limits.maxCallDepth must be at most ${MAX_CALL_DEPTH_LIMIT}`)
  if (resolved.maxTableElements > 10_000_000) throw new RangeError('limits.maxTableElements must be at most 10 000 000 (the engine limit)')
  // The instrumentation adds a few locals per function, doubles function bodies at worst, and adds
  // one function per import and export: stay within V8's limits (50 000 locals, 7 654 321-byte
  // bodies, 1 000 000 functions).
  if (resolved.maxLocalsPerFunction > 49_990) throw new RangeError('limits.maxLocalsPerFunction must be at most 49 990')
  if (resolved.maxFunctionBodyBytes > 2_500_000) throw new RangeError('limits.maxFunctionBodyBytes must be at most 2 500 000')
  if (resolved.maxFunctions + resolved.maxImports + resolved.maxExports > 1_000_000) throw new RangeError('limits.maxFunctions + maxImports + maxExports must be at most 1 000 000')
  return resolved
}

/** True when `allowed` admits the import `module.name` (exact, or `module.*`). */
export function isImportAllowed (allowed: ReadonlySet<string>, module: string, name: string): boolean {
  return allowed.has(`${module}.${name}`) || allowed.has(`${module}.*`)
}

function check (limit: keyof SandboxLimits, value: number, limits: SandboxLimits, what: string): void {
  if (value > limits[limit]) throw new LimitExceededError(limit, value, limits[limit], what)
}

/** Options of {@link analyzeModule}. */
export interface AnalyzeOptions {
  /** Limits (already resolved). */
  limits: SandboxLimits
  /** Allowed imports; every import must be listed. */
  allowedImports: ReadonlySet<string>
  /** Run the engine's validator too. */
  engineValidation: boolean
  /** When given, compute the fuel of every metered block with this table. */
  costs?: CostTable | undefined
}

/** Parses, scans and checks a module. See {@link validateModule}. */
export function analyzeModule (bytes: Uint8Array, options: AnalyzeOptions): AnalyzedModule {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('module bytes must be a Uint8Array')
  const limits = options.limits
  check('maxModuleBytes', bytes.length, limits, 'module size')
  const module = parseModule(bytes)

  check('maxTypes', module.types.length, limits, 'type count')
  check('maxImports', module.imports.length, limits, 'import count')
  check('maxFunctions', module.functionTypes.length, limits, 'function count')
  check('maxGlobals', module.globalTypes.length, limits, 'global count')
  check('maxExports', module.exports.length, limits, 'export count')
  for (const table of module.tables) check('maxTableElements', table.min, limits, 'table initial size')
  check('maxTableElements', module.largestElementSegment, limits, 'element segment size')
  check('maxElementSegments', module.elementSegments, limits, 'element segment count')
  if (module.memory !== undefined) check('maxMemoryPages', module.memory.min, limits, 'initial memory pages')
  check('maxDataSegments', module.dataSegments, limits, 'data segment count')
  check('maxDataBytes', module.dataBytes, limits, 'data segment bytes')

  for (const entry of module.exports) {
    if (entry.name.startsWith(RESERVED_EXPORT_PREFIX)) throw new InvalidModuleError(`export name "${entry.name}" uses the reserved prefix ${RESERVED_EXPORT_PREFIX}`, -1)
  }
  for (const entry of module.imports) {
    if (!isImportAllowed(options.allowedImports, entry.module, entry.name)) throw new ForbiddenImportError(entry.module, entry.name, entry.kind)
  }

  for (const type of module.types) {
    // The counter adds a parameter and a result; V8 allows 1000 of each.
    if (type.params.length >= 1000 || type.results.length >= 1000) throw new InvalidModuleError('a function type has 1000 or more parameters or results, which cannot be instrumented', -1)
  }
  const functions = scanFunctions(module, limits, options.costs)

  if (options.engineValidation && wasmEngine !== undefined && !wasmEngine.validate(bytes)) {
    let message = 'rejected by the engine validator'
    let offset = -1
    try {
      void new wasmEngine.Module(bytes)
    } catch (err) {
      message = (err as Error).message.replace(/^WebAssembly\.Module\(\): /, '')
      const match = /@\+(\d+)/.exec(message)
      if (match?.[1] !== undefined) offset = Number(match[1])
    }
    throw new InvalidModuleError(message, offset)
  }

  let maxFrameUnits = 0
  for (const info of functions) maxFrameUnits = Math.max(maxFrameUnits, info.frameUnits)
  return { module, functions, summary: summarize(module, maxFrameUnits), limits }
}

/**
 * Checks that `bytes` is a core WebAssembly module the deterministic sandbox
 * accepts, and summarizes it.
 *
 * Throws (by `err.name`): `InvalidModule` (malformed, truncated, not Wasm, or
 * refused by the engine's validator; `offset` says where), `UnsupportedFeature`
 * (shared memory, atomics, SIMD, memory64, several memories, exceptions, tail
 * calls, GC, components), `ForbiddenImport` (an import not in
 * `allowedImports`), `LimitExceeded` (which limit, value, maximum).
 *
 * @param bytes - the module binary
 * @param limits - overrides of {@link DEFAULT_LIMITS}
 * @param allowedImports - imports the host provides, as `"module.name"` or
 *   `"module.*"`; omitted means none (a module with any import is rejected)
 * @example
 * ```ts
 * const summary = validateModule(bytes, { maxMemoryPages: 256 }, new Set(['env.log']))
 * console.log(summary.exports.map(e => e.name))
 * ```
 */
export function validateModule (bytes: Uint8Array, limits?: Partial<SandboxLimits>, allowedImports?: ReadonlySet<string>): ModuleSummary {
  return analyzeModule(bytes, {
    limits: resolveLimits(limits),
    allowedImports: allowedImports ?? new Set(),
    engineValidation: true
  }).summary
}
