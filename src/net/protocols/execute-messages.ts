/**
 * Messages of `/ipvm/execute/1.0.0`, their limits, codecs and errors.
 *
 * ```
 * requester → executor   ExecuteRequest                      (then closes its write side)
 * executor  → requester  { accepted: { invocation: CID } }   (the executor signed the invocation it will run)
 *                        | { error: { name, message } }      (refused: malformed, oversize, busy, …)
 * executor  → requester  { done: ExecuteDone }               (the signed receipt and what it rests on)
 *                        | { error: { name, message } }
 * ```
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { IpvmError } from '../../errors.js'
import { cidOf, codecs, encodeBlock, isIpldMap } from '../../model/block.js'
import type { Block } from '../../model/block.js'
import { parseResource } from '../../model/instruction.js'
import { matchesCid } from '../../auth/delegation.js'
import { MAX_TASK_MEMORY, MAX_TASK_TIME_MS } from '../../constants.js'
import { isAmount } from '../../model/price.js'
import type { Instruction, IpldValue, TaskMeta } from '../../model/types.js'

/** Protocol id. */
export const EXECUTE_PROTOCOL = '/ipvm/execute/1.0.0'

/** Largest execution request accepted by default (bytes): inline arguments must fit. */
export const DEFAULT_MAX_EXECUTE_REQUEST_BYTES = 4 * 1024 * 1024

/** Largest instruction block accepted (bytes). */
export const MAX_INSTRUCTION_BYTES = 256 * 1024

/** Most proof blocks (the delegation DAG) one request may carry. */
export const MAX_PROOF_BLOCKS = 32

/** Largest proof block (bytes). */
export const MAX_PROOF_BLOCK_BYTES = 64 * 1024

/** Most delegations a task may cite directly. */
export const MAX_CITED_PROOFS = 8

/** Largest `done` answer (bytes): receipt, invocation and authorization, with the output inline. */
export const DEFAULT_MAX_EXECUTE_RESPONSE_BYTES = 8 * 1024 * 1024

/** Time allowed for the request to arrive, and for the executor to accept (ms). */
export const DEFAULT_EXECUTE_ACCEPT_TIMEOUT_MS = 10_000

/** Time allowed beyond the task's own `meta.time` for the receipt to arrive (ms). */
export const DEFAULT_EXECUTE_GRACE_MS = 10_000

/** Most tasks an executor runs at once for remote requesters. */
export const DEFAULT_MAX_CONCURRENT_EXECUTIONS = 4

/** The request. */
export interface ExecuteRequest {
  /** The instruction block (DAG-CBOR); its CID, computed by the executor, is the InID. */
  instruction: Uint8Array
  /** `input.args` of the instruction with every promise replaced by its value; links still to fetch. */
  args: IpldValue[]
  /** Limits: `fuel`, `memory` (bytes), `time` (ms). */
  meta: TaskMeta
  /** The delegations the task cites (the last one addressed to the executor). */
  prf: CID[]
  /** Every block of those delegations' DAGs. */
  proofs: Array<{ cid: CID, bytes: Uint8Array }>
  /** The executor's winning bid (its CID), when the task was awarded in a market round. */
  bid?: CID
}

/** The final answer: everything a requester needs to check the receipt offline. */
export interface ExecuteDone {
  receipt: Uint8Array
  invocation: Uint8Array
  authorization: Uint8Array
  /** False when the task was refused before the guest ran (authority, missing module). */
  executed: boolean
  /** Time in the worker (ms). */
  durationMs: number
}

/** A refusal: a named error, never a crash. */
export interface ExecuteErrorAnswer { error: { name: string, message: string } }

/** Answers the executor sends. */
export type ExecuteAnswer = { accepted: { invocation: CID } } | { done: ExecuteDone } | ExecuteErrorAnswer

/** A request that decoded but is not a valid execution request. */
export class InvalidExecuteRequestError extends IpvmError {
  override name = 'InvalidExecuteRequestError'
}

/** The executor answered with a named error instead of running the task. */
export class ExecutionRefusedError extends IpvmError {
  override name = 'ExecutionRefusedError'
  /** The executor's error name (`InvalidExecuteRequestError`, `ExecutorBusyError`, …). */
  readonly remoteName: string
  constructor (remoteName: string, message: string) {
    super(`executor refused: ${remoteName}: ${message}`)
    this.remoteName = remoteName
  }
}

