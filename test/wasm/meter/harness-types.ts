/** Messages between the tests and `harness-worker.ts`. */

/** Host imports the harness can provide by name. */
export type HarnessImports = 'none' | 'host'

/** One run: instrument `bytes`, instantiate, call `exportName(...args)` with a fuel budget. */
export interface HarnessJob {
  /** The original (uninstrumented) module. */
  bytes: Uint8Array
  /** Export to call; `undefined` to only instantiate and run the start function. */
  exportName: string | undefined
  /** Arguments. */
  args: unknown[]
  /** Fuel budget. */
  fuel: bigint
  /** Sandbox limits (partial). */
  limits?: Record<string, number>
  /** Allowed imports. */
  allowedImports?: string[]
  /** Which host imports to provide. */
  imports?: HarnessImports
  /** Skip instrumentation (run the original, to compare). */
  raw?: boolean
}

/**
 * What happened. `bits` spells the result bit for bit (floats as their
 * IEEE-754 bit pattern), so NaN payloads are compared too.
 */
export type HarnessOutcome =
  | { kind: 'ok', value: unknown, fuelUsed: string | undefined, bits: string }
  | { kind: 'error', error: string, message: string, fuelUsed: string | undefined }
