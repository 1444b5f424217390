/**
 * The executor seam, types only: the local executor implements it now,
 * remote executors reached over libp2p will later.
 */
import type { CID } from 'multiformats/cid'
import type { Instruction, Invocation, IpldValue, Outcome, TaskMeta } from '../model/types.js'
import type { Block } from '../model/block.js'
import type { Authorization } from '../auth/types.js'
import type { Delegation } from '../auth/delegation.js'

/** A signed invocation with what is needed to check it: its authorization and the proof delegations. */
export interface AuthorizedInvocation {
  invocation: Block<Invocation>
  authorization: Block<Authorization>
  proofs: Delegation[]
}

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
  /** The signed invocation; an executor checks its UCAN chain before spending anything. */
  invocation?: AuthorizedInvocation
}

/** What running a task produced. Failures are outcomes too. */
export interface ExecutionResult {
  out: Outcome
  /** False when the task was refused before the guest ran (authority, missing module or input). */
  executed: boolean
  /** Wall-clock time spent in the worker (ms). */
  durationMs: number
  /** Fuel used; `null` when the task never ran to a deterministic end (refused, timed out). */
  fuel: number | bigint | null
  /** More for the receipt's `meta`: `log` (what the guest logged), `abi`, and for WASI commands `stderr` and `exitCode`. */
  meta?: { [key: string]: IpldValue }
}

/** Runs instructions. */
export interface Executor {
  execute(task: ExecutionTask, options?: { signal?: AbortSignal }): Promise<ExecutionResult>
  /** Releases workers; safe to call twice. */
  stop(): Promise<void>
}