/** The executor is running as many tasks as it allows. */
export class ExecutorBusyError extends IpvmError {
  override name = 'ExecutorBusyError'
}

/** A parsed, checked request. */
export interface ParsedExecuteRequest {
  instruction: Instruction
  instructionCid: CID
  instructionBytes: Uint8Array
  module: CID
  func: string
  args: IpldValue[]
  meta: TaskMeta
  prf: CID[]
  proofs: Map<string, { cid: CID, bytes: Uint8Array }>
  bid?: CID
}

/** The block `meta.args` names: the DAG-CBOR list of the arguments run. */
export function argumentsBlock (args: IpldValue[]): Block<IpldValue[]> {
  return encodeBlock(args)
}

function fail (message: string): never {
  throw new InvalidExecuteRequestError(message)
}

function checkMeta (value: unknown): TaskMeta {
  if (!isIpldMap(value)) fail('`meta` is not a map')
  const meta: TaskMeta = {}
  const { fuel, memory, time, price, args } = value as { fuel?: unknown, memory?: unknown, time?: unknown, price?: unknown, args?: unknown }
  if (fuel !== undefined) {
    if (!((typeof fuel === 'number' && Number.isSafeInteger(fuel)) || typeof fuel === 'bigint') || fuel <= 0) fail('`meta.fuel` must be a positive integer')
    meta.fuel = fuel
  }
  if (memory !== undefined) {
    if (typeof memory !== 'number' || !Number.isSafeInteger(memory) || memory <= 0 || memory > MAX_TASK_MEMORY) fail(`\`meta.memory\` must be a positive integer up to ${MAX_TASK_MEMORY}`)
    meta.memory = memory
  }
  if (time !== undefined) {
    if (typeof time !== 'number' || !Number.isSafeInteger(time) || time <= 0 || time > MAX_TASK_TIME_MS) fail(`\`meta.time\` must be a positive integer up to ${MAX_TASK_TIME_MS}`)
    meta.time = time
  }
  if (price !== undefined) {
    if (!isAmount(price)) fail('`meta.price` must be a non-negative integer (credits per million fuel)')
    meta.price = price
  }
  if (args !== undefined) {
    const link = CID.asCID(args)
    if (link === null) fail('`meta.args` must be a link')
    meta.args = link
  }
  return meta
}

function isPromise (value: IpldValue): boolean {
  if (!isIpldMap(value)) return false
  const keys = Object.keys(value)
  return keys.length === 1 && (keys[0] ?? '').startsWith('await/') && CID.asCID(value[keys[0] as string]) !== null
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i])
}

/**
 * True when `value` is `template` with promises replaced: every part of the
 * instruction's arguments that is not a promise must arrive unchanged, so a
 * requester cannot run other inputs under an instruction's name.
 */
export function conformsToTemplate (template: IpldValue, value: IpldValue): boolean {
  if (isPromise(template)) return true
  if (Array.isArray(template)) {
    return Array.isArray(value) && value.length === template.length && template.every((item, i) => conformsToTemplate(item, value[i] as IpldValue))
  }
  if (isIpldMap(template)) {
    if (!isIpldMap(value)) return false
    const keys = Object.keys(template)
    if (keys.length !== Object.keys(value).length) return false
    return keys.every(key => key in value && conformsToTemplate(template[key] as IpldValue, value[key] as IpldValue))
  }
  try {
    return equalBytes(dagCbor.encode(template), dagCbor.encode(value))
  } catch {
    return false
  }
}

