/**
 * What the runner and the scheduler both need to turn a planned task into an
 * invocation and a receipt: the keys a receipt is indexed under, the task
 * value of its invocation, and the value each promise stands for.
 */
import { TaskError } from '../errors.js'
import { cidOf, codecs, hashes } from '../model/block.js'
import type { CID } from 'multiformats/cid'
import type { IpldValue, Outcome, Task } from '../model/types.js'
import type { AuthorizedInvocation, ExecutionResult, ExecutionTask } from '../executor/interface.js'
import type { PlannedTask, AwaitSelector } from './types.js'

/** The awaited task, as a promise sees it: where it is, what it called, and its outcome if it ended. */
export interface Dependency {
  path: string
  func: string
  instructionCid: CID
  out?: Outcome
}

/** The InIDs a receipt is indexed under: sha2-256 and, for Homestar's InIDs, sha3-256. */
export function instructionKeys (task: PlannedTask): CID[] {
  return [task.instructionCid, cidOf(task.instructionBytes, codecs.dagCbor, hashes.sha3_256)]
}

/** The task part of an invocation: the instruction's CID with its limits and proofs. */
export function taskValue (task: PlannedTask): Task {
  const value: Task = { run: task.instructionCid, meta: task.meta as Task['meta'], prf: task.prf }
  if (task.cause !== undefined) value.cause = task.cause
  return value
}

/** The value a promise stands for, or a `DependencyFailed`/`UnexpectedSuccess` error. */
export function promisedValue (selector: AwaitSelector, dependency: Dependency): IpldValue {
  const out = dependency.out
  if (out === undefined) {
    throw new TaskError('DependencyFailed', `${dependency.path} (${dependency.func}) did not run`, { dependency: dependency.instructionCid.toString() })
  }
  if (selector === 'await/*') return out as unknown as IpldValue
  if (selector === 'await/ok') {
    if ('ok' in out) return out.ok
    // Name the root cause once, however deep the pipeline: a failure's dependents'
    // dependents say where it started, not the whole chain in between.
    const error = out.error
    const root = error.name === 'DependencyFailed' && typeof error.root === 'string'
      ? error.root
      : `${dependency.path} (${dependency.func}) failed with ${error.name}: ${error.message}`
    const message = error.name === 'DependencyFailed' ? `${dependency.path} (${dependency.func}) did not run: ${root}` : root
    throw new TaskError('DependencyFailed', message, {
      dependency: dependency.instructionCid.toString(),
      cause: error.name === 'DependencyFailed' && typeof error.cause === 'string' ? error.cause : error.name,
      root
    })
  }
  if ('error' in out) return out.error as unknown as IpldValue
  throw new TaskError('UnexpectedSuccess', `${dependency.path} (${dependency.func}) succeeded, but this task awaits its error`, { dependency: dependency.instructionCid.toString() })
}

/** What an executor is given for `task`: its arguments with every promise already substituted. */
export function executionTask (task: PlannedTask, input: { [key: string]: IpldValue }, invocation?: AuthorizedInvocation): ExecutionTask {
  return {
    instruction: task.instruction,
    instructionCid: task.instructionCid,
    module: task.module,
    func: String(task.instruction.input.func),
    args: (input.args ?? []) as IpldValue[],
    meta: task.meta,
    ...(invocation !== undefined ? { invocation } : {})
  }
}

/** A receipt's `meta` for an execution: what the executor added, the time it ran (µs precision) and the fuel it used. */
export function receiptMeta (result: Pick<ExecutionResult, 'meta' | 'executed' | 'durationMs' | 'fuel'>): { [key: string]: IpldValue } {
  const meta: { [key: string]: IpldValue } = { ...result.meta }
  if (result.executed) meta.time = Math.round(result.durationMs * 1000) / 1000
  if (result.fuel !== null) meta.fuel = result.fuel
  return meta
}
