/**
 * `/ipvm/submit/1.0.0`: a requester hands a workflow to a scheduler and
 * follows it to the end on the same stream.
 *
 * ```
 * requester → scheduler  SubmitRequest { workflow, source, proof? }   (then closes its write side)
 * scheduler → requester  { accepted: { id, tasks, scheduler } }       (recorded durably: it will run)
 *                        | { error: { name, message } }               (refused; the stream ends)
 * scheduler → requester  any number, in any order, of
 *                          { task: { index, state: 'running', executor } }
 *                          { task: { index, state: 'done' | 'failed', memoized, receipt, blocks } }
 *                          { status: { done, failed, running, pending } }   (at least every few seconds)
 * scheduler → requester  { done: { ok } }                             (every task has its receipt)
 * ```
 *
 * A finished task comes with its signed receipt and every block it rests on
 * (invocation, authorization, delegations), so the requester checks it
 * offline and trusts neither the scheduler nor the executor for it.
 *
 * The workflow's id is the CID of the file: submitting the same file again
 * (after a dropped stream, or to a restarted scheduler) follows the same run
 * instead of starting another; a finished run is reported at once, and one
 * that failed is retried.
 */
import { CID } from 'multiformats/cid'
import { MessageReader, writeMessage } from '../framing.js'
import { MalformedMessageError } from '../errors.js'
import { IpvmError } from '../../errors.js'
import { isIpldMap } from '../../model/block.js'
import { matchesCid } from '../../auth/delegation.js'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { AbortOptions } from '../../store/interface.js'

/** Protocol id. */
export const SUBMIT_PROTOCOL = '/ipvm/submit/1.0.0'

/** Largest submission accepted by default (bytes): the workflow file and the proof. */
export const DEFAULT_MAX_SUBMIT_REQUEST_BYTES = 4 * 1024 * 1024

/** Largest answer (bytes): a receipt with its output inline and the blocks it rests on. */
export const MAX_SUBMIT_ANSWER_BYTES = 9 * 1024 * 1024

/** Most blocks sent with one receipt. */
export const MAX_RECEIPT_BUNDLE_BLOCKS = 64

/** Longest `source` name (characters). */
export const MAX_SOURCE_LENGTH = 1024

/** How often the scheduler reports status when nothing else happens (ms). */
export const SUBMIT_HEARTBEAT_MS = 5_000

/** Time the requester waits for any answer before it calls the scheduler gone (ms). */
export const DEFAULT_SUBMIT_SILENCE_MS = 30_000

/** The submission. */
export interface SubmitRequest {
  /** The workflow file's bytes (Homestar's format). */
  workflow: Uint8Array
  /** A name for it, for messages (e.g. the file name). */
  source: string
  /** A `wasm/run` delegation to the scheduler, as a CAR (`archiveDelegation`): the budget it spends. */
  proof?: Uint8Array
}

/** A block and its CID. */
export interface RawBlock { cid: CID, bytes: Uint8Array }

/** A task's progress or end. */
export type TaskUpdate =
  | { index: number, state: 'waiting', reason: string }
  | { index: number, state: 'running', executor: string }
  | { index: number, state: 'done' | 'failed', memoized: boolean, receipt: Uint8Array, blocks: RawBlock[], market?: TaskPrice }

/** What the scheduler says a task awarded in the market cost (the price is also in the receipt's invocation, signed by the executor). */
export interface TaskPrice {
  executor: string
  /** Credits per million fuel. */
  price: number
  /** Credits charged. */
  cost: number
}

/** Counts, sent as a heartbeat. `waiting`: tasks no executor has bid on yet. */
export interface SubmitStatus { done: number, failed: number, running: number, pending: number, waiting?: number }

/** Answers the scheduler sends. */
export type SubmitAnswer =
  | { accepted: { id: string, tasks: number, scheduler: string } }
  | { error: { name: string, message: string } }
  | { task: TaskUpdate }
  | { status: SubmitStatus }
  | { done: { ok: boolean } }

