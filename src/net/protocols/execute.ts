/**
 * `/ipvm/execute/1.0.0`: a requester (the scheduler) asks an executor node to
 * run one task; the executor answers with a receipt it signed.
 *
 * Trust: the requester sends the instruction, the resolved arguments, the
 * limits and a `wasm/run` delegation addressed to the executor (narrowed to
 * the task's module and fuel). The executor is the invoker in UCAN terms (the
 * audience of the proofs), so it signs the invocation itself, and its
 * `LocalExecutor` validates that invocation's chain (requester → … →
 * executor, caveats, time, revocations) before any fuel is spent. The receipt
 * it signs names that invocation in `ran`, so anyone holding the returned
 * blocks can check both the executor's signature and its authority.
 *
 * The request is read by a reader of its own rather than `MessageReader`: an
 * oversize or malformed request must get a named error answer, and
 * `MessageReader` aborts the stream on those before an answer can be sent.
 * Answers are read with `MessageReader`.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { MessageReader, readRequestFrame, writeMessage } from '../framing.js'
import { MalformedMessageError, MessageTimeoutError } from '../errors.js'
import { signInvocation, signReceipt } from '../../auth/sign.js'
import { loadDelegation } from '../../auth/delegation.js'
import { receiptValue } from '../../model/receipt.js'
import { receiptMeta } from '../../workflow/task.js'
import { IpvmError } from '../../errors.js'
import {
  DEFAULT_EXECUTE_ACCEPT_TIMEOUT_MS, DEFAULT_EXECUTE_GRACE_MS, DEFAULT_MAX_CONCURRENT_EXECUTIONS,
  DEFAULT_MAX_EXECUTE_REQUEST_BYTES, DEFAULT_MAX_EXECUTE_RESPONSE_BYTES, EXECUTE_PROTOCOL,
  ExecutionRefusedError, ExecutorBusyError, InvalidExecuteRequestError, argumentsBlock, parseExecuteAnswer, parseExecuteRequest
} from './execute-messages.js'
import { DEFAULT_TASK_TIME_MS } from '../../constants.js'
import type { Connection, Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { Delegation } from '../../auth/delegation.js'
import type { Signer } from '../../auth/types.js'
import type { Executor } from '../../executor/interface.js'
import type { IpldValue } from '../../model/types.js'
import type { AbortOptions, Blocks, Repo } from '../../store/interface.js'
import type { ExecuteDone, ExecuteErrorAnswer, ExecuteRequest, ParsedExecuteRequest } from './execute-messages.js'

export * from './execute-messages.js'

/** The parts of a libp2p node the protocol uses. */
export type ExecuteNode = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'logger'>

/** Options of {@link ExecuteService}. */
export interface ExecuteServiceInit {
  /** This node's signer: it signs the invocations it runs and their receipts. Its DID must be the audience of the proofs. */
  signer: Signer
  /**
   * Runs the tasks: a `LocalExecutor` whose `identity` is `signer` and
   * `requireInvocation: true`, so the chain is checked before anything runs.
   * Its block store should be network-backed (`NetworkBlocks`) so modules and
   * linked arguments are fetched from providers.
   */
  executor: Executor
  /**
   * Where the module is fetched from before running (a network-backed store
   * fetches it from providers). The executor's own store is then enough.
   */
  blocks?: Blocks
  /** When given, the instruction, invocation, authorization, proofs and receipt are stored here. */
  repo?: Repo
  /**
   * Largest request accepted (bytes).
   * @default 4194304
   */
  maxRequestBytes?: number
  /**
   * Time allowed for the request to arrive (ms).
   * @default 10000
   */
  requestTimeoutMs?: number
  /**
   * Most tasks run at once for remote requesters; more are refused with `ExecutorBusyError`.
   * @default 4
   */
  maxConcurrent?: number
  /**
   * Decides whether to take an award (e.g. `BidPolicy.checkAward`): returns
   * the error to refuse it with, or `undefined`. Runs after the request is
   * parsed, before anything is signed or run.
   */
  checkAward?: (request: ParsedExecuteRequest) => Error | undefined
}

