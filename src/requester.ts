/**
 * The requester: hands a workflow file to a scheduler over
 * `/ipvm/submit/1.0.0` and follows it to the end.
 *
 * - It serves its own blocks (modules, input files) and announces them in the
 *   DHT, so executors fetch what the tasks need straight from it.
 * - It gives the scheduler a budget: a `wasm/run` delegation to the
 *   scheduler's DID, narrowed to the workflow's modules and fuel, short-lived
 *   (or derived from a delegation the requester itself holds).
 * - It trusts neither the scheduler nor the executors for results: every
 *   receipt is verified (the executor's signature, its invocation's UCAN
 *   chain, and that it answers the task's own instruction) before it is
 *   stored or reported. A receipt that does not verify is an
 *   `InvalidReceipt` error for that task.
 * - A dropped stream or a restarted scheduler is not a failure: it submits the
 *   same file again, which follows the same run.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { IpvmError, TaskError } from './errors.js'
import { cidOf, codecs } from './model/block.js'
import { outcomeDigest } from './model/receipt.js'
import { archiveDelegation, delegateWasmRun, matchesCid, wasmRunGrants } from './auth/delegation.js'
import { verifyReceipt } from './auth/sign.js'
import { DelegationCache } from './auth/validate.js'
import { peerDid } from './executor/remote.js'
import { loadWorkflow } from './workflow/plan.js'
import { instructionKeys } from './workflow/task.js'
import { findPeersByRole } from './net/discovery.js'
import { BlockExchange } from './net/protocols/blocks.js'
import { NetworkBlocks } from './net/network-blocks.js'
import { SubmissionRefusedError, submitWorkflow } from './net/protocols/submit.js'
import { DEFAULT_MAX_PRICE, DEFAULT_TASK_FUEL } from './constants.js'
import { isAmount } from './model/price.js'
import type { Logger, PeerId } from '@libp2p/interface'
import { isMultiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { IpvmNode } from './net/node.js'
import type { Repo } from './store/interface.js'
import type { Delegation } from './auth/delegation.js'
import type { RemoteExecutorInit } from './executor/remote.js'
import type { Invocation, IpldValue, Receipt } from './model/types.js'
import type { PlannedTask, WorkflowPlan } from './workflow/types.js'
import type { TaskReport, WorkflowEvent, WorkflowReport } from './workflow/run.js'
import type { SubmitStatus, TaskUpdate } from './net/protocols/submit.js'

/** How long an announcement of a block is trusted to stand before it is made again (ms). */
const REANNOUNCE_MS = 60 * 60 * 1000

/** No scheduler could be reached (none found, or it stayed away longer than allowed). */
export class SchedulerUnavailableError extends IpvmError {
  override name = 'SchedulerUnavailableError'
}

/** Options of {@link Requester}. */
export interface RequesterInit {
  /** A started node. */
  node: IpvmNode
  /** Where modules and inputs are served from, and verified receipts stored. */
  repo: Repo
  /** The requester's signer (same key as the node's PeerId, or not: it only signs the budget). */
  signer: RemoteExecutorInit['signer']
}

/** Options of {@link Requester.submit}. */
export interface SubmitOptions {
  /** The scheduler: a PeerId (known to the node) or a multiaddr with `/p2p/`. Found in the DHT when absent. */
  scheduler?: PeerId | Multiaddr
  /** Delegations that give the requester its authority (when it acts for another); none: it spends its own. */
  proofs?: Delegation[]
  /** Lifetime of the budget given to the scheduler (s). @default 86400 */
  budgetTtlSeconds?: number
  /**
   * How long a scheduler may stay unreachable (dropped stream, restart)
   * before the submission fails (ms).
   * @default 60000
   */
  reconnectMs?: number
  /** Time allowed between two messages of the scheduler (ms). @default 30000 */
  silenceMs?: number
  signal?: AbortSignal
  onEvent?: (event: WorkflowEvent | { type: 'status', status: SubmitStatus } | { type: 'reconnecting', error: string } | { type: 'task:waiting', index: number, reason: string }) => void
  /** Highest price the budget allows (credits per million fuel). @default the workflow's `market.maxPrice`, else 10 */
  maxPrice?: number
  /** Most credits the whole workflow may commit. @default the workflow's `market.budget`, else no limit but the balance */
  budget?: number
}

/**
 * @example
 * ```ts
 * const requester = new Requester({ node, repo, signer: identity.signer })
 * await requester.start()
 * const report = await requester.submit(bytes, 'flow.json', { scheduler: schedulerAddress })
 * ```
 */
