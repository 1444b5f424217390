/**
 * Host side of the metering protocol: sets the fuel before a call, resets
 * the depth and trap-reason globals, reads the fuel back, and turns traps
 * into named errors. Works on an instance of a module produced by
 * `instrument()`.
 */

import { DEPTH_EXPORT, FUEL_EXPORT, MAX_FUEL, START_EXPORT, TRAP_REASON_EXPORT, TrapReason } from './constants.js'
import { wasmEngine } from './engine.js'
import type { WasmGlobal, WasmInstance } from './engine.js'
import { InvalidExportError, OutOfFuelError, StackOverflowError, TrapError } from './errors.js'

function global (instance: WasmInstance, name: string): WasmGlobal {
  const value = instance.exports[name]
  if (wasmEngine === undefined || !(value instanceof wasmEngine.Global)) throw new InvalidExportError(name, 'is missing: was the module instrumented?')
  return value
}

/**
 * Returns the exported function `name`, or throws `InvalidExport` if the
 * export is missing or is not a function (e.g. a global or a memory).
 */
export function exportedFunction (instance: WasmInstance, name: string): (...args: unknown[]) => unknown {
  const value = instance.exports[name]
  if (value === undefined) throw new InvalidExportError(name, 'does not exist')
  if (typeof value !== 'function') throw new InvalidExportError(name, 'is not a function')
  return value as (...args: unknown[]) => unknown
}

/**
 * An instance of an instrumented module with one fuel budget shared by the
 * start function and every call made through it.
 *
 * Fuel accounting: after a normal return, `fuelUsed` is exact. After
 * `OutOfFuel` it is the limit. After `StackOverflow` it is exact up to the
 * call that overflowed. After a guest `Trap` it is the limit too: inside the
 * guest the fuel lives in registers, and a trap (division by zero, bounds,
 * `unreachable`, …) is treated like an exceptional halt that consumes the
 * whole budget, which is deterministic and leaves nothing to gain by
 * trapping on purpose.
 *
 * @example
 * ```ts
 * const run = new MeteredInstance(instance, 10_000_000n)
 * run.start()
 * try {
 *   console.log(run.call('fib', 20), run.fuelUsed)
 * } catch (err) {
 *   if (err.name === 'OutOfFuel') console.log('used all', err.fuelUsed)
 * }
 * ```
 */
export class MeteredInstance {
  /** The underlying instance. */
  readonly instance: WasmInstance
  /** The fuel budget. */
  readonly fuelLimit: bigint
  private readonly fuel: WasmGlobal
  private readonly trapReason: WasmGlobal
  private readonly depth: WasmGlobal
  private started = false
  private nesting = 0

  /**
   * @param instance - an instance of a module returned by `instrument()`
   * @param fuelLimit - the budget; values above {@link MAX_FUEL} (2^47 − 1) are clamped to it
   */
  constructor (instance: WasmInstance, fuelLimit: bigint) {
    if (typeof fuelLimit !== 'bigint' || fuelLimit < 0n) throw new RangeError('fuelLimit must be a non-negative bigint')
    this.instance = instance
    this.fuelLimit = fuelLimit > MAX_FUEL ? MAX_FUEL : fuelLimit
    this.fuel = global(instance, FUEL_EXPORT)
    this.trapReason = global(instance, TRAP_REASON_EXPORT)
    this.depth = global(instance, DEPTH_EXPORT)
    this.fuel.value = this.fuelLimit
  }

  /** Fuel remaining in the budget. */
  get fuelRemaining (): bigint {
    return this.fuel.value as bigint
  }

  /** Fuel used so far: limit − remaining (after OutOfFuel, exactly the limit). */
  get fuelUsed (): bigint {
    return this.fuelLimit - (this.fuel.value as bigint)
  }

  /** Runs the module's start function (metered), once; a no-op when there is none. */
  start (): void {
    if (this.started) return
    this.started = true
    const start = this.instance.exports[START_EXPORT]
    if (typeof start === 'function') this.run(() => (start as () => unknown)())
  }

  /**
   * Calls export `name` with `args`. Throws `InvalidExport`, or on a trap
   * `OutOfFuel`, `StackOverflow` or `Trap`, each with `fuelUsed`; errors
   * thrown by host imports propagate unchanged.
   */
  call (name: string, ...args: unknown[]): unknown {
    this.start()
    const fn = exportedFunction(this.instance, name)
    return this.run(() => fn(...args))
  }

  /**
   * Runs `fn` (which calls into the instance), classifying traps. A call
   * from outside starts with depth and trap reason at 0; a nested one (a
   * host import calling back in) keeps the depth already in use.
   */
  run<T> (fn: () => T): T {
    if (this.nesting === 0) {
      this.depth.value = 0
      this.trapReason.value = 0
    }
    this.nesting++
    try {
      return fn()
    } catch (err) {
      throw this.nesting === 1 ? this.classify(err) : err
    } finally {
      this.nesting--
    }
  }

  /** Turns an error thrown by a call into the instance into the matching named error. */
  classify (err: unknown): unknown {
    const reason = this.trapReason.value as number
    if (reason === TrapReason.OutOfFuel) {
      this.fuel.value = 0n
      return new OutOfFuelError(this.fuelLimit)
    }
    if (reason === TrapReason.StackOverflow) return new StackOverflowError(this.fuelUsed)
    if (wasmEngine !== undefined && err instanceof wasmEngine.RuntimeError) {
      this.fuel.value = 0n
      return new TrapError(err.message, this.fuelLimit, err)
    }
    return err
  }
}
