/**
 * Invocations, receipts and outcome digests.
 */
import { encodeBlock, dropUndefined } from './block.js'
import type { CID } from 'multiformats/cid'
import type { Block } from './block.js'
import type { Invocation, IpldValue, Outcome, Receipt, Task } from './types.js'

/** The invocation block of a task (unsigned until nodes have identities). */
export function invocationBlock (task: Task): Block<Invocation> {
  const value: Invocation = { task: withoutUndefined(task) }
  return encodeBlock(value)
}

/** Options of {@link receiptBlock}. */
export interface ReceiptInit {
  /** CID of the invocation this receipt answers. */
  ran: CID
  out: Outcome
  /** Receipt metadata: `fuel`, `time` (ms) and whatever the executor records. Not part of the outcome digest. */
  meta?: { [key: string]: IpldValue }
}

/** Builds an unsigned receipt (to sign, or to encode with {@link receiptBlock}). */
export function receiptValue (init: ReceiptInit): Receipt {
  return {
    ran: init.ran,
    out: init.out,
    fx: { fork: [] },
    meta: dropUndefined(init.meta ?? {}),
    prf: []
  }
}

/** Builds and encodes an unsigned receipt. */
export function receiptBlock (init: ReceiptInit): Block<Receipt> {
  return encodeBlock(receiptValue(init))
}

/**
 * The outcome digest: the CID of `{ran: InID, out, fuel}`. Two honest executors
 * produce the same digest for the same instruction; signatures, timings and the
 * invocation's meta do not enter it. `fuel` is `null` where nothing was metered.
 */
export function outcomeDigest (instructionCid: CID, out: Outcome, fuel: number | bigint | null): CID {
  return encodeBlock({ ran: instructionCid, out, fuel }).cid
}

/** True when the outcome is a success. */
export function isOk (out: Outcome): out is { ok: IpldValue } {
  return 'ok' in out
}

function withoutUndefined (task: Task): Task {
  const result: Task = { run: task.run, meta: dropUndefined(task.meta), prf: task.prf }
  if (task.cause !== undefined) result.cause = task.cause
  return result
}
