/**
 * The scheduler: takes planned workflows, keeps their queue and every task's
 * state in LMDB, dispatches ready tasks to an `Executor` (remote executors in
 * a network, the local one in tests), and after a restart resumes every
 * unfinished workflow: finished tasks are never run again (their receipts are
 * in the Repo, keyed by InID: the memo), tasks that were running are
 * reassigned.
 *
 * Durability order: a task's receipt is committed to the Repo before its state
 * becomes `done`, and its dependents are dispatched only after that. A crash
 * between the two leaves the task `running` with its receipt stored; the memo
 * answers it on resume without running it again.
 */
import { setMaxListeners } from 'node:events'
import { TaskError } from '../src/errors.js'
import { cidOf, codecs, decodeBlock } from '../src/model/block.js'
import { invocationBlock, receiptBlock, receiptValue } from '../src/model/receipt.js'
import { signInvocation, signReceipt } from '../src/auth/sign.js'
import { delegationBlocks, extractDelegation } from '../src/auth/delegation.js'
import { loadWorkflow } from '../src/workflow/plan.js'
import { substitutePromises } from '../src/workflow/promises.js'
import { executionTask, instructionKeys, receiptMeta, taskValue, promisedValue } from '../src/workflow/task.js'
import { isRemoteExecutor, isRemoteResult } from '../src/executor/remote.js'
import { wasmRunGrants } from '../src/auth/delegation.js'
import { isMarketResult } from './market.js'
import { DEFAULT_MAX_PRICE } from '../src/constants.js'
import { SchedulerState, isFinished } from './state.js'
import { CID } from 'multiformats/cid'
import type { Block } from '../src/model/block.js'
import type { Invocation, IpldValue, Outcome, Receipt } from '../src/model/types.js'
import type { DID, Signer } from '../src/auth/types.js'
import type { Delegation } from '../src/auth/delegation.js'
import type { AuthorizedInvocation, Executor, ExecutionResult } from '../src/executor/interface.js'
import type { RemoteExecuteOptions } from '../src/executor/remote.js'
import type { Repo } from '../src/store/interface.js'
import type { PlannedTask, WorkflowPlan } from '../src/workflow/types.js'
import type { TaskCost, TaskState, WorkflowRecord } from './state.js'
import type { Market, MarketTerms } from './market.js'
import type { Verification, VerificationRecord } from './verification.js'
import { outcomeDigest } from '../src/model/receipt.js'

/** Options of {@link Scheduler}. */
export interface SchedulerInit {
  /** Where receipts and blocks are committed (and the memo read). */
  repo: Repo
  /** Runs tasks: a `RemoteExecutor`, or a `LocalExecutor` in tests. */
  executor: Executor
  /** The scheduler's directory: its state lives in `dir/scheduler.lmdb`. */
  dir: string
  /**
   * Signs the invocations of tasks given to a local executor (it checks
   * them), and every receipt the scheduler writes itself: tasks run by a
   * local executor, and tasks no executor ran (a failed dependency, no
   * executor found). Remote executors sign their own. Without it, those
   * receipts are unsigned.
   */
  signer?: Signer
  /** Proofs carried by invocations signed with `signer`. */
  proofs?: Delegation[]
  /**
   * Most tasks running at once, over all workflows.
   * @default 4
   */
  concurrency?: number
  /**
   * Awards tasks in a market (bids, escrow, reputation) instead of handing
   * them straight to `executor` (which must then be the market's
   * `RemoteExecutor`). Workflows are paid by their budget's resource (the
   * requester), within its `maxPrice` and `maxSpend`.
   */
  market?: Market
  /** Highest price announced for workflows whose budget sets none (credits per million fuel). @default 10 */
  maxPrice?: number
  /**
   * Optimistic verification: every executor receipt is registered (and sent
   * to verifiers); a proven fraud makes the scheduler run the task again.
   */
  verification?: Verification
  /** Progress, in the order it happens. */
  onEvent?: (event: SchedulerEvent) => void
}

/** Progress events. */
export type SchedulerEvent =
  | { type: 'workflow:resumed', workflow: string }
  | { type: 'task:memoized', workflow: string, index: number }
  | { type: 'task:waiting', workflow: string, index: number, reason: string }
  | { type: 'task:running', workflow: string, index: number, executor: string }
  | { type: 'task:finished', workflow: string, index: number, state: TaskState }
  | { type: 'workflow:finished', workflow: string }
  | { type: 'task:retracted', workflow: string, index: number, receipt: string, reason: string }