/** Checks every field of a decoded request; throws {@link InvalidExecuteRequestError} naming the first bad one. */
export function parseExecuteRequest (value: unknown): ParsedExecuteRequest {
  if (!isIpldMap(value)) fail('the request is not a map')
  const request = value as { [key: string]: unknown }
  const instructionBytes = request.instruction
  if (!(instructionBytes instanceof Uint8Array)) fail('`instruction` is not bytes')
  if (instructionBytes.byteLength > MAX_INSTRUCTION_BYTES) fail(`\`instruction\` is larger than ${MAX_INSTRUCTION_BYTES} bytes`)
  let instruction: Instruction
  try {
    instruction = dagCbor.decode<Instruction>(instructionBytes)
  } catch {
    fail('`instruction` is not DAG-CBOR')
  }
  if (!isIpldMap(instruction) || typeof instruction.rsc !== 'string' || instruction.op !== 'wasm/run' ||
    typeof instruction.nnc !== 'string' || !isIpldMap(instruction.input)) fail('`instruction` is not a wasm/run instruction {rsc, op, input, nnc}')
  const func = instruction.input.func
  const template = instruction.input.args ?? []
  if (typeof func !== 'string' || func === '') fail('`instruction.input.func` is not a function name')
  if (!Array.isArray(template)) fail('`instruction.input.args` is not a list')
  const module = parseResource(instruction.rsc)
  if (module === null) fail(`\`instruction.rsc\` (${instruction.rsc}) does not name a module`)
  const args = request.args
  if (!Array.isArray(args)) fail('`args` is not a list')
  if (!conformsToTemplate(template, args as IpldValue[])) fail('`args` differ from the instruction\'s arguments outside its promises')
  const meta = checkMeta(request.meta)
  // The executor signs `meta` into its invocation: it must not commit to arguments other than those it runs.
  if (meta.args !== undefined && !meta.args.equals(argumentsBlock(args as IpldValue[]).cid)) fail('`meta.args` does not name the arguments sent')
  const prfValue = request.prf
  if (!Array.isArray(prfValue) || prfValue.length > MAX_CITED_PROOFS) fail(`\`prf\` is not a list of at most ${MAX_CITED_PROOFS} links`)
  const prf = prfValue.map(link => CID.asCID(link))
  if (prf.some(link => link === null)) fail('`prf` holds a value that is not a link')
  const proofList = request.proofs
  if (!Array.isArray(proofList) || proofList.length > MAX_PROOF_BLOCKS) fail(`\`proofs\` is not a list of at most ${MAX_PROOF_BLOCKS} blocks`)
  const proofs = new Map<string, { cid: CID, bytes: Uint8Array }>()
  for (const entry of proofList) {
    const cid = CID.asCID((entry as { cid?: unknown } | null)?.cid)
    const bytes = (entry as { bytes?: unknown } | null)?.bytes
    if (cid === null || !(bytes instanceof Uint8Array)) fail('`proofs` holds an entry that is not {cid, bytes}')
    if (bytes.byteLength > MAX_PROOF_BLOCK_BYTES) fail(`proof block ${cid} is larger than ${MAX_PROOF_BLOCK_BYTES} bytes`)
    if (!matchesCid(cid, bytes)) fail(`proof block ${cid} does not match its CID`)
    proofs.set(cid.toString(), { cid, bytes })
  }
  for (const link of prf as CID[]) if (!proofs.has(link.toString())) fail(`cited proof ${link} is not among \`proofs\``)
  const bid = request.bid === undefined ? undefined : CID.asCID(request.bid)
  if (bid === null) fail('`bid` is not a link')
  return {
    ...(bid !== undefined ? { bid } : {}),
    instruction,
    instructionCid: cidOf(instructionBytes, codecs.dagCbor),
    instructionBytes,
    module,
    func,
    args: args as IpldValue[],
    meta,
    prf: prf as CID[],
    proofs
  }
}

/** Checks an answer's shape; throws {@link InvalidExecuteRequestError}-like `MalformedMessageError` at the caller. */
export function parseExecuteAnswer (value: unknown): ExecuteAnswer | undefined {
  if (!isIpldMap(value)) return undefined
  const answer = value as { [key: string]: unknown }
  if (isIpldMap(answer.error)) {
    const { name, message } = answer.error as { name?: unknown, message?: unknown }
    if (typeof name === 'string' && typeof message === 'string') return { error: { name, message } }
    return undefined
  }
  if (isIpldMap(answer.accepted)) {
    const invocation = CID.asCID((answer.accepted as { invocation?: unknown }).invocation)
    return invocation === null ? undefined : { accepted: { invocation } }
  }
  if (isIpldMap(answer.done)) {
    const done = answer.done as { [key: string]: unknown }
    if (!(done.receipt instanceof Uint8Array) || !(done.invocation instanceof Uint8Array) || !(done.authorization instanceof Uint8Array) ||
      typeof done.executed !== 'boolean' || typeof done.durationMs !== 'number') return undefined
    return { done: { receipt: done.receipt, invocation: done.invocation, authorization: done.authorization, executed: done.executed, durationMs: done.durationMs } }
  }
  return undefined
}
