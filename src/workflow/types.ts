/**
 * Workflows, types only.
 */
import type { CID } from 'multiformats/cid'
import type { Instruction, TaskMeta } from '../model/types.js'

/** A task of a workflow file, validated. */
export interface WorkflowTask {
  /** Position in the file's `tasks` list. */
  index: number
  /** JSON path of the task in its file, e.g. `tasks[3]`. */
  path: string
  instruction: Instruction
  /** The module CID parsed from `instruction.rsc`. */
  module: CID
  /** The limits as written in the file (absent ones take the node's defaults). */
  meta: TaskMeta
  prf: CID[]
  cause?: CID
}

/** A validated workflow file. */
export interface Workflow {
  /** Where it came from (a path, or a label), for messages. */
  source: string
  tasks: WorkflowTask[]
  /** The optional `market` section (budget, sample rate, deadline), kept as written for the market. */
  market?: { [key: string]: unknown }
}

/** Which result of an awaited task a promise takes. */
export type AwaitSelector = 'await/ok' | 'await/error' | 'await/*'

/** A promise found in a task's input: `{ [selector]: link }`. */
export interface AwaitRef {
  selector: AwaitSelector
  link: CID
  /** JSON path of the promise in the file. */
  path: string
  /** Index of the task it names (set by the planner). */
  task: number
}

/** A task with its InID and the tasks it waits for. */
export interface PlannedTask extends WorkflowTask {
  /** The InID: CIDv1, DAG-CBOR, sha2-256 of `{rsc, op, input, nnc}`. */
  instructionCid: CID
  /** The instruction's DAG-CBOR bytes (hashed again for other multihash functions). */
  instructionBytes: Uint8Array
  awaits: AwaitRef[]
  /** Indices of the tasks this one waits for, without repeats. */
  dependsOn: number[]
}

/** A workflow ready to run: tasks in file order with their dependencies resolved. */
export interface WorkflowPlan {
  source: string
  tasks: PlannedTask[]
  /** A topological order of task indices (dependencies first). */
  order: number[]
  /** The file's `market` section (e.g. `maxPrice`, `budget`), as written. */
  market?: { [key: string]: unknown }
}