function errorAnswer (err: Error): ExecuteErrorAnswer {
  return { error: { name: err.name, message: err.message } }
}

/**
 * Serves `/ipvm/execute/1.0.0`: validates each request, fetches what the task
 * needs, runs it with its executor, signs and returns the receipt.
 *
 * @example
 * ```ts
 * const exchange = new BlockExchange(node.libp2p, { blocks: repo.blocks })
 * const blocks = new NetworkBlocks({ local: repo.blocks, node, exchange })
 * const executor = new LocalExecutor(blocks, { identity: identity.signer, requireInvocation: true })
 * const service = new ExecuteService(node.libp2p, { signer: identity.signer, executor, blocks, repo })
 * await service.start()
 * await advertiseRole(node, 'executor')
 * ```
 */
export class ExecuteService {
  private readonly node: ExecuteNode
  private readonly init: ExecuteServiceInit
  private readonly maxRequestBytes: number
  private readonly requestTimeoutMs: number
  private readonly maxConcurrent: number
  private readonly log: Logger
  private controller = new AbortController()
  private running = 0
  private started = false

  constructor (node: ExecuteNode, init: ExecuteServiceInit) {
    this.node = node
    this.init = init
    this.maxRequestBytes = init.maxRequestBytes ?? DEFAULT_MAX_EXECUTE_REQUEST_BYTES
    this.requestTimeoutMs = init.requestTimeoutMs ?? DEFAULT_EXECUTE_ACCEPT_TIMEOUT_MS
    this.maxConcurrent = init.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_EXECUTIONS
    for (const [option, value] of Object.entries({ maxRequestBytes: this.maxRequestBytes, requestTimeoutMs: this.requestTimeoutMs, maxConcurrent: this.maxConcurrent })) {
      if (!(value > 0)) throw new RangeError(`${option} must be positive, got ${value}`)
    }
    this.log = node.logger.forComponent('ipvm:net:execute')
    this.handleStream = this.handleStream.bind(this)
  }

  /** Tasks being run now. */
  get active (): number { return this.running }

  /** Registers the protocol handler. Safe to call twice. */
  async start (): Promise<void> {
    if (this.started) return
    this.controller = new AbortController()
    await this.node.handle(EXECUTE_PROTOCOL, this.handleStream, { maxInboundStreams: this.maxConcurrent * 2 })
    this.started = true
  }

