/**
 * Re-execution of a receipt: rebuild the task an executor ran from what its
 * signed receipt commits to (the invocation: instruction, limits and the
 * arguments block `meta.args`), run it again in the same sandbox with the
 * same limits, and compare outcome digests `{InID, out, fuel}`.
 *
 * Only a deterministic end can be compared: a receipt without `fuel` (refused
 * before running, timed out, crashed) is `uncheckable`, and so is a re-run
 * that did not end deterministically (it may not accuse anyone). Such a
 * receipt earns its executor nothing (it is charged by the fuel it reports).
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { IpvmError } from '../errors.js'
import { isIpldMap } from '../model/block.js'
import { parseResource } from '../model/instruction.js'
import { outcomeDigest } from '../model/receipt.js'
import { findPromises } from '../workflow/promises.js'
import { matchesCid } from '../auth/delegation.js'
import { verifyReceipt } from '../auth/sign.js'
import type { Block } from '../model/block.js'
import type { Instruction, Invocation, IpldValue, Receipt, TaskMeta } from '../model/types.js'
import type { DID } from '../auth/types.js'
import type { Executor, ExecutionResult, ExecutionTask } from '../executor/interface.js'
import type { AbortOptions, Blocks } from '../store/interface.js'

/** Why a receipt cannot be re-run or compared. */
export type UncheckableReason = 'MalformedReceipt' | 'InvalidSignature' | 'MissingBlock' | 'UnboundArguments' | 'Nondeterministic'

/** A receipt that could not be checked, and why. Nobody is accused. */
export class UncheckableReceiptError extends IpvmError {
  override name: UncheckableReason
  constructor (name: UncheckableReason, message: string) {
    super(message)
    this.name = name
  }
}

/** A receipt opened for re-execution: its signer, what it claims, and the task it answers. */
export interface ClaimedOutcome {
  receipt: Block<Receipt>
  /** The receipt's signer (the executor). */
  issuer: DID
  invocation: Block<Invocation>
  /** The InID. */
  instructionCid: CID
  /** The task rebuilt from the invocation, ready to run again. */
  task: ExecutionTask
  /** Fuel the receipt reports (`null` when none). */
  fuel: number | bigint | null
  /** The outcome digest of the receipt's claim. */
  digest: CID
}

/** What re-running a receipt found. */
export type Recheck =
  | { status: 'match', claim: ClaimedOutcome, digest: CID, rerun: ExecutionResult }
  | { status: 'mismatch', claim: ClaimedOutcome, digest: CID, rerun: ExecutionResult }
  | { status: 'uncheckable', error: UncheckableReceiptError, claim?: ClaimedOutcome }

/** Reads a block and checks it against its CID, or throws `MissingBlock`. */
async function need (blocks: Pick<Blocks, 'get'>, cid: CID, what: string, options: AbortOptions): Promise<Uint8Array> {
  let bytes: Uint8Array | undefined
  try {
    bytes = await blocks.get(cid, options)
  } catch (err) {
    throw new UncheckableReceiptError('MissingBlock', `${what} ${cid} could not be read: ${(err as Error).message}`)
  }
  if (bytes === undefined) throw new UncheckableReceiptError('MissingBlock', `${what} ${cid} is not available`)
  if (!matchesCid(cid, bytes)) throw new UncheckableReceiptError('MissingBlock', `the bytes of ${what} ${cid} do not match its CID`)
  return bytes
}

function decode<T> (bytes: Uint8Array, what: string): T {
  try {
    return dagCbor.decode<T>(bytes)
  } catch {
    throw new UncheckableReceiptError('MalformedReceipt', `${what} is not DAG-CBOR`)
  }
}

// Fuel is a count: a negative one (DAG-CBOR decodes integers below -2^53 as bigints) is no fuel.
const fuelOf = (value: unknown): number | bigint | null => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) || (typeof value === 'bigint' && value >= 0n) ? value : null

/**
 * Opens a signed receipt for re-execution: checks its signature, reads its
 * invocation, instruction and arguments from `blocks`, and rebuilds the task.
 * Throws {@link UncheckableReceiptError}.
 */