/** A request that decoded but is not a valid submission. */
export class InvalidSubmitRequestError extends IpvmError {
  override name = 'InvalidSubmitRequestError'
}

/** The scheduler refused the workflow (invalid file, missing or bad proof, busy). */
export class SubmissionRefusedError extends IpvmError {
  override name = 'SubmissionRefusedError'
  /** The scheduler's error name (`WorkflowValidationError`, `Unauthorized`, …). */
  readonly remoteName: string
  constructor (remoteName: string, message: string) {
    super(`the scheduler refused the workflow: ${remoteName}: ${message}`)
    this.remoteName = remoteName
  }
}

/** Checks a decoded submission; throws {@link InvalidSubmitRequestError} naming the first bad field. */
export function parseSubmitRequest (value: unknown): SubmitRequest {
  if (!isIpldMap(value)) throw new InvalidSubmitRequestError('the request is not a map')
  const { workflow, source, proof } = value as { [key: string]: unknown }
  if (!(workflow instanceof Uint8Array)) throw new InvalidSubmitRequestError('`workflow` is not bytes')
  if (typeof source !== 'string' || source.length > MAX_SOURCE_LENGTH) throw new InvalidSubmitRequestError(`\`source\` is not a string of at most ${MAX_SOURCE_LENGTH} characters`)
  if (proof !== undefined && !(proof instanceof Uint8Array)) throw new InvalidSubmitRequestError('`proof` is not bytes (a CAR)')
  return proof === undefined ? { workflow, source } : { workflow, source, proof }
}

function isCount (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function parseBlocks (value: unknown): RawBlock[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_RECEIPT_BUNDLE_BLOCKS) return undefined
  const blocks: RawBlock[] = []
  for (const entry of value) {
    const cid = CID.asCID((entry as { cid?: unknown } | null)?.cid)
    const bytes = (entry as { bytes?: unknown } | null)?.bytes
    // A block that does not hash to its CID is a lie, not a detail.
    if (cid === null || !(bytes instanceof Uint8Array) || !matchesCid(cid, bytes)) return undefined
    blocks.push({ cid, bytes })
  }
  return blocks
}

function parseTask (value: unknown): TaskUpdate | undefined {
  if (!isIpldMap(value)) return undefined
  const task = value as { [key: string]: unknown }
  if (!isCount(task.index)) return undefined
  if (task.state === 'running') return typeof task.executor === 'string' ? { index: task.index, state: 'running', executor: task.executor } : undefined
  if (task.state === 'waiting') return typeof task.reason === 'string' ? { index: task.index, state: 'waiting', reason: task.reason.slice(0, 500) } : undefined
  if (task.state !== 'done' && task.state !== 'failed') return undefined
  if (typeof task.memoized !== 'boolean' || !(task.receipt instanceof Uint8Array)) return undefined
  const blocks = parseBlocks(task.blocks)
  if (blocks === undefined) return undefined
  const market = task.market as { [key: string]: unknown } | undefined
  const price = isIpldMap(market) && typeof market.executor === 'string' && isCount(market.price) && isCount(market.cost)
    ? { executor: market.executor, price: market.price, cost: market.cost }
    : undefined
  return { index: task.index, state: task.state, memoized: task.memoized, receipt: task.receipt, blocks, ...(price !== undefined ? { market: price } : {}) }
}