export class Requester {
  private readonly init: RequesterInit
  private readonly exchange: BlockExchange
  private readonly blocks: NetworkBlocks
  private readonly cache = new DelegationCache()
  /** When each CID was last announced in the DHT (performance.now()). */
  private readonly announced = new Map<string, number>()
  private readonly log: Logger

  constructor (init: RequesterInit) {
    this.init = init
    this.exchange = new BlockExchange(init.node.libp2p, { blocks: init.repo.blocks })
    this.blocks = new NetworkBlocks({ local: init.repo.blocks, node: init.node, exchange: this.exchange, queryTimeoutMs: 10_000 })
    this.log = init.node.libp2p.logger.forComponent('ipvm:requester')
  }

  /** Starts serving blocks. Safe to call twice. */
  async start (): Promise<void> {
    await this.exchange.start()
  }

  /** Stops serving blocks. Safe to call twice. */
  async stop (): Promise<void> {
    await this.exchange.stop()
  }

  /**
   * Submits a workflow file and resolves with its report once every task has
   * a verified receipt. Throws `WorkflowValidationError` (checked here first),
   * {@link SubmissionRefusedError} and {@link SchedulerUnavailableError}.
   */
  async submit (bytes: Uint8Array, source: string, options: SubmitOptions = {}): Promise<WorkflowReport> {
    const started = performance.now()
    const plan = loadWorkflow(bytes, source)
    const signal = options.signal ?? new AbortController().signal
    const reports: Array<TaskReport | undefined> = new Array(plan.tasks.length)
    options.onEvent?.({ type: 'workflow:start', tasks: plan.tasks.length })
    try {
      await this.follow(bytes, source, plan, reports, signal, options)
    } catch (err) {
      // Interrupted: what finished is reported (and stored); the rest did not run here.
      if (!signal.aborted) throw err
    }
    const tasks = plan.tasks.map((task, index) => reports[index] ?? {
      index, path: task.path, func: String(task.instruction.input.func), instructionCid: task.instructionCid,
      status: 'not-run' as const, cached: false, fuel: null
    })
    const failed = tasks.filter(task => task.status !== 'ok').length
    const priced = tasks.filter(task => task.cost !== undefined)
    return {
      source,
      tasks,
      ok: failed === 0,
      executed: tasks.filter(task => !task.cached && task.durationMs !== undefined).length,
      cached: tasks.filter(task => task.cached).length,
      failed,
      durationMs: performance.now() - started,
      ...(priced.length > 0 ? { cost: priced.reduce((sum, task) => sum + (task.cost ?? 0), 0) } : {})
    }
  }

  /** Submits and follows until `{ done }`, submitting again after a dropped stream. */
  private async follow (bytes: Uint8Array, source: string, plan: WorkflowPlan, reports: Array<TaskReport | undefined>, signal: AbortSignal, options: SubmitOptions): Promise<void> {
    const { node } = this.init
    const onEvent = options.onEvent
    const scheduler = await this.findScheduler(options.scheduler, signal)
    await this.announce(plan, signal)
    const proof = await archiveDelegation(await this.budget(plan, scheduler, options))
    const reconnectMs = options.reconnectMs ?? 60_000
    let lastContact = performance.now()
    let done = false
    while (!done && !signal.aborted) {
      try {
        const answers = submitWorkflow(node.libp2p, scheduler, { workflow: bytes, source, proof }, {
          signal,
          ...(options.silenceMs !== undefined ? { silenceMs: options.silenceMs } : {})
        })
        for await (const answer of answers) {
          lastContact = performance.now()
          if ('accepted' in answer) {
            if (answer.accepted.tasks !== plan.tasks.length) throw new IpvmError(`the scheduler planned ${answer.accepted.tasks} tasks, the file has ${plan.tasks.length}`)
          } else if ('status' in answer) {
            onEvent?.({ type: 'status', status: answer.status })
          } else if ('task' in answer) {
            await this.onTask(plan, answer.task, reports, onEvent)
          } else if ('done' in answer) {
            done = true
          }
        }
      } catch (err) {
        if (err instanceof SubmissionRefusedError || signal.aborted) throw err
        const waited = performance.now() - lastContact
        this.log('the scheduler %p is unreachable (%s); %d ms so far', scheduler, (err as Error).message, Math.round(waited))
        if (waited > reconnectMs) throw new SchedulerUnavailableError(`the scheduler ${scheduler.toString()} stayed unreachable for ${Math.round(waited / 1000)} s: ${(err as Error).message}`)
        onEvent?.({ type: 'reconnecting', error: (err as Error).message })
        await new Promise<void>(resolve => { setTimeout(resolve, 500) })
      }
    }
  }

