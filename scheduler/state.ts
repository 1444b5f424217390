/**
 * The scheduler's durable state: every submitted workflow (its file bytes, so
 * it can be planned again after a restart) and every task's state, in an LMDB
 * environment of its own (`scheduler.lmdb` under the scheduler's directory),
 * apart from the block store. Receipts themselves live in the `Repo`; a task
 * state names its receipt by CID.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { open } from 'lmdb'
import { StoreError } from '../src/errors.js'
import type { Database, RootDatabase } from 'lmdb'

/** Name of the scheduler's LMDB file under its directory. */
export const SCHEDULER_DB_FILE = 'scheduler.lmdb'

/** A task's state. CIDs are kept as strings. */
export type TaskState =
  | { state: 'pending' }
  | { state: 'waiting', reason: string, since: number }
  | { state: 'running', executor: string, since: number }
  | { state: 'done', receipt: string, market?: TaskCost, verification?: VerificationState }
  | { state: 'failed', receipt: string, error: { name: string, message: string }, market?: TaskCost, verification?: VerificationState }

/** Where an executor's receipt stands in optimistic verification (computed when read; absent for receipts the scheduler wrote itself). */
export type VerificationState = 'unchecked' | 'attested' | 'final' | 'fraudulent'

/** A receipt taken back: proven fraudulent, or computed from one that was. The memo no longer answers with it. */
export interface Retraction {
  receipt: string
  workflow: string
  index: number
  /** The executor proven to have cheated (absent for receipts retracted because an input was). */
  executor?: string
  reason: string
  at: number
}

/** What a task awarded in the market cost. */
export interface TaskCost {
  /** The executor's DID. */
  executor: string
  /** Credits per million fuel. */
  price: number
  /** Credits charged (fuel burnt at `price`). */
  cost: number
  /** The escrow's id in the ledger. */
  escrow: string
}

/** A submitted workflow. */
export interface WorkflowRecord {
  /** CID (raw, sha2-256) of the workflow file: resubmitting the same file resumes it. */
  id: string
  source: string
  bytes: Uint8Array
  tasks: number
  status: 'active' | 'finished'
  submittedAt: number
  /** The requester's `wasm/run` delegation to the scheduler (a CAR): the budget its tasks spend. */
  proof?: Uint8Array
}

/** True when a task will not change any more. */
export function isFinished (task: TaskState): task is Extract<TaskState, { receipt: string }> {
  return task.state === 'done' || task.state === 'failed'
}

/**
 * @example
 * ```ts
 * const state = SchedulerState.open(dir)
 * await state.addWorkflow(record)
 * await state.setTask(record.id, 0, { state: 'running', executor: peer, since: Date.now() })
 * ```
 */
export class SchedulerState {
  private constructor (
    private readonly env: RootDatabase,
    private readonly workflows: Database<WorkflowRecord, string>,
    private readonly tasks: Database<TaskState, [string, number]>,
    private readonly retractions: Database<Retraction, string>
  ) {}

  /** Opens (creating) `dir/scheduler.lmdb`. Throws `StoreError` when it cannot. */
  static open (dir: string): SchedulerState {
    let env: RootDatabase
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      env = open({ path: join(dir, SCHEDULER_DB_FILE), maxDbs: 6, compression: false })
    } catch (err) {
      throw new StoreError(`cannot open the scheduler state in ${dir}: ${(err as Error).message}`)
    }
    return new SchedulerState(env, env.openDB({ name: 'workflows' }), env.openDB({ name: 'tasks' }), env.openDB({ name: 'retractions' }))
  }

  /** Records a workflow with every task pending, unless it is known already (then nothing changes). True when added. */
  async addWorkflow (record: WorkflowRecord): Promise<boolean> {
    return await this.env.transaction(() => {
      if (this.workflows.get(record.id) !== undefined) return false
      void this.workflows.put(record.id, record)
      for (let index = 0; index < record.tasks; index++) void this.tasks.put([record.id, index], { state: 'pending' })
      return true
    })
  }

  getWorkflow (id: string): WorkflowRecord | undefined {
    return this.workflows.get(id)
  }

  /** Workflows not finished: what a restart resumes. */
  unfinished (): WorkflowRecord[] {
    const out: WorkflowRecord[] = []
    for (const { value } of this.workflows.getRange()) if (value.status === 'active') out.push(value)
    return out
  }

  /** Every task's state, by index. */
  taskStates (id: string, count: number): TaskState[] {
    return Array.from({ length: count }, (_, index) => this.tasks.get([id, index]) ?? { state: 'pending' })
  }

  /** One task's state. */
  taskState (id: string, index: number): TaskState {
    return this.tasks.get([id, index]) ?? { state: 'pending' }
  }

  /** Durably records a task's state (resolves once committed). */
  async setTask (id: string, index: number, state: TaskState): Promise<void> {
    await this.tasks.put([id, index], state)
  }

  /**
   * Makes a known workflow run again: failed tasks become pending, the status
   * active, and `proof` (when given) replaces the recorded one. Tasks done
   * stay done. Returns the updated record.
   */
  async reopen (id: string, proof?: Uint8Array): Promise<WorkflowRecord | undefined> {
    return await this.env.transaction(() => {
      const record = this.workflows.get(id)
      if (record === undefined) return undefined
      for (let index = 0; index < record.tasks; index++) {
        if (this.tasks.get([id, index])?.state === 'failed') void this.tasks.put([id, index], { state: 'pending' })
      }
      const next: WorkflowRecord = { ...record, status: 'active', ...(proof !== undefined ? { proof } : {}) }
      void this.workflows.put(id, next)
      return next
    })
  }

  /**
   * Takes receipts back (a proven fraud, and the tasks that used its output):
   * records each retraction and makes those tasks pending again, and the
   * workflow active. Returns the record.
   */
  async retract (id: string, entries: Array<Omit<Retraction, 'workflow' | 'at'>>): Promise<WorkflowRecord | undefined> {
    return await this.env.transaction(() => {
      const record = this.workflows.get(id)
      if (record === undefined) return undefined
      for (const entry of entries) {
        void this.retractions.put(entry.receipt, { ...entry, workflow: id, at: Date.now() })
        void this.tasks.put([id, entry.index], { state: 'pending' })
      }
      const next: WorkflowRecord = { ...record, status: 'active' }
      void this.workflows.put(id, next)
      return next
    })
  }

  /** The retraction of a receipt, if it was taken back. */
  retraction (receipt: string): Retraction | undefined {
    return this.retractions.get(receipt)
  }

  /** Executors proven to have cheated on task `index` of workflow `id`: not to be awarded it again. */
  cheatersOf (id: string, index: number): string[] {
    const out: string[] = []
    for (const { value } of this.retractions.getRange()) if (value.workflow === id && value.index === index && value.executor !== undefined) out.push(value.executor)
    return out
  }

  /** Marks a workflow finished. */
  async finishWorkflow (id: string): Promise<void> {
    await this.env.transaction(() => {
      const record = this.workflows.get(id)
      if (record !== undefined) void this.workflows.put(id, { ...record, status: 'finished' })
    })
  }

  async close (): Promise<void> {
    await this.env.close()
  }
}
