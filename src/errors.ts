/**
 * Errors thrown by ipvm. Each class has a fixed `name`, which is what callers
 * match on (as js-libp2p does); messages say which action failed.
 */

/** Base class of every error ipvm throws on purpose. */
export class IpvmError extends Error {
  override name = 'IpvmError'
}

/** One problem found in a workflow file, located by its JSON path. */
export interface ValidationIssue {
  /** JSON path of the offending value, e.g. `tasks[2].run.input.func`. */
  path: string
  /** What is wrong with it. */
  message: string
}

/** A workflow file was rejected before anything ran; `issues` lists every problem found. */
export class WorkflowValidationError extends IpvmError {
  override name = 'WorkflowValidationError'
  readonly issues: ValidationIssue[]

  constructor (source: string, issues: ValidationIssue[]) {
    const lines = issues.map(issue => `  ${issue.path}: ${issue.message}`)
    super(`invalid workflow ${source}:\n${lines.join('\n')}`)
    this.issues = issues
  }
}

/** A block (or file) was asked for by CID and the store does not have it. */
export class BlockNotFoundError extends IpvmError {
  override name = 'BlockNotFoundError'
  readonly cid: string

  constructor (cid: string, what = 'block') {
    super(`${what} ${cid} is not in the store; add it with \`ipvm add FILE\``)
    this.cid = cid
  }
}

/** A command-line usage mistake: unknown flag, missing argument, bad value. */
export class UsageError extends IpvmError {
  override name = 'UsageError'
}

/** Input given to a command (a file, a CID) could not be read or understood. */
export class InputError extends IpvmError {
  override name = 'InputError'
}

/** The node's store could not be opened or written. */
export class StoreError extends IpvmError {
  override name = 'StoreError'
}

/**
 * Names of the errors that travel inside error receipts. A task failure is a
 * value, not an exception: `{ error: { name, message, ...details } }`.
 */
export type TaskErrorName =
  | 'ModuleNotFound'
  | 'BlockNotFound'
  | 'InvalidModule'
  | 'ExportNotFound'
  | 'ArgumentError'
  | 'UnsupportedFeature'
  | 'ForbiddenImport'
  | 'LimitExceeded'
  | 'OutOfFuel'
  | 'Trap'
  | 'StackOverflow'
  | 'Timeout'
  | 'WorkerCrashed'
  | 'DependencyFailed'
  | 'UnexpectedSuccess'
  | 'UnrepresentableResult'
  | 'UnsupportedAbi'
  | 'InvalidOutput'
  | 'ExitCode'
  | 'NoExecutor'
  | 'ComponentError'
  | 'Unauthorized'
  | 'Aborted'

/**
 * The serialisable form of a task error, as stored in a receipt's `out.error`.
 * `name` is a {@link TaskErrorName}, or the name of an authority error
 * (`Expired`, `CaveatExceeded`, …) when the invocation was refused.
 */
export interface TaskErrorValue {
  name: TaskErrorName | (string & {})
  message: string
  [detail: string]: unknown
}

/** A task-level failure. It becomes an error receipt, never a crash. */
export class TaskError extends IpvmError {
  override name: TaskErrorValue['name']
  readonly details: Record<string, unknown>

  constructor (name: TaskErrorValue['name'], message: string, details: Record<string, unknown> = {}) {
    super(message)
    this.name = name
    this.details = details
  }

  /** The value stored in the receipt. Details with `undefined` values are dropped (DAG-CBOR has no undefined). */
  toValue (): TaskErrorValue {
    const value: TaskErrorValue = { name: this.name, message: this.message }
    for (const [key, detail] of Object.entries(this.details)) {
      if (detail !== undefined) value[key] = detail
    }
    return value
  }
}

/** True when `value` is a `TaskErrorValue` (e.g. one read back from a receipt). */
export function isTaskErrorValue (value: unknown): value is TaskErrorValue {
  return typeof value === 'object' && value !== null &&
    typeof (value as { name?: unknown }).name === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
}
