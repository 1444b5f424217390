/**
 * The scheduler's side of `/ipvm/submit/1.0.0`: takes workflows from
 * requesters, checks their budget delegation, records them with the
 * {@link Scheduler} and streams each task's progress and signed receipt back
 * until the workflow ends. A requester that goes away loses nothing: the
 * workflow runs on, and submitting the same file again follows it.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { readRequestFrame, writeMessage } from '../src/net/framing.js'
import { MalformedMessageError } from '../src/net/errors.js'
import {
  DEFAULT_MAX_SUBMIT_REQUEST_BYTES, InvalidSubmitRequestError, MAX_SUBMIT_ANSWER_BYTES, SUBMIT_HEARTBEAT_MS, SUBMIT_PROTOCOL, parseSubmitRequest
} from '../src/net/protocols/submit.js'
import { extractDelegation } from '../src/auth/delegation.js'
import { validateGrant } from '../src/auth/validate.js'
import { receiptBundle } from '../src/auth/sign.js'
import { IpvmError, WorkflowValidationError } from '../src/errors.js'
import { loadWorkflow } from '../src/workflow/plan.js'
import type { Connection, Libp2p, Logger, Stream } from '@libp2p/interface'
import type { DID } from '../src/auth/types.js'
import type { RevocationStore } from '../src/auth/revocations.js'
import type { Receipt } from '../src/model/types.js'
import type { Repo } from '../src/store/interface.js'
import type { SubmitAnswer, SubmitStatus } from '../src/net/protocols/submit.js'
import type { Scheduler, SchedulerEvent } from './scheduler.js'
import type { TaskState } from './state.js'

/** The submission carries no budget, or one this scheduler cannot use. */
export class UnauthorizedSubmissionError extends IpvmError {
  override name = 'Unauthorized'
}

/** Options of {@link SubmitService}. */
export interface SubmitServiceInit {
  scheduler: Scheduler
  /** Where the scheduler commits receipts: they are read back from here to be sent. */
  repo: Repo
  /** The scheduler's DID: budgets must be delegated to it. */
  did: DID
  /**
   * Refuse workflows that come without a `wasm/run` delegation to `did`.
   * Without one, tasks would spend the scheduler's own authority.
   * @default true
   */
  requireProof?: boolean
  /** Revoked budgets are refused. */
  revocations?: RevocationStore
  /**
   * Largest submission accepted (bytes).
   * @default 4194304
   */
  maxRequestBytes?: number
  /**
   * Time allowed for the submission to arrive (ms).
   * @default 10000
   */
  requestTimeoutMs?: number
  /**
   * Most submissions followed at once.
   * @default 32
   */
  maxStreams?: number
  /**
   * Time between two status messages when nothing else happens (ms).
   * @default 5000
   */
  heartbeatMs?: number
}

/**
 * @example
 * ```ts
 * const service = new SubmitService(node.libp2p, { scheduler, repo, did: identity.did })
 * await service.start()
 * ```
 */
export class SubmitService {
  private readonly node: Pick<Libp2p, 'handle' | 'unhandle' | 'logger'>
  private readonly init: SubmitServiceInit
  private readonly log: Logger
  private controller = new AbortController()
  private started = false
  private readonly following = new Set<Stream>()

  constructor (node: Pick<Libp2p, 'handle' | 'unhandle' | 'logger'>, init: SubmitServiceInit) {
    this.node = node
    this.init = init
    this.log = node.logger.forComponent('ipvm:scheduler:submit')
    this.handleStream = this.handleStream.bind(this)
  }

  /** Submissions being followed now. */
  get streams (): number { return this.following.size }

  /** Registers the protocol handler. Safe to call twice. */
  async start (): Promise<void> {
    if (this.started) return
    this.controller = new AbortController()
    await this.node.handle(SUBMIT_PROTOCOL, this.handleStream, { maxInboundStreams: this.init.maxStreams ?? 32 })
    this.started = true
  }