  private async findScheduler (given: PeerId | Multiaddr | undefined, signal: AbortSignal): Promise<PeerId> {
    const { node } = this.init
    if (given !== undefined && !isMultiaddr(given)) return given
    if (given !== undefined) {
      const connection = await node.libp2p.dial(given, { signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) }).catch((err: Error) => {
        throw new SchedulerUnavailableError(`cannot reach the scheduler at ${given.toString()}: ${err.message}`)
      })
      return connection.remotePeer
    }
    const found = await findPeersByRole(node, 'scheduler', { signal, limit: 1, timeoutMs: 10_000 }).catch(() => [])
    const first = found[0]
    if (first === undefined) throw new SchedulerUnavailableError('no scheduler found in the DHT; give one with --scheduler ADDR')
    return first.id
  }

  /** Announces the modules and linked inputs this node holds, so executors can fetch them. */
  private async announce (plan: WorkflowPlan, signal: AbortSignal): Promise<void> {
    const cids = new Map<string, CID>()
    for (const task of plan.tasks) {
      cids.set(task.module.toString(), task.module)
      for (const link of linksOf(task.instruction.input)) cids.set(link.toString(), link)
    }
    await Promise.all([...cids.values()].map(async cid => {
      const key = cid.toString()
      // Provider records live for hours: what this requester announced lately needs no second announcement.
      if (performance.now() - (this.announced.get(key) ?? -Infinity) < REANNOUNCE_MS) return
      if (!await this.init.repo.blocks.has(cid)) return
      try {
        await this.blocks.provide(cid, { signal })
        this.announced.set(key, performance.now())
      } catch (err) {
        // Not fatal: another node may hold it; the task's receipt will name what could not be found.
        this.log('could not announce %s: %s', cid, (err as Error).message)
      }
    }))
  }

  /**
   * The scheduler's budget: the workflow's modules and its largest fuel limit,
   * for a day; never more than the requester's own proof grants (tasks beyond
   * it then fail at the executor with `CaveatExceeded`, naming the limit).
   */
  private async budget (plan: WorkflowPlan, scheduler: PeerId, options: SubmitOptions): Promise<Delegation> {
    let modules = [...new Map(plan.tasks.map(task => [task.module.toString(), task.module])).values()]
    let maxFuel = plan.tasks.reduce((max, task) => Math.max(max, Number(task.meta.fuel ?? DEFAULT_TASK_FUEL)), 0)
    const [proof] = options.proofs ?? []
    const grant = proof === undefined ? undefined : wasmRunGrants(proof).ok?.[0]
    if (grant?.maxFuel !== undefined) maxFuel = Math.min(maxFuel, grant.maxFuel)
    // Price and total spend: given, else the workflow's `market` section, else the default price and no total.
    const market = plan.market ?? {}
    let maxPrice = options.maxPrice ?? (isAmount(market.maxPrice) ? market.maxPrice : DEFAULT_MAX_PRICE)
    let maxSpend = options.budget ?? (isAmount(market.budget) ? market.budget : undefined)
    if (grant?.maxPrice !== undefined) maxPrice = Math.min(maxPrice, grant.maxPrice)
    if (grant?.maxSpend !== undefined) maxSpend = Math.min(maxSpend ?? Infinity, grant.maxSpend)
    if (grant?.modules !== undefined) {
      const allowed = grant.modules
      const both = modules.filter(module => allowed.some(cid => cid.equals(module)))
      modules = both.length > 0 ? both : allowed
    }
    return await delegateWasmRun({
      issuer: this.init.signer,
      audience: peerDid(scheduler),
      caveats: { maxFuel, modules, maxPrice, ...(maxSpend !== undefined ? { maxSpend } : {}) },
      proofs: options.proofs ?? [],
      expiration: Math.floor(Date.now() / 1000) + (options.budgetTtlSeconds ?? 86_400)
    })
  }

  private async onTask (plan: WorkflowPlan, update: TaskUpdate, reports: Array<TaskReport | undefined>, onEvent: SubmitOptions['onEvent']): Promise<void> {
    const task = plan.tasks[update.index]
    if (task === undefined) throw new IpvmError(`the scheduler reported task ${update.index}, which the workflow does not have`)
    if (update.state === 'running') {
      if (reports[update.index] === undefined) onEvent?.({ type: 'task:start', index: update.index })
      return
    }
    if (update.state === 'waiting') {
      if (reports[update.index] === undefined) onEvent?.({ type: 'task:waiting', index: update.index, reason: update.reason })
      return
    }
    if (reports[update.index] !== undefined) return
    const report = await this.checkReceipt(task, update)
    reports[update.index] = report
    onEvent?.(report.cached ? { type: 'task:cached', task: report } : { type: 'task:done', task: report })
  }

  /** Verifies a receipt for `task` and stores it; a receipt that does not verify becomes an `InvalidReceipt` error. */
  private async checkReceipt (task: PlannedTask, update: Extract<TaskUpdate, { receipt: Uint8Array }>): Promise<TaskReport> {
    const base = { index: task.index, path: task.path, func: String(task.instruction.input.func), instructionCid: task.instructionCid, cached: update.memoized }
    const blocks = new Map(update.blocks.map(block => [block.cid.toString(), block.bytes]))
    const receiptCid = cidOf(update.receipt, codecs.dagCbor)
    // A result must rest on authority to compute it: its whole chain is checked. A failure (the
    // task exceeded its budget, no executor) claims nothing computed: its signer and its task are.
    const claimsResult = update.state === 'done'
    const verified = await verifyReceipt(update.receipt, {
      ...(claimsResult ? { blocks: { get: async (cid: CID) => blocks.get(cid.toString()) }, requireInvocation: true } : {}),
      cache: this.cache,
      // A receipt from earlier work was valid when it ran; its chain may have expired since.
      ...(update.memoized ? { now: null } : {})
    })
    let problem: string | undefined
    if (verified.error !== undefined) problem = `${verified.error.name}: ${verified.error.message}`
    else {
      const ran = ranInstruction(blocks, verified.ok.receipt)
      if (ran === undefined || !ran.equals(task.instructionCid)) problem = `it answers instruction ${String(ran)}, not ${task.instructionCid}`
      else if (claimsResult !== ('ok' in verified.ok.receipt.out)) problem = `it was reported ${update.state} but its outcome says otherwise`
    }
    if (problem !== undefined) {
      this.log.error('receipt %s for task %d does not verify: %s', receiptCid, task.index, problem)
      const error = new TaskError('InvalidReceipt', `${base.func}: the receipt ${receiptCid} does not verify: ${problem}`).toValue()
      return { ...base, cached: false, status: 'error', out: { error }, fuel: null }
    }
    const receipt = (verified.ok as { receipt: Receipt }).receipt
    await this.init.repo.commit({
      blocks: [{ cid: receiptCid, bytes: update.receipt }, ...update.blocks],
      receipt: { instructionCids: instructionKeys(task), receiptCid }
    })
    const fuel = (receipt.meta.fuel ?? null) as number | bigint | null
    const report: TaskReport = {
      ...base,
      status: 'ok' in receipt.out ? 'ok' : 'error',
      out: receipt.out,
      receiptCid,
      outcomeDigest: outcomeDigest(task.instructionCid, receipt.out, fuel),
      fuel,
      ...(receipt.iss !== undefined ? { executor: receipt.iss } : {})
    }
    if (typeof receipt.meta.time === 'number') report.durationMs = receipt.meta.time
    if (update.market !== undefined) {
      // The price is the one the executor signed into its invocation; the scheduler's word is only taken for the charge.
      const price = invocationPrice(blocks, receipt)
      if (price === update.market.price) {
        report.price = price
        report.cost = update.market.cost
      } else {
        this.log.error('task %d: the scheduler reports price %d but the invocation says %s', task.index, update.market.price, String(price))
      }
    }
    return report
  }
}