/** What {@link Scheduler.wait} resolves to. */
export interface WorkflowSummary {
  id: string
  ok: boolean
  tasks: TaskState[]
}

/**
 * @example
 * ```ts
 * const scheduler = new Scheduler({ repo, executor: new RemoteExecutor({ node, signer }), dir: home })
 * await scheduler.start()                 // resumes unfinished workflows
 * const id = await scheduler.submit(bytes, 'pipeline.json')
 * const summary = await scheduler.wait(id)
 * ```
 */
export class Scheduler {
  private readonly init: SchedulerInit
  private readonly concurrency: number
  private state: SchedulerState | undefined
  private controller = new AbortController()
  private readonly runs = new Map<string, Promise<WorkflowSummary>>()
  /** Workflows being driven now (their entry in `runs` is unsettled). */
  private readonly active = new Set<string>()
  private readonly listeners = new Set<(event: SchedulerEvent) => void>()
  private running = 0
  private readonly slotWaiters: Array<() => void> = []

  constructor (init: SchedulerInit) {
    this.init = init
    this.concurrency = init.concurrency ?? 4
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${this.concurrency}`)
  }

  /** Opens the state and resumes every unfinished workflow. Returns their ids. Safe to call twice. */
  async start (): Promise<string[]> {
    if (this.state !== undefined) return []
    this.controller = new AbortController()
    // Every task in flight listens on it (its market round, its executor discovery): bounded by the concurrency.
    setMaxListeners(4 * this.concurrency + 16, this.controller.signal)
    this.state = SchedulerState.open(this.init.dir)
    const resumed = this.state.unfinished().map(record => record.id)
    for (const id of resumed) {
      this.emit({ type: 'workflow:resumed', workflow: id })
      this.drive(id)
    }
    return resumed
  }

  /** Stops dispatching, aborts tasks in flight (they stay unfinished, to resume) and closes the state. Safe to call twice. */
  async stop (): Promise<void> {
    const state = this.state
    if (state === undefined) return
    this.controller.abort(new TaskError('Aborted', 'the scheduler is stopping'))
    await Promise.allSettled(this.runs.values())
    this.runs.clear()
    this.state = undefined
    await state.close()
  }

  /** Calls `listener` with every event from now on, until the returned function is called. */
  subscribe (listener: (event: SchedulerEvent) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  private emit (event: SchedulerEvent): void {
    this.init.onEvent?.(event)
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch {
        // A listener's failure is its own; the scheduler goes on.
      }
    }
  }

  /** True while workflow `id` is being run. */
  isRunning (id: string): boolean {
    return this.active.has(id)
  }

  private requireState (): SchedulerState {
    if (this.state === undefined) throw new Error('the scheduler is not started')
    return this.state
  }

  /**
   * Validates and records a workflow file, then runs it. The id is the file's
   * CID: submitting the same file again follows the same run while it goes
   * on, reports it when it succeeded, and runs its failed tasks again when it
   * did not (with `options.proof`, when given, as the new budget). Throws
   * `WorkflowValidationError` before recording anything.
   *
   * `options.proof` is the requester's `wasm/run` delegation to this
   * scheduler (a CAR), checked by the caller; the tasks of this workflow are
   * run under it. Without it they run under `init.proofs`.
   */
  async submit (bytes: Uint8Array, source = 'workflow', options: { proof?: Uint8Array } = {}): Promise<string> {
    const state = this.requireState()
    const plan = loadWorkflow(bytes, source)
    const id = cidOf(bytes, codecs.raw).toString()
    const added = await state.addWorkflow({ id, source, bytes, tasks: plan.tasks.length, status: 'active', submittedAt: Date.now(), ...(options.proof !== undefined ? { proof: options.proof } : {}) })
    if (!added) {
      if (this.active.has(id)) return id
      const record = state.getWorkflow(id) as WorkflowRecord
      if (record.status === 'finished' && this.summary(id).ok) return id
      await state.reopen(id, options.proof)
    }
    this.drive(id, plan)
    return id
  }

  /** Resolves when workflow `id` has no more tasks to run. */
  async wait (id: string, options: { signal?: AbortSignal } = {}): Promise<WorkflowSummary> {
    const run = this.runs.get(id) ?? Promise.resolve(this.summary(id))
    if (options.signal === undefined) return await run
    const signal = options.signal
    return await new Promise<WorkflowSummary>((resolve, reject) => {
      const onAbort = (): void => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
      run.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
    })
  }

  /** The recorded state of workflow `id`. */
  summary (id: string): WorkflowSummary {
    const state = this.requireState()
    const record = state.getWorkflow(id)
    if (record === undefined) throw new RangeError(`unknown workflow ${id}`)
    const tasks = state.taskStates(id, record.tasks).map(task => this.withVerification(task))
    return { id, ok: tasks.every(task => task.state === 'done'), tasks }
  }

  /** The recorded state of one task of workflow `id`. */
  taskState (id: string, index: number): TaskState {
    return this.withVerification(this.requireState().taskState(id, index))
  }

  /** A finished task's state with where its receipt stands in verification (for executor receipts). */
  private withVerification (task: TaskState): TaskState {
    if (!isFinished(task) || this.init.verification === undefined) return task
    const verification = this.init.verification.stateOf(task.receipt)
    return verification === undefined ? task : { ...task, verification }
  }

  /**
   * Takes back a receipt proven fraudulent: it and the receipts of every task
   * that used its output (directly or not) are retracted, those tasks become
   * pending, and the workflow runs them again (once its current run, if any,
   * has ended), never with the executor that cheated.
   */
  async retract (record: Pick<VerificationRecord, 'workflow' | 'index' | 'receipt' | 'executor'>, reason = 'fraud proven'): Promise<void> {
    const state = this.requireState()
    const workflow = state.getWorkflow(record.workflow)
    if (workflow === undefined) return
    const running = this.runs.get(record.workflow)
    if (this.active.has(record.workflow) && running !== undefined) await running.catch(() => {})
    const plan = loadWorkflow(workflow.bytes, workflow.source)
    const affected = new Set<number>([record.index])
    for (const index of plan.order) {
      const task = plan.tasks[index] as PlannedTask
      if (task.dependsOn.some(dependency => affected.has(dependency))) affected.add(index)
    }
    const entries = [...affected].flatMap(index => {
      const current = state.taskState(record.workflow, index)
      if (index === record.index) return [{ receipt: record.receipt, index, executor: record.executor, reason }]
      return isFinished(current) ? [{ receipt: current.receipt, index, reason: `its input came from retracted receipt ${record.receipt}` }] : []
    })
    await state.retract(record.workflow, entries)
    for (const entry of entries) this.emit({ type: 'task:retracted', workflow: record.workflow, index: entry.index, receipt: entry.receipt, reason: entry.reason })
    if (this.state !== undefined && !this.controller.signal.aborted) this.drive(record.workflow)
  }

  private drive (id: string, plan?: WorkflowPlan): void {
    if (this.active.has(id)) return
    this.active.add(id)
    const run = this.runWorkflow(id, plan).finally(() => { this.active.delete(id) })
    this.runs.set(id, run)
    // Errors reach whoever waits; the map entry stays so `wait` sees the outcome.
    run.catch(() => {})
  }

  private async acquire (): Promise<void> {
    while (this.running >= this.concurrency) await new Promise<void>(resolve => this.slotWaiters.push(resolve))
    this.running++
  }

  private release (): void {
    this.running--
    this.slotWaiters.shift()?.()
  }

  private async runWorkflow (id: string, givenPlan?: WorkflowPlan): Promise<WorkflowSummary> {
    const state = this.requireState()
    const record = state.getWorkflow(id) as WorkflowRecord
    const plan = givenPlan ?? loadWorkflow(record.bytes, record.source)
    const proofs = this.proofsOf(record)
    const terms = this.termsOf(id, proofs, plan)
    const states = state.taskStates(id, plan.tasks.length)
    const outcomes: Array<Outcome | undefined> = new Array(plan.tasks.length)
    const { repo } = this.init
    const signal = this.controller.signal

    for (const task of plan.tasks) {
      const current = states[task.index] as TaskState
      if (isFinished(current)) {
        outcomes[task.index] = await this.outcomeOf(current.receipt)
        continue
      }
      // Pending, or running when the last process died: the memo answers what already ran.
      const receiptCid = await repo.receipts.get(task.instructionCid)
      // A retracted receipt (proven fraudulent, or computed from one) is no answer.
      if (receiptCid === undefined || state.retraction(receiptCid.toString()) !== undefined) continue
      const out = await this.outcomeOf(receiptCid.toString())
      if (out === undefined || !('ok' in out)) continue
      outcomes[task.index] = out
      states[task.index] = { state: 'done', receipt: receiptCid.toString() }
      await state.setTask(id, task.index, states[task.index] as TaskState)
      this.emit({ type: 'task:memoized', workflow: id, index: task.index })
    }

    const inFlight = new Set<Promise<void>>()
    const started = new Set<number>()
    const isReady = (task: PlannedTask): boolean =>
      !started.has(task.index) && !isFinished(states[task.index] as TaskState) && task.dependsOn.every(d => isFinished(states[d] as TaskState))
    for (;;) {
      if (signal.aborted) break
      const ready = plan.order.map(index => plan.tasks[index] as PlannedTask).filter(isReady)
      if (ready.length === 0 && inFlight.size === 0) break
      for (const task of ready) {
        started.add(task.index)
        await this.acquire()
        const job: Promise<void> = this.runTask(id, task, plan.tasks, outcomes, states, proofs, terms)
          .finally(() => { this.release(); inFlight.delete(job) })
        inFlight.add(job)
        if (signal.aborted) break
      }
      // Wait for one task to end: it may make others ready.
      if (inFlight.size > 0) await Promise.race(inFlight)
    }
    await Promise.allSettled(inFlight)
    const summary = { id, ok: states.every(task => task.state === 'done'), tasks: [...states] }
    if (!signal.aborted && states.every(isFinished)) {
      await state.finishWorkflow(id)
      this.emit({ type: 'workflow:finished', workflow: id })
    }
    return summary
  }

  /** The delegations a workflow's tasks run under: the requester's budget, else the scheduler's own proofs. */
  private proofsOf (record: WorkflowRecord): Delegation[] {
    if (record.proof === undefined) return this.init.proofs ?? []
    const extracted = extractDelegation(record.proof)
    // Checked when submitted; a CAR that no longer reads leaves the tasks to fail on authority, with a name.
    return extracted.error !== undefined ? [] : [extracted.ok]
  }

  /** Who pays for a workflow's tasks, at what highest price, within what total: from its budget's `wasm/run` grant. */
  private termsOf (id: string, proofs: Delegation[], plan: WorkflowPlan): Omit<MarketTerms, 'index'> {
    const grant = proofs.length === 0 ? undefined : wasmRunGrants(proofs[0] as Delegation).ok?.[0]
    const payer = grant?.with ?? this.init.signer?.did() ?? 'did:key:unknown'
    const maxPrice = grant?.maxPrice ?? this.init.maxPrice ?? DEFAULT_MAX_PRICE
    // Verifiers whose attestation makes a result final: the file's `market.trustedVerifiers` (validated when parsed).
    const listed = plan.market?.trustedVerifiers
    const trusted = Array.isArray(listed) ? listed.filter((did): did is DID => typeof did === 'string') : undefined
    return { workflow: id, payer, maxPrice, ...(grant?.maxSpend !== undefined ? { budget: grant.maxSpend } : {}), ...(trusted !== undefined ? { trustedVerifiers: trusted } : {}) }
  }

  private async outcomeOf (receiptCid: string): Promise<Outcome | undefined> {
    const bytes = await this.init.repo.blocks.get(CID.parse(receiptCid))
    return bytes === undefined ? undefined : decodeBlock<Receipt>(bytes).out
  }

  /** Runs one task and records its outcome: receipt in the Repo first, then the state. */
  private async runTask (id: string, task: PlannedTask, tasks: PlannedTask[], outcomes: Array<Outcome | undefined>, states: TaskState[], proofs: Delegation[], terms: Omit<MarketTerms, 'index'>): Promise<void> {
    const state = this.requireState()
    const signal = this.controller.signal
    let result: ExecutionResult
    let authorized: AuthorizedInvocation | undefined
    try {
      const input = substitutePromises(task.instruction.input, (link, selector) => {
        const index = task.awaits.find(ref => ref.link.equals(link))?.task ?? -1
        const dependency = tasks[index] as PlannedTask
        const out = outcomes[index]
        return promisedValue(selector, { path: dependency.path, func: String(dependency.instruction.input.func), instructionCid: dependency.instructionCid, ...(out !== undefined ? { out } : {}) })
      }) as { [key: string]: IpldValue }
      if (this.init.signer !== undefined && !isRemoteExecutor(this.init.executor)) {
        const signed = await signInvocation(taskValue(task), this.init.signer, proofs)
        authorized = { invocation: signed.invocation, authorization: signed.authorization, proofs }
      }
      // Not awaited: after a crash a running task is resumed exactly like a pending one, so this
      // write informs (status, who runs what) and need not be durable before the task starts.
      void state.setTask(id, task.index, { state: 'running', executor: 'unassigned', since: Date.now() })
      // The remote executor reports who accepted; the state then names that executor.
      const options: RemoteExecuteOptions = {
        signal,
        proofs,
        onAssigned: peer => {
          void state.setTask(id, task.index, { state: 'running', executor: peer.toString(), since: Date.now() })
          this.emit({ type: 'task:running', workflow: id, index: task.index, executor: peer.toString() })
        }
      }
      const { market } = this.init
      result = market !== undefined
        ? await market.run(executionTask(task, input, authorized), {
          ...options,
          terms: { ...terms, index: task.index },
          exclude: state.cheatersOf(id, task.index),
          onWaiting: reason => {
            void state.setTask(id, task.index, { state: 'waiting', reason, since: Date.now() })
            this.emit({ type: 'task:waiting', workflow: id, index: task.index, reason })
          }
        })
        : await this.init.executor.execute(executionTask(task, input, authorized), options)
    } catch (err) {
      if (!(err instanceof TaskError)) throw err
      result = { out: { error: err.toValue() }, executed: false, durationMs: 0, fuel: null }
    }
    // An interrupted run is not an outcome: the task stays unfinished, to be reassigned.
    if ('error' in result.out && result.out.error.name === 'Aborted') return

    let receipt: Block<Receipt>
    const blocks: Array<{ cid: CID, bytes: Uint8Array }> = [{ cid: task.instructionCid, bytes: task.instructionBytes }]
    if (isRemoteResult(result)) {
      // The executor's own signed receipt, verified by the RemoteExecutor, is the record.
      receipt = result.receipt
      blocks.push(result.invocation, result.authorization, result.args, ...result.proofBlocks)
    } else {
      if (authorized === undefined && this.init.signer !== undefined) {
        // A receipt the scheduler signs rests on an invocation it signs: the requester checks both.
        const signed = await signInvocation(taskValue(task), this.init.signer, proofs)
        authorized = { invocation: signed.invocation, authorization: signed.authorization, proofs }
      }
      const invocation: Block<Invocation> = authorized?.invocation ?? invocationBlock(taskValue(task))
      const init = { ran: invocation.cid, out: result.out, meta: receiptMeta(result) }
      receipt = this.init.signer !== undefined ? await signReceipt(receiptValue(init), this.init.signer) : receiptBlock(init)
      blocks.push(invocation)
      if (authorized !== undefined) blocks.push(authorized.authorization, ...authorized.proofs.flatMap(delegationBlocks))
    }
    blocks.push(receipt)
    await this.init.repo.commit({ blocks, receipt: { instructionCids: instructionKeys(task), receiptCid: receipt.cid } })
    const out = receipt.value.out
    const market: TaskCost | undefined = isMarketResult(result) ? { executor: result.executor.did, price: result.price, cost: result.cost, escrow: result.escrow } : undefined
    const next: TaskState = 'ok' in out
      ? { state: 'done', receipt: receipt.cid.toString(), ...(market !== undefined ? { market } : {}) }
      : { state: 'failed', receipt: receipt.cid.toString(), error: { name: out.error.name, message: out.error.message }, ...(market !== undefined ? { market } : {}) }
    await state.setTask(id, task.index, next)
    if (isRemoteResult(result) && this.init.verification !== undefined) {
      // Unchecked until a verifier attests it or the challenge window ends; verifiers get it now.
      const fuel = result.fuel
      const escrow = market !== undefined ? this.init.market?.ledger.escrow(market.escrow) : undefined
      await this.init.verification.register({
        receipt,
        workflow: id,
        index: task.index,
        instruction: task.instructionCid,
        executor: result.executor.did,
        peer: result.executor.peer,
        digest: outcomeDigest(task.instructionCid, out, fuel),
        payer: terms.payer,
        ...(terms.trustedVerifiers !== undefined ? { trusted: terms.trustedVerifiers } : {}),
        ...(escrow !== undefined ? { escrow: escrow.id, escrowAmount: escrow.amount } : {})
      }).catch(err => { this.emit({ type: 'task:waiting', workflow: id, index: task.index, reason: `verification could not record the receipt: ${(err as Error).message}` }) })
    }
    outcomes[task.index] = out
    states[task.index] = next
    this.emit({ type: 'task:finished', workflow: id, index: task.index, state: next })
  }
}