  /** Unregisters the handler and aborts running tasks. Safe to call twice. */
  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.controller.abort(new IpvmError('the executor is stopping'))
    await this.node.unhandle(EXECUTE_PROTOCOL)
  }

  private async answer (stream: Stream, value: unknown): Promise<void> {
    await writeMessage(stream, value, { maxMessageBytes: DEFAULT_MAX_EXECUTE_RESPONSE_BYTES, signal: AbortSignal.timeout(this.requestTimeoutMs) })
  }

  private async refuse (stream: Stream, err: Error): Promise<void> {
    try {
      await this.answer(stream, errorAnswer(err))
      await stream.close({ signal: AbortSignal.timeout(this.requestTimeoutMs) })
    } catch {
      stream.abort(err)
    }
  }

  private async handleStream (stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer
    const frame = await readRequestFrame(stream, { maxBytes: this.maxRequestBytes, timeoutMs: this.requestTimeoutMs, what: 'execution request', signal: this.controller.signal })
    if ('error' in frame) {
      this.log('refused a request from %p: %s: %s', remote, frame.error.name, frame.error.message)
      await this.refuse(stream, frame.error)
      return
    }
    let decoded: unknown
    try {
      decoded = dagCbor.decode(frame.bytes)
    } catch (err) {
      const error = new MalformedMessageError(`request is not DAG-CBOR: ${(err as Error).message}`)
      this.log('refused a request from %p: %s: %s', remote, error.name, error.message)
      await this.refuse(stream, error)
      return
    }
    if (this.running >= this.maxConcurrent) {
      await this.refuse(stream, new ExecutorBusyError(`running ${this.running} tasks, the most this executor allows`))
      return
    }
    this.running++
    // The task stops when the requester goes away or the service stops.
    const gone = new AbortController()
    const onClose = (): void => { gone.abort(new IpvmError('the requester closed the stream')) }
    stream.addEventListener('close', onClose)
    const signal = AbortSignal.any([gone.signal, this.controller.signal])
    try {
      const done = await this.run(stream, decoded, signal)
      if (done === undefined) return
      await this.answer(stream, { done })
      await stream.close({ signal: AbortSignal.timeout(this.requestTimeoutMs) })
    } catch (err) {
      this.log.error('executing for %p failed: %e', remote, err)
      if (err instanceof InvalidExecuteRequestError || err instanceof AwardNotTakenError) {
        this.log('refused a request from %p: %s: %s', remote, err.name, err.message)
        await this.refuse(stream, err)
      }
      else stream.abort(err as Error)
    } finally {
      this.running--
      stream.removeEventListener('close', onClose)
    }
  }

  /** Validates, signs the invocation, accepts, runs, signs the receipt. `undefined` when refused. */
  private async run (stream: Stream, decoded: unknown, signal: AbortSignal): Promise<ExecuteDone | undefined> {
    const request = parseExecuteRequest(decoded)
    const refusal = this.init.checkAward?.(request)
    if (refusal !== undefined) throw new AwardNotTakenError(refusal)
    const getter = { get: async (cid: CID) => request.proofs.get(cid.toString())?.bytes }
    const cited: Delegation[] = []
    for (const link of request.prf) {
      const loaded = await loadDelegation(link, getter)
      if (loaded.error !== undefined) throw new InvalidExecuteRequestError(`proof ${link}: ${loaded.error.name}: ${loaded.error.message}`)
      cited.push(loaded.ok)
    }
    // Every delegation of the chain, so the executor's chain walk finds the ones the cited proofs link to.
    const delegations: Delegation[] = [...cited]
    for (const { cid } of request.proofs.values()) {
      if (cited.some(proof => proof.cid.toString() === cid.toString())) continue
      const loaded = await loadDelegation(cid, getter)
      if (loaded.error !== undefined) throw new InvalidExecuteRequestError(`proof block ${cid}: ${loaded.error.name}: ${loaded.error.message}`)
      delegations.push(loaded.ok)
    }
    const meta: { [key: string]: IpldValue } = {}
    for (const [key, value] of Object.entries(request.meta)) if (value !== undefined) meta[key] = value as IpldValue
    const signed = await signInvocation({ run: request.instructionCid, meta, prf: request.prf }, this.init.signer, cited)
    await this.answer(stream, { accepted: { invocation: signed.invocation.cid } })

    // Fetch the module's root from providers now: the executor checks presence before reading.
    if (this.init.blocks !== undefined) {
      try {
        await this.init.blocks.get(request.module, { signal })
      } catch (err) {
        this.log('module %s could not be fetched: %s', request.module, (err as Error).message)
      }
    }
    const result = await this.init.executor.execute({
      instruction: request.instruction,
      instructionCid: request.instructionCid,
      module: request.module,
      func: request.func,
      args: request.args,
      meta: request.meta,
      invocation: { invocation: signed.invocation, authorization: signed.authorization, proofs: delegations }
    }, { signal })
    if (signal.aborted) throw signal.reason as Error
    const receipt = await signReceipt(receiptValue({ ran: signed.invocation.cid, out: result.out, meta: receiptMeta(result) }), this.init.signer)
    if (this.init.repo !== undefined) {
      await this.init.repo.commit({
        // With the arguments block `meta.args` names, so the receipt can be re-run from this repo too.
        blocks: [{ cid: request.instructionCid, bytes: request.instructionBytes }, signed.invocation, signed.authorization, ...(request.meta.args !== undefined ? [argumentsBlock(request.args)] : []), ...request.proofs.values(), receipt]
      })
    }
    return { receipt: receipt.bytes, invocation: signed.invocation.bytes, authorization: signed.authorization.bytes, executed: result.executed, durationMs: result.durationMs }
  }
}

