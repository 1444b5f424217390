/**
 * The executor seam, types only: the local executor implements it now,
 * remote executors reached over libp2p will later.
 */
import type { CID } from 'multiformats/cid'
import type { Instruction, IpldValue, Outcome, TaskMeta } from '../model/types.js'

/** One instruction ready to run: promises in its arguments already substituted. */
export interface ExecutionTask {
  instruction: Instruction
  instructionCid: CID
  /** The module CID from `instruction.rsc`. */
  module: CID
  func: string
  /** The arguments with every promise replaced by its value; links still to be resolved. */
  args: IpldValue[]
  meta: TaskMeta
}

/** What running a task produced. Failures are outcomes too. */
export interface ExecutionResult {
  out: Outcome
  /** Wall-clock time spent in the worker (ms). */
  durationMs: number
  /** Fuel used; `null` while execution is not metered. */
  fuel: number | bigint | null
}

/** Runs instructions. */
export interface Executor {
  execute(task: ExecutionTask, options?: { signal?: AbortSignal }): Promise<ExecutionResult>
  /** Releases workers; safe to call twice. */
  stop(): Promise<void>
}