  /** Unregisters the handler and ends every followed stream (the workflows stay recorded). Safe to call twice. */
  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.controller.abort(new IpvmError('the scheduler is stopping'))
    await this.node.unhandle(SUBMIT_PROTOCOL)
    for (const stream of this.following) stream.abort(new IpvmError('the scheduler is stopping'))
  }

  private async send (stream: Stream, answer: SubmitAnswer): Promise<void> {
    await writeMessage(stream, answer, { maxMessageBytes: MAX_SUBMIT_ANSWER_BYTES, signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(30_000)]) })
  }

  private async refuse (stream: Stream, remote: string, err: Error): Promise<void> {
    this.log('refused a submission from %s: %s: %s', remote, err.name, err.message)
    try {
      await this.send(stream, { error: { name: err.name, message: err.message } })
      await stream.close({ signal: AbortSignal.timeout(5_000) })
    } catch {
      stream.abort(err)
    }
  }

  private async handleStream (stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer.toString()
    const frame = await readRequestFrame(stream, {
      maxBytes: this.init.maxRequestBytes ?? DEFAULT_MAX_SUBMIT_REQUEST_BYTES,
      timeoutMs: this.init.requestTimeoutMs ?? 10_000,
      what: 'submission',
      signal: this.controller.signal
    })
    if ('error' in frame) { await this.refuse(stream, remote, frame.error); return }
    let id: string
    let tasks: number
    try {
      let decoded: unknown
      try {
        decoded = dagCbor.decode(frame.bytes)
      } catch (err) {
        throw new MalformedMessageError(`submission is not DAG-CBOR: ${(err as Error).message}`)
      }
      const request = parseSubmitRequest(decoded)
      // The file first: its errors are the more useful answer.
      loadWorkflow(request.workflow, request.source)
      await this.checkProof(request.proof)
      id = await this.init.scheduler.submit(request.workflow, request.source, request.proof !== undefined ? { proof: request.proof } : {})
      tasks = this.init.scheduler.summary(id).tasks.length
    } catch (err) {
      if (err instanceof MalformedMessageError || err instanceof InvalidSubmitRequestError || err instanceof WorkflowValidationError || err instanceof UnauthorizedSubmissionError) {
        await this.refuse(stream, remote, err)
        return
      }
      this.log.error('submission from %s failed: %e', remote, err)
      await this.refuse(stream, remote, new IpvmError(`the scheduler could not take the workflow: ${(err as Error).message}`))
      return
    }
    this.log('workflow %s from %s: %d tasks', id, remote, tasks)
    this.following.add(stream)
    try {
      await this.send(stream, { accepted: { id, tasks, scheduler: this.init.did } })
      await this.follow(stream, id)
    } catch (err) {
      // The requester went away, or the scheduler is stopping: the workflow goes on regardless.
      this.log('stopped following workflow %s for %s: %s', id, remote, (err as Error).message)
      stream.abort(err as Error)
    } finally {
      this.following.delete(stream)
    }
  }

  private async checkProof (proof: Uint8Array | undefined): Promise<void> {
    if (proof === undefined) {
      if (this.init.requireProof === false) return
      throw new UnauthorizedSubmissionError(`a workflow needs a wasm/run delegation to this scheduler (${this.init.did}) as its budget`)
    }
    const extracted = extractDelegation(proof)
    if (extracted.error !== undefined) throw new UnauthorizedSubmissionError(`the proof is unusable: ${extracted.error.name}: ${extracted.error.message}`)
    const checked = await validateGrant(extracted.ok, { audience: this.init.did, ...(this.init.revocations !== undefined ? { revocations: this.init.revocations } : {}) })
    if (checked.error !== undefined) throw new UnauthorizedSubmissionError(`the proof is refused: ${checked.error.name}: ${checked.error.message}`)
  }

  /** Streams the workflow's progress until it ends; throws when the stream fails. */
  private async follow (stream: Stream, id: string): Promise<void> {
    const { scheduler } = this.init
    const sent = new Set<number>()
    let outbox: Promise<void> = Promise.resolve()
    let failure: Error | undefined
    // One write at a time, in order; the first failure stops the rest.
    const enqueue = (make: () => Promise<SubmitAnswer | undefined>): void => {
      outbox = outbox.then(async () => {
        if (failure !== undefined) return
        const answer = await make()
        if (answer !== undefined) await this.send(stream, answer)
      }).catch((err: Error) => { failure ??= err })
    }
    const finished = (index: number, state: TaskState, memoized: boolean): void => {
      if (sent.has(index) || (state.state !== 'done' && state.state !== 'failed')) return
      sent.add(index)
      enqueue(async () => await this.taskAnswer(index, state, memoized))
    }
    const onEvent = (event: SchedulerEvent): void => {
      if (!('workflow' in event) || event.workflow !== id) return
      if (event.type === 'task:running') enqueue(async () => ({ task: { index: event.index, state: 'running', executor: event.executor } }))
      else if (event.type === 'task:waiting') enqueue(async () => ({ task: { index: event.index, state: 'waiting', reason: event.reason } }))
      else if (event.type === 'task:finished') finished(event.index, event.state, false)
      // One read for this task: a workflow answered from the memo sends one event per task.
      else if (event.type === 'task:memoized') finished(event.index, scheduler.taskState(id, event.index), true)
    }
    const unsubscribe = scheduler.subscribe(onEvent)
    const heartbeat = setInterval(() => { enqueue(async () => ({ status: this.status(id) })) }, this.init.heartbeatMs ?? SUBMIT_HEARTBEAT_MS)
    const gone = new AbortController()
    const onClose = (): void => { gone.abort(new IpvmError('the requester closed the stream')) }
    stream.addEventListener('close', onClose)
    try {
      // What finished before this stream followed: sent first (memoized from the requester's view).
      scheduler.summary(id).tasks.forEach((state, index) => { finished(index, state, true) })
      const summary = await scheduler.wait(id, { signal: AbortSignal.any([gone.signal, this.controller.signal]) })
      summary.tasks.forEach((state, index) => { finished(index, state, true) })
      await outbox
      if (failure !== undefined) throw failure
      if (sent.size < summary.tasks.length) throw new IpvmError('the workflow stopped before every task finished')
      await this.send(stream, { done: { ok: summary.ok } })
      await stream.close({ signal: AbortSignal.timeout(5_000) })
    } finally {
      clearInterval(heartbeat)
      unsubscribe()
      stream.removeEventListener('close', onClose)
    }
  }

  private status (id: string): SubmitStatus {
    const status: Required<SubmitStatus> = { done: 0, failed: 0, running: 0, pending: 0, waiting: 0 }
    for (const task of this.init.scheduler.summary(id).tasks) status[task.state]++
    return status
  }

  private async taskAnswer (index: number, state: Extract<TaskState, { receipt: string }>, memoized: boolean): Promise<SubmitAnswer | undefined> {
    const blocks = this.init.repo.blocks
    const bytes = await blocks.get(CID.parse(state.receipt))
    if (bytes === undefined) throw new IpvmError(`receipt ${state.receipt} of task ${index} is not in the store`)
    const receipt = dagCbor.decode<Receipt>(bytes)
    const market = state.market === undefined ? undefined : { executor: state.market.executor, price: state.market.price, cost: state.market.cost }
    return { task: { index, state: state.state, memoized, receipt: bytes, blocks: await receiptBundle(blocks, receipt), ...(market !== undefined ? { market } : {}) } }
  }
}
