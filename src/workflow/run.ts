/**
 * Runs a planned workflow: memoized tasks are answered from the receipt
 * store, the rest run as soon as the tasks they await have finished
 * (independent branches in parallel), and a failed task fails its
 * dependents with an error receipt naming the cause.
 */
import { TaskError, StoreError } from '../errors.js'
import { decodeBlock } from '../model/block.js'
import { invocationBlock, receiptBlock, receiptValue, outcomeDigest } from '../model/receipt.js'
import { signInvocations, signReceipt } from '../auth/sign.js'
import type { Block } from '../model/block.js'
import type { Signer } from '../auth/types.js'
import type { Delegation } from '../auth/delegation.js'
import type { AuthorizedInvocation } from '../executor/interface.js'
import { substitutePromises } from './promises.js'
import { executionTask, instructionKeys, receiptMeta, taskValue, promisedValue } from './task.js'
import type { CID } from 'multiformats/cid'
import type { Repo } from '../store/interface.js'
import type { Executor } from '../executor/interface.js'
import type { Invocation, IpldValue, Outcome, Receipt } from '../model/types.js'
import type { WorkflowPlan, PlannedTask } from './types.js'

/** How a task ended in this run. */
export type TaskStatus = 'ok' | 'error' | 'not-run'

/** One task's result. */
export interface TaskReport {
  index: number
  path: string
  func: string
  instructionCid: CID
  status: TaskStatus
  /** Answered from the receipt store without running. */
  cached: boolean
  out?: Outcome
  receiptCid?: CID
  /** CID of `{ran: InID, out, fuel}`: what verifiers compare. */
  outcomeDigest?: CID
  /** Time the task ran (ms); for a cached task, the time recorded when it ran. */
  durationMs?: number
  fuel: number | bigint | null
  /** Who signed the receipt (the executor's DID), when it was signed. */
  executor?: string
  /** Price awarded in the market (credits per million fuel), as signed in the receipt's invocation. */
  price?: number
  /** Credits charged for it. */
  cost?: number
}

/** A whole run's result. */
export interface WorkflowReport {
  source: string
  tasks: TaskReport[]
  /** True when every task succeeded. */
  ok: boolean
  executed: number
  cached: number
  failed: number
  durationMs: number
  /** Credits the tasks awarded in the market cost, when any were. */
  cost?: number
}

/** Progress events, in the order they happen. */
export type WorkflowEvent =
  | { type: 'workflow:start', tasks: number }
  | { type: 'task:cached', task: TaskReport }
  | { type: 'task:start', index: number }
  | { type: 'task:done', task: TaskReport }

/** Options of {@link runWorkflow}. */
export interface RunWorkflowOptions {
  repo: Repo
  executor: Executor
  /** Most tasks running at once. @default 4 */
  concurrency?: number
  signal?: AbortSignal
  onEvent?: (event: WorkflowEvent) => void
  /** Answer tasks from recorded receipts. `false` runs every task again. @default true */
  memo?: boolean
  /**
   * This node's signer. When given, the tasks to run are signed as invocations
   * (one authorization for all of them) and every receipt is signed.
   */
  signer?: Signer
  /** Delegations the invocations carry as proofs (the chain that allows this node to run them). */
  proofs?: Delegation[]
}

/** The ok receipt recorded for a task, if any: a memo hit. */
async function memoized (repo: Repo, task: PlannedTask): Promise<{ receiptCid: CID, receipt: Receipt } | undefined> {
  const receiptCid = await repo.receipts.get(task.instructionCid)
  if (receiptCid === undefined) return undefined
  const bytes = await repo.blocks.get(receiptCid)
  if (bytes === undefined) return undefined
  const receipt = decodeBlock<Receipt>(bytes)
  return 'ok' in receipt.out ? { receiptCid, receipt } : undefined
}

/**
 * Runs `plan`, storing every receipt in `options.repo` as soon as its task
 * ends. Resolves when no task can make further progress; never rejects for
 * task failures (they are in the report).
 */
