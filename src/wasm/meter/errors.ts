/**
 * Named errors of the Wasm sandbox. Callers match on `err.name` (a fixed
 * string per class), never on the message. Rejections found before anything
 * runs (`InvalidModule`, `UnsupportedFeature`, `ForbiddenImport`,
 * `LimitExceeded`) carry enough detail to become an error receipt; the
 * run-time ones (`OutOfFuel`, `StackOverflow`, `Trap`, `InvalidExport`) are
 * produced by the host helpers in `host.ts`.
 */

import { IpvmError } from '../../errors.js'
import type { SandboxLimits } from './constants.js'

/**
 * The bytes are not a well-formed core WebAssembly module: bad magic or
 * version, a truncated section, an unknown opcode, an index out of range, a
 * reserved export name, or a module the engine refuses to validate.
 *
 * @example
 * ```ts
 * try { validateModule(bytes) } catch (err) {
 *   if (err instanceof InvalidModuleError) console.log(err.offset)
 * }
 * ```
 */
export class InvalidModuleError extends IpvmError {
  static override readonly name = 'InvalidModule'
  override name = 'InvalidModule' as const
  /** Byte offset in the module where the problem was found (-1 when unknown). */
  readonly offset: number

  constructor (message: string, offset: number) {
    super(offset >= 0 ? `invalid module at byte ${offset}: ${message}` : `invalid module: ${message}`)
    this.offset = offset
  }
}

/**
 * The module uses a WebAssembly feature the deterministic sandbox does not
 * allow (threads and shared memory, atomics, SIMD, memory64, multiple
 * memories, exceptions, tail calls, GC and typed function references,
 * components).
 */
export class UnsupportedFeatureError extends IpvmError {
  static override readonly name = 'UnsupportedFeature'
  override name = 'UnsupportedFeature' as const
  /** Short name of the feature, e.g. `'simd'`, `'shared-memory'`. */
  readonly feature: string
  /** Byte offset where the feature was first seen. */
  readonly offset: number

  constructor (feature: string, offset: number, detail?: string) {
    super(`unsupported WebAssembly feature '${feature}' at byte ${offset}${detail !== undefined ? `: ${detail}` : ''}`)
    this.feature = feature
    this.offset = offset
  }
}

/** The module imports something outside the host's allowed set. */
export class ForbiddenImportError extends IpvmError {
  static override readonly name = 'ForbiddenImport'
  override name = 'ForbiddenImport' as const
  /** Import module name. */
  readonly module: string
  /** Import field name. */
  readonly field: string
  /** Kind of the import (`function`, `table`, `memory`, `global`). */
  readonly kind: string

  constructor (module: string, field: string, kind: string) {
    super(`import ${kind} "${module}"."${field}" is not provided by the sandbox host`)
    this.module = module
    this.field = field
    this.kind = kind
  }
}

/** A declared size goes over one of the {@link SandboxLimits}. */
export class LimitExceededError extends IpvmError {
  static override readonly name = 'LimitExceeded'
  override name = 'LimitExceeded' as const
  /** Which limit was exceeded. */
  readonly limit: keyof SandboxLimits
  /** The value found in the module. */
  readonly value: number
  /** The limit in force. */
  readonly max: number

  constructor (limit: keyof SandboxLimits, value: number, max: number, what: string) {
    super(`${what} (${value}) exceeds ${limit} (${max})`)
    this.limit = limit
    this.value = value
    this.max = max
  }
}

/** The guest used all the fuel it was given. `fuelUsed` equals the limit. */
export class OutOfFuelError extends IpvmError {
  static override readonly name = 'OutOfFuel'
  override name = 'OutOfFuel' as const
  /** Fuel consumed: always the fuel limit of the call. */
  readonly fuelUsed: bigint

  constructor (fuelUsed: bigint) {
    super(`out of fuel after ${fuelUsed} units`)
    this.fuelUsed = fuelUsed
  }
}

/** The guest went deeper than the instrumented call-depth limit. */
export class StackOverflowError extends IpvmError {
  static override readonly name = 'StackOverflow'
  override name = 'StackOverflow' as const
  /** Fuel consumed before the overflow. */
  readonly fuelUsed: bigint

  constructor (fuelUsed: bigint) {
    super('call depth limit exceeded')
    this.fuelUsed = fuelUsed
  }
}

/**
 * The guest trapped by itself (unreachable, division by zero, out-of-bounds
 * access, indirect call type mismatch, ...). `cause` is the engine's error.
 */
export class TrapError extends IpvmError {
  static override readonly name = 'Trap'
  override name = 'Trap' as const
  /** Fuel charged for the failed call: the whole budget (see `MeteredInstance`). */
  readonly fuelUsed: bigint

  constructor (message: string, fuelUsed: bigint, cause?: unknown) {
    super(`guest trapped: ${message}`, { cause })
    this.fuelUsed = fuelUsed
  }
}

/** A requested export is missing or has the wrong kind (e.g. a global where a function was expected). */
export class InvalidExportError extends IpvmError {
  static override readonly name = 'InvalidExport'
  override name = 'InvalidExport' as const
  /** Name of the export asked for. */
  readonly export: string

  constructor (exportName: string, problem: string) {
    super(`export "${exportName}" ${problem}`)
    this.export = exportName
  }
}