/** Checks an answer's shape: `undefined` when it is none of the answers. */
export function parseSubmitAnswer (value: unknown): SubmitAnswer | undefined {
  if (!isIpldMap(value)) return undefined
  const answer = value as { [key: string]: unknown }
  const keys = Object.keys(answer)
  if (keys.length !== 1) return undefined
  if (isIpldMap(answer.error)) {
    const { name, message } = answer.error as { name?: unknown, message?: unknown }
    return typeof name === 'string' && typeof message === 'string' ? { error: { name, message } } : undefined
  }
  if (isIpldMap(answer.accepted)) {
    const { id, tasks, scheduler } = answer.accepted as { [key: string]: unknown }
    return typeof id === 'string' && isCount(tasks) && typeof scheduler === 'string' ? { accepted: { id, tasks, scheduler } } : undefined
  }
  if (answer.task !== undefined) {
    const task = parseTask(answer.task)
    return task === undefined ? undefined : { task }
  }
  if (isIpldMap(answer.status)) {
    const { done, failed, running, pending, waiting } = answer.status as { [key: string]: unknown }
    if (!(isCount(done) && isCount(failed) && isCount(running) && isCount(pending))) return undefined
    return { status: { done, failed, running, pending, ...(isCount(waiting) ? { waiting } : {}) } }
  }
  if (isIpldMap(answer.done)) {
    const { ok } = answer.done as { ok?: unknown }
    return typeof ok === 'boolean' ? { done: { ok } } : undefined
  }
  return undefined
}

/** Options of {@link submitWorkflow}. */
export interface SubmitWorkflowOptions extends AbortOptions {
  /**
   * Time allowed between two answers (ms); the scheduler sends a status at
   * least every {@link SUBMIT_HEARTBEAT_MS}.
   * @default 30000
   */
  silenceMs?: number
  /**
   * Time allowed to dial the scheduler and send the workflow (ms).
   * @default 10000
   */
  dialTimeoutMs?: number
}

/**
 * Sends `request` to the scheduler `peer` and yields its answers as they
 * come, ending after `{ done }`. Throws {@link SubmissionRefusedError} when
 * the scheduler refuses, `MalformedMessageError` for an answer of the wrong
 * shape, and the framing errors (`MessageTimeoutError`,
 * `UnexpectedEndOfStreamError`, …) when it goes silent or away. The answers
 * are checked for shape only: receipts are for the caller to verify.
 *
 * @example
 * ```ts
 * for await (const answer of submitWorkflow(node.libp2p, scheduler, { workflow, source: 'flow.json', proof })) {
 *   if ('task' in answer) console.log(answer.task.index, answer.task.state)
 * }
 * ```
 */
export async function * submitWorkflow (node: Pick<Libp2p, 'dialProtocol'>, peer: PeerId, request: SubmitRequest, options: SubmitWorkflowOptions = {}): AsyncGenerator<SubmitAnswer, void, undefined> {
  const dialTimeout = AbortSignal.timeout(options.dialTimeoutMs ?? 10_000)
  const dialSignal = options.signal === undefined ? dialTimeout : AbortSignal.any([options.signal, dialTimeout])
  const stream: Stream = await node.dialProtocol(peer, SUBMIT_PROTOCOL, { signal: dialSignal })
  let finished = false
  try {
    await writeMessage(stream, request, { maxMessageBytes: DEFAULT_MAX_SUBMIT_REQUEST_BYTES, signal: dialSignal })
    await stream.close({ signal: dialSignal })
    const reader = new MessageReader(stream, { maxMessageBytes: MAX_SUBMIT_ANSWER_BYTES, timeoutMs: options.silenceMs ?? DEFAULT_SUBMIT_SILENCE_MS })
    let accepted = false
    for (;;) {
      const raw = await reader.readRequired(accepted ? 'end of the workflow' : 'acceptance', options)
      const answer = parseSubmitAnswer(raw)
      if (answer === undefined) throw new MalformedMessageError('the scheduler sent an answer of unknown shape')
      if ('error' in answer) throw new SubmissionRefusedError(answer.error.name, answer.error.message)
      if (!accepted && !('accepted' in answer)) throw new MalformedMessageError('the first answer is neither { accepted } nor { error }')
      accepted = true
      yield answer
      if ('done' in answer) { finished = true; return }
    }
  } finally {
    if (!finished) stream.abort(new IpvmError('the submission was abandoned'))
  }
}