export async function runWorkflow (plan: WorkflowPlan, options: RunWorkflowOptions): Promise<WorkflowReport> {
  const started = performance.now()
  const { repo, executor, signal, onEvent } = options
  const concurrency = options.concurrency ?? 4
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer')
  const reports: Array<TaskReport | undefined> = new Array(plan.tasks.length)
  let executed = 0
  onEvent?.({ type: 'workflow:start', tasks: plan.tasks.length })

  for (const index of options.memo === false ? [] : plan.order) {
    const task = plan.tasks[index] as PlannedTask
    const hit = await memoized(repo, task)
    if (hit === undefined) continue
    const fuel = (hit.receipt.meta.fuel ?? null) as number | bigint | null
    const report: TaskReport = {
      index, path: task.path, func: String(task.instruction.input.func), instructionCid: task.instructionCid,
      status: 'ok', cached: true, out: hit.receipt.out, receiptCid: hit.receiptCid,
      outcomeDigest: outcomeDigest(task.instructionCid, hit.receipt.out, fuel),
      fuel
    }
    if (typeof hit.receipt.meta.time === 'number') report.durationMs = hit.receipt.meta.time
    reports[index] = report
    onEvent?.({ type: 'task:cached', task: report })
  }

  // Sign every task that will run, under one authorization (one signature for the workflow).
  const toRun = plan.tasks.filter(task => reports[task.index] === undefined)
  const invocations = new Map<number, AuthorizedInvocation>()
  if (options.signer !== undefined && toRun.length > 0) {
    const proofs = options.proofs ?? []
    const signed = await signInvocations(toRun.map(taskValue), options.signer, proofs)
    const [first] = signed
    if (first !== undefined) await repo.commit({ blocks: [first.authorization, ...first.proofs] })
    signed.forEach((entry, i) => invocations.set((toRun[i] as PlannedTask).index, { invocation: entry.invocation, authorization: entry.authorization, proofs }))
  }

  const waiting = plan.tasks.map(task => task.dependsOn.filter(d => reports[d] === undefined).length)
  const dependents: number[][] = plan.tasks.map(() => [])
  for (const task of plan.tasks) for (const d of task.dependsOn) dependents[d]?.push(task.index)
  const ready = plan.order.filter(i => reports[i] === undefined && waiting[i] === 0)
  let running = 0
  let wake: (() => void) | undefined
  const commits: Array<Promise<void>> = []

  const runOne = async (task: PlannedTask): Promise<TaskReport> => {
    const func = String(task.instruction.input.func)
    const base = { index: task.index, path: task.path, func, instructionCid: task.instructionCid, cached: false }
    let out: Outcome
    let fuel: number | bigint | null = null
    let durationMs: number | undefined
    let extraMeta: { [key: string]: IpldValue } | undefined
    try {
      const byLink = new Map(task.awaits.map(ref => [ref.link.toString(), ref.task]))
      const input = substitutePromises(task.instruction.input, (link, selector) =>
        promisedValue(selector, reports[byLink.get(link.toString()) as number] as TaskReport)) as { [key: string]: IpldValue }
      onEvent?.({ type: 'task:start', index: task.index })
      const authorized = invocations.get(task.index)
      const result = await executor.execute(executionTask(task, input, authorized), { signal })
      out = result.out
      fuel = result.fuel
      extraMeta = result.meta
      if (result.executed) {
        executed++
        durationMs = result.durationMs
      }
    } catch (err) {
      if (!(err instanceof TaskError)) throw err
      out = { error: err.toValue() }
    }
    if ('error' in out && out.error.name === 'Aborted') {
      // An interrupted run is not an outcome of the computation: record nothing.
      return { ...base, status: 'not-run', out, fuel }
    }
    const invocation: Block<Invocation> = invocations.get(task.index)?.invocation ?? invocationBlock(taskValue(task))
    const receiptInit = { ran: invocation.cid, out, meta: receiptMeta({ meta: extraMeta, executed: durationMs !== undefined, durationMs: durationMs ?? 0, fuel }) }
    const receipt = options.signer !== undefined ? await signReceipt(receiptValue(receiptInit), options.signer) : receiptBlock(receiptInit)
    // Dependents need the value, not the disk: the commit goes on in the
    // background and the run waits for every commit before it reports.
    commits.push(repo.commit({
      blocks: [{ cid: task.instructionCid, bytes: task.instructionBytes }, invocation, receipt],
      receipt: { instructionCids: instructionKeys(task), receiptCid: receipt.cid }
    }))
    const report: TaskReport = {
      ...base, status: 'ok' in out ? 'ok' : 'error', out, receiptCid: receipt.cid,
      outcomeDigest: outcomeDigest(task.instructionCid, out, fuel), fuel
    }
    if (durationMs !== undefined) report.durationMs = durationMs
    return report
  }

  const finish = (report: TaskReport): void => {
    reports[report.index] = report
    running--
    onEvent?.({ type: 'task:done', task: report })
    for (const dependent of dependents[report.index] ?? []) {
      if (--(waiting[dependent] as number) === 0) ready.push(dependent)
    }
    wake?.()
  }

  let failure: unknown
  while ((ready.length > 0 && signal?.aborted !== true && failure === undefined) || running > 0) {
    while (ready.length > 0 && running < concurrency && signal?.aborted !== true && failure === undefined) {
      const task = plan.tasks[ready.shift() as number] as PlannedTask
      running++
      runOne(task).then(finish, (err: unknown) => { failure ??= err; running--; wake?.() })
    }
    await new Promise<void>(resolve => { wake = resolve })
  }
  const stored = await Promise.allSettled(commits)
  if (failure !== undefined) throw failure
  const lost = stored.find((result): result is PromiseRejectedResult => result.status === 'rejected')
  if (lost !== undefined) throw new StoreError(`receipts could not be stored: ${(lost.reason as Error)?.message ?? String(lost.reason)}`)

  const tasks = plan.tasks.map((task, index) => reports[index] ?? {
    index, path: task.path, func: String(task.instruction.input.func), instructionCid: task.instructionCid,
    status: 'not-run' as const, cached: false, fuel: null
  })
  const cached = tasks.filter(t => t.cached).length
  const failed = tasks.filter(t => t.status !== 'ok').length
  return { source: plan.source, tasks, ok: failed === 0, executed, cached, failed, durationMs: performance.now() - started }
}