/** Carries the refusal of an award (its own name, e.g. `AwardRefused`) to the answer. */
class AwardNotTakenError extends IpvmError {
  constructor (cause: Error) {
    super(cause.message)
    this.name = cause.name
  }
}

/** Options of {@link requestExecution}. */
export interface RequestExecutionOptions extends AbortOptions {
  /**
   * Time allowed for the executor to accept (ms).
   * @default 10000
   */
  acceptTimeoutMs?: number
  /**
   * Time allowed beyond the task's `meta.time` for the receipt (ms).
   * @default 10000
   */
  graceMs?: number
  /** Called when the executor accepted, with the CID of the invocation it signed. */
  onAccepted?: (invocation: CID) => void
}

/** What an executor returned; not yet verified (see `RemoteExecutor`). */
export interface ExecutionAnswer {
  invocationCid: CID
  done: ExecuteDone
}

/**
 * Sends `request` to `peer` and waits for the receipt. Throws
 * {@link ExecutionRefusedError} when the executor answers with an error, the
 * framing errors (`MessageTimeoutError`, …) when it is silent or misbehaves,
 * and `MalformedMessageError` for answers of the wrong shape.
 *
 * @example
 * ```ts
 * const { invocationCid, done } = await requestExecution(node.libp2p, executorPeer, request, { signal })
 * ```
 */
export async function requestExecution (node: Pick<Libp2p, 'dialProtocol'>, peer: PeerId, request: ExecuteRequest, options: RequestExecutionOptions = {}): Promise<ExecutionAnswer> {
  const acceptTimeoutMs = options.acceptTimeoutMs ?? DEFAULT_EXECUTE_ACCEPT_TIMEOUT_MS
  const resultTimeoutMs = (request.meta.time ?? DEFAULT_TASK_TIME_MS) + (options.graceMs ?? DEFAULT_EXECUTE_GRACE_MS)
  const dialSignal = options.signal === undefined ? AbortSignal.timeout(acceptTimeoutMs) : AbortSignal.any([options.signal, AbortSignal.timeout(acceptTimeoutMs)])
  const stream = await node.dialProtocol(peer, EXECUTE_PROTOCOL, { signal: dialSignal })
  try {
    await writeMessage(stream, request, { maxMessageBytes: DEFAULT_MAX_EXECUTE_REQUEST_BYTES, signal: dialSignal })
    await stream.close({ signal: dialSignal })
    const reader = new MessageReader(stream, { maxMessageBytes: DEFAULT_MAX_EXECUTE_RESPONSE_BYTES, timeoutMs: Math.max(resultTimeoutMs, acceptTimeoutMs) })
    const first = parseExecuteAnswer(await reader.readRequired('acceptance', { signal: dialSignal }).catch((err: Error) => {
      throw dialSignal.aborted && options.signal?.aborted !== true ? new MessageTimeoutError(`the executor did not accept within ${acceptTimeoutMs} ms`) : err
    }))
    if (first === undefined) throw new MalformedMessageError('the first answer is neither { accepted } nor { error }')
    if ('error' in first) throw new ExecutionRefusedError(first.error.name, first.error.message)
    if (!('accepted' in first)) throw new MalformedMessageError('the first answer is not { accepted }')
    options.onAccepted?.(first.accepted.invocation)
    const second = parseExecuteAnswer(await reader.readRequired('receipt', options))
    if (second === undefined) throw new MalformedMessageError('the final answer is neither { done } nor { error }')
    if ('error' in second) throw new ExecutionRefusedError(second.error.name, second.error.message)
    if (!('done' in second)) throw new MalformedMessageError('the final answer is not { done }')
    return { invocationCid: first.accepted.invocation, done: second.done }
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