export async function openClaim (input: Block<Receipt> | Uint8Array, blocks: Pick<Blocks, 'get'>, options: AbortOptions = {}): Promise<ClaimedOutcome> {
  const verified = await verifyReceipt(input)
  if (verified.error !== undefined) {
    const name = verified.error.name === 'MalformedReceipt' ? 'MalformedReceipt' : 'InvalidSignature'
    throw new UncheckableReceiptError(name, `${verified.error.name}: ${verified.error.message}`)
  }
  const { cid, receipt, issuer } = verified.ok
  const receiptBlock: Block<Receipt> = input instanceof Uint8Array ? { cid, bytes: input, value: receipt } : input
  const ran = CID.asCID(receipt.ran) as CID
  const invocationBytes = await need(blocks, ran, 'invocation', options)
  const invocation = decode<Invocation>(invocationBytes, `invocation ${ran}`)
  const run = CID.asCID(invocation?.task?.run)
  if (run === null || !isIpldMap(invocation.task.meta)) throw new UncheckableReceiptError('MalformedReceipt', `invocation ${ran} has no task`)
  const instruction = decode<Instruction>(await need(blocks, run, 'instruction', options), `instruction ${run}`)
  const module = typeof instruction?.rsc === 'string' ? parseResource(instruction.rsc) : null
  const func = instruction?.input?.func
  if (module === null || typeof func !== 'string') throw new UncheckableReceiptError('MalformedReceipt', `instruction ${run} names no module or function`)
  const meta = invocation.task.meta as TaskMeta & { [key: string]: IpldValue }
  const argsLink = CID.asCID(meta.args)
  let args: IpldValue[]
  if (argsLink !== null) {
    args = decode<IpldValue[]>(await need(blocks, argsLink, 'arguments block', options), `arguments block ${argsLink}`)
    if (!Array.isArray(args)) throw new UncheckableReceiptError('MalformedReceipt', `arguments block ${argsLink} is not a list`)
  } else {
    const template = instruction.input.args ?? []
    if (!Array.isArray(template)) throw new UncheckableReceiptError('MalformedReceipt', `instruction ${run} has arguments that are not a list`)
    // Without `meta.args`, awaited values are not committed to: the inputs are unknown.
    if (findPromises(template as IpldValue, 'args', () => {}).length > 0) throw new UncheckableReceiptError('UnboundArguments', `invocation ${ran} awaits other tasks but does not commit to the values it ran on (no meta.args)`)
    args = template
  }
  const fuel = fuelOf(receipt.meta.fuel)
  const taskMeta: TaskMeta = {}
  if (fuelOf(meta.fuel) !== null) taskMeta.fuel = meta.fuel as number | bigint
  if (typeof meta.memory === 'number') taskMeta.memory = meta.memory
  if (typeof meta.time === 'number') taskMeta.time = meta.time
  const task: ExecutionTask = { instruction, instructionCid: run, module, func, args, meta: taskMeta }
  return { receipt: receiptBlock, issuer, invocation: { cid: ran, bytes: invocationBytes, value: invocation }, instructionCid: run, task, fuel, digest: outcomeDigest(run, receipt.out, fuel) }
}

/**
 * Re-runs a receipt with `executor` (a `LocalExecutor` with no identity: it
 * runs what it is given, under the limits the invocation states) and compares
 * the outcome digests.
 *
 * @example
 * ```ts
 * const check = await recheck(receipt, repo.blocks, new LocalExecutor(repo.blocks))
 * if (check.status === 'mismatch') … // a fraud proof: see makeFraudProof
 * ```
 */
export async function recheck (input: Block<Receipt> | Uint8Array, blocks: Pick<Blocks, 'get'>, executor: Executor, options: AbortOptions = {}): Promise<Recheck> {
  let claim: ClaimedOutcome
  try {
    claim = await openClaim(input, blocks, options)
  } catch (err) {
    if (err instanceof UncheckableReceiptError) return { status: 'uncheckable', error: err }
    throw err
  }
  if (claim.fuel === null) {
    return { status: 'uncheckable', claim, error: new UncheckableReceiptError('Nondeterministic', `receipt ${claim.receipt.cid} reports no fuel: it did not end deterministically (refused, timed out or crashed), so there is nothing to compare`) }
  }
  // The module's root now: the executor checks that it is present before reading it (a network store fetches it here).
  try {
    await need(blocks, claim.task.module, 'module', options)
  } catch (err) {
    if (err instanceof UncheckableReceiptError) return { status: 'uncheckable', claim, error: err }
    throw err
  }
  const rerun = await executor.execute(claim.task, options)
  if (rerun.fuel === null) {
    const error = 'error' in rerun.out ? `${rerun.out.error.name}: ${rerun.out.error.message}` : 'no fuel reported'
    return { status: 'uncheckable', claim, error: new UncheckableReceiptError('Nondeterministic', `the re-run of ${claim.instructionCid} did not end deterministically (${error})`) }
  }
  const digest = outcomeDigest(claim.instructionCid, rerun.out, rerun.fuel)
  return { status: digest.equals(claim.digest) ? 'match' : 'mismatch', claim, digest, rerun }
}