/** The instruction a receipt's invocation runs, read from the blocks sent with it. */
function ranInstruction (blocks: Map<string, Uint8Array>, receipt: Receipt): CID | undefined {
  const bytes = blocks.get(CID.asCID(receipt.ran)?.toString() ?? '')
  if (bytes === undefined || !matchesCid(CID.asCID(receipt.ran) as CID, bytes)) return undefined
  try {
    return CID.asCID(dagCbor.decode<Invocation>(bytes).task?.run) ?? undefined
  } catch {
    return undefined
  }
}

/** The `meta.price` of a receipt's invocation, read from the blocks sent with it. */
function invocationPrice (blocks: Map<string, Uint8Array>, receipt: Receipt): number | undefined {
  const bytes = blocks.get(CID.asCID(receipt.ran)?.toString() ?? '')
  if (bytes === undefined) return undefined
  try {
    const price = dagCbor.decode<Invocation>(bytes).task?.meta?.price
    return typeof price === 'number' ? price : undefined
  } catch {
    return undefined
  }
}

/** The links in a task's input outside promises: files and blocks its executor will need. */
function linksOf (value: IpldValue, depth = 0): CID[] {
  if (depth > 32 || value === null || typeof value !== 'object' || value instanceof Uint8Array) return []
  const cid = CID.asCID(value)
  if (cid !== null) return [cid]
  if (Array.isArray(value)) return value.flatMap(item => linksOf(item, depth + 1))
  const keys = Object.keys(value)
  if (keys.length === 1 && (keys[0] ?? '').startsWith('await/')) return []
  return Object.values(value).flatMap(item => linksOf(item as IpldValue, depth + 1))
}
