/**
 * Signed invocations and receipts.
 *
 * Invocations take the UCAN Invocation 0.2 shape:
 * ```
 * Invocation    { task: Task, auth: &Authorization }
 * Authorization { scope: [&Task], s: Signature }   s signs DAG-CBOR(scope)
 * ```
 * One authorization may cover many tasks ({@link signInvocations}): a whole
 * workflow is then one signature, verified once per node (cached by CID).
 *
 * Receipts carry `iss` (the signer's DID) and `sig`, the signature over the
 * DAG-CBOR of the receipt without `sig` (ucanto signs its receipts' outcome the
 * same way). Signatures use ucanto's encoding, varint(varsig code) ‖
 * varint(length) ‖ raw, so the algorithm (EdDSA 0xd0ed, ES256K 0xd0e7) is
 * named in the signature itself.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { cidOf, codecs, encodeBlock, dropUndefined } from '../model/block.js'
import { delegationBlocks, matchesCid } from './delegation.js'
import { MalformedReceipt, MissingBlock, MissingSignature, WrongAudience, WrongIssuer } from './errors.js'
import { verifySignature } from './principal.js'
import { authorizationPayload, validateInvocation } from './validate.js'
import type { Block } from '../model/block.js'
import type { Invocation, Receipt, Task } from '../model/types.js'
import type { Delegation } from './delegation.js'
import type { RevocationStore } from './revocations.js'
import type { Authorization, AuthResult, BlockGetter, DID, Signer, TaskTerms } from './types.js'
import type { DelegationCache, ValidatedInvocation } from './validate.js'

/** A signed invocation and the blocks to store beside it. */
export interface SignedInvocation {
  /** The invocation block: `{ task, auth }`. Its CID is what a receipt's `ran` names. */
  invocation: Block<Invocation>
  /** The authorization block `auth` links to. */
  authorization: Block<Authorization>
  /** Every block of the proof delegations (store them so others can check the chain). */
  proofs: Array<{ cid: CID, bytes: Uint8Array }>
}

/** A task with every `undefined` dropped and the proofs' CIDs as `prf` (DAG-CBOR has no undefined). */
function normalizeTask (task: Task, proofs: readonly Delegation[]): Task {
  const meta: Task['meta'] = {}
  for (const [key, value] of Object.entries(task.meta)) if (value !== undefined) meta[key] = value
  const prf = proofs.length > 0 ? proofs.map(proof => CID.asCID(proof.cid) as CID) : task.prf.map(link => CID.asCID(link) as CID)
  const normal: Task = { run: CID.asCID(task.run) as CID, meta, prf }
  if (task.cause !== undefined) normal.cause = CID.asCID(task.cause) as CID
  return normal
}

async function signScope (scope: CID[], signer: Signer): Promise<Block<Authorization>> {
  const s = await signer.sign(authorizationPayload(scope))
  return encodeBlock<Authorization>({ scope, s: Uint8Array.from(s) })
}

/**
 * Signs one task as `signer` (the invoker: the audience of `proofs`, or the
 * resource owner when there are none). With proofs, the task's `prf` becomes
 * their CIDs; without, it is kept as given.
 *
 * @example
 * ```ts
 * const { invocation, authorization } = await signInvocation(task, identity.signer)
 * await repo.commit({ blocks: [invocation, authorization, …] })
 * ```
 */
export async function signInvocation (task: Task, signer: Signer, proofs: readonly Delegation[] = []): Promise<SignedInvocation> {
  const [signed] = await signInvocations([task], signer, proofs)
  return signed as SignedInvocation
}

/**
 * Signs many tasks with one authorization (one signature): each invocation's
 * `auth` links to the same block, whose `scope` lists every task.
 */
export async function signInvocations (tasks: readonly Task[], signer: Signer, proofs: readonly Delegation[] = []): Promise<SignedInvocation[]> {
  const normal = tasks.map(task => normalizeTask(task, proofs))
  const taskBlocks = normal.map(task => encodeBlock(task))
  const authorization = await signScope(taskBlocks.map(block => block.cid), signer)
  const proofBlocks = proofs.flatMap(proof => delegationBlocks(proof))
  return normal.map(task => ({
    invocation: encodeBlock<Invocation>({ task, auth: authorization.cid }),
    authorization,
    proofs: proofBlocks
  }))
}

/** A receipt before signing. */
export type UnsignedReceipt = Omit<Receipt, 'iss' | 'sig'>

/**
 * The bytes a receipt's `sig` signs: DAG-CBOR of the whole receipt (with `iss`)
 * except `sig`, so no field can be added or changed without breaking it.
 */
export function receiptPayload (receipt: UnsignedReceipt & { iss: string, sig?: Uint8Array }): Uint8Array {
  const { sig: _sig, ...signed } = receipt
  return dagCbor.encode(dropUndefined(signed))
}

/**
 * Signs a receipt: sets `iss` to the signer's DID and `sig` to its signature,
 * and returns the encoded block (whose CID is the receipt's).
 *
 * @example
 * ```ts
 * const signed = await signReceipt(receiptBlock({ ran, out, meta }).value, identity.signer)
 * ```
 */
export async function signReceipt (receipt: UnsignedReceipt, signer: Signer): Promise<Block<Receipt>> {
  const { iss: _iss, sig: _sig, ...rest } = receipt as Receipt
  const unsigned = dropUndefined({ ...rest, fx: dropUndefined(receipt.fx), meta: dropUndefined(receipt.meta), iss: signer.did() }) as UnsignedReceipt & { iss: DID }
  const sig = Uint8Array.from(await signer.sign(receiptPayload(unsigned)))
  return encodeBlock<Receipt>({ ...unsigned, sig })
}

/** Options of {@link verifyReceipt}. */
export interface VerifyReceiptOptions {
  /** The DID that must have signed it (e.g. the executor the task was awarded to). */
  issuer?: DID
  /**
   * Where the invocation, its authorization, its proofs and its instruction
   * are read from. With it, the invocation's chain is checked too.
   */
  blocks?: BlockGetter
  /** Fail with `MissingBlock` when the invocation is not available, instead of checking the signature only. @default false */
  requireInvocation?: boolean
  /** Terms to check the chain against; read from the invocation when absent. */
  task?: TaskTerms
  revocations?: RevocationStore
  /** Unix seconds: when the chain must have been valid; `null` checks no time bounds (see `validateInvocation`). @default now */
  now?: number | null
  /** Delegations at hand, with their attached proofs. */
  proofs?: Delegation[]
  cache?: DelegationCache
}

/** A receipt that verified. */
export interface VerifiedReceipt {
  cid: CID
  receipt: Receipt
  issuer: DID
  /** The invocation's validation, when the invocation was available. */
  invocation?: ValidatedInvocation
}

function isReceiptShape (value: unknown): value is Receipt {
  if (typeof value !== 'object' || value === null) return false
  const receipt = value as Partial<Receipt>
  return CID.asCID(receipt.ran) !== null && typeof receipt.out === 'object' && receipt.out !== null &&
    typeof receipt.fx === 'object' && receipt.fx !== null && typeof receipt.meta === 'object' && receipt.meta !== null &&
    Array.isArray(receipt.prf)
}

/**
 * Verifies a receipt: its signature by `iss`, then, when `blocks` holds its
 * invocation, that the invocation is signed and its chain authorises the
 * receipt's issuer to have run it (at `now`, honouring revocations).
 *
 * Errors: `MalformedReceipt`, `MissingSignature`, `UnknownSignatureAlgorithm`,
 * `InvalidSignature`, `WrongIssuer` (not the expected issuer, or not the
 * principal the chain authorises), `MissingBlock` (with `requireInvocation`),
 * and any error of {@link validateInvocation}.
 *
 * @example
 * ```ts
 * const result = await verifyReceipt(bytes, { blocks: repo.blocks, revocations })
 * if (result.error) console.error(`${result.error.name}: ${result.error.message}`)
 * ```
 */
export async function verifyReceipt (input: Uint8Array | Receipt | Block<Receipt>, options: VerifyReceiptOptions = {}): Promise<AuthResult<VerifiedReceipt>> {
  let receipt: unknown
  let cid: CID
  if (input instanceof Uint8Array) {
    try {
      receipt = dagCbor.decode(input)
    } catch {
      return { error: new MalformedReceipt('the receipt is not DAG-CBOR') }
    }
    cid = cidOf(input, codecs.dagCbor)
  } else if ('cid' in input && 'bytes' in input && 'value' in input) {
    receipt = input.value
    cid = CID.asCID(input.cid) as CID
    if (!matchesCid(cid, input.bytes)) return { error: new MalformedReceipt(`the bytes of receipt ${cid} do not match its CID`) }
  } else {
    receipt = input
    cid = encodeBlock(input).cid
  }
  if (!isReceiptShape(receipt)) return { error: new MalformedReceipt('not a receipt: it needs `ran`, `out`, `fx`, `meta` and `prf`') }
  const what = `receipt ${cid}`
  if (receipt.sig === undefined || receipt.iss === undefined) return { error: new MissingSignature(`${what} is not signed (no ${receipt.iss === undefined ? '`iss`' : '`sig`'})`, { receipt: cid.toString() }) }
  if (typeof receipt.iss !== 'string' || !(receipt.sig instanceof Uint8Array)) return { error: new MalformedReceipt(`${what} has a malformed \`iss\` or \`sig\``) }
  const issuer = receipt.iss as DID
  if (options.issuer !== undefined && options.issuer !== issuer) {
    return { error: new WrongIssuer(`${what} is signed by ${issuer}, not by ${options.issuer}`, { receipt: cid.toString(), issuer, expected: options.issuer }) }
  }
  const verified = verifySignature(issuer, receiptPayload({ ...receipt, iss: issuer }), receipt.sig, { what, details: { receipt: cid.toString() } })
  if (verified.error !== undefined) return verified

  const ran = CID.asCID(receipt.ran) as CID
  const invocationBytes = options.blocks === undefined ? undefined : await options.blocks.get(ran)
  if (invocationBytes === undefined) {
    if (options.requireInvocation === true) return { error: new MissingBlock(`invocation ${ran} of ${what} is not available, so its chain cannot be checked`, { block: ran.toString() }) }
    return { ok: { cid, receipt, issuer } }
  }
  if (!matchesCid(ran, invocationBytes)) return { error: new MalformedReceipt(`the bytes of invocation ${ran} do not match its CID`) }
  let invocation: Invocation
  try {
    invocation = dagCbor.decode<Invocation>(invocationBytes)
  } catch {
    return { error: new MalformedReceipt(`invocation ${ran} is not DAG-CBOR`) }
  }
  const chain = await validateInvocation(invocation, {
    executor: issuer,
    ...(options.task !== undefined ? { task: options.task } : {}),
    ...(options.revocations !== undefined ? { revocations: options.revocations } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
    ...(options.blocks !== undefined ? { blocks: options.blocks } : {}),
    ...(options.proofs !== undefined ? { proofs: options.proofs } : {}),
    ...(options.cache !== undefined ? { cache: options.cache } : {})
  })
  if (chain.error !== undefined) {
    if (chain.error instanceof WrongAudience) {
      const audience = String(chain.error.details.audience)
      return { error: new WrongIssuer(`${what} is signed by ${issuer}, but invocation ${ran} authorises ${audience} to run it`, { receipt: cid.toString(), issuer, expected: audience }) }
    }
    return chain
  }
  return { ok: { cid, receipt, issuer, invocation: chain.ok } }
}

/** Most delegations {@link receiptBundle} follows (a chain is at most 16 deep; a few branches each). */
const MAX_BUNDLE_DELEGATIONS = 48

/**
 * Every block a receipt rests on, read from `blocks`: its invocation, the
 * invocation's authorization, instruction and arguments block, and the delegations of its
 * chain, so whoever receives them can run {@link verifyReceipt} offline. The
 * receipt itself is not included. Blocks that are missing are left out (the
 * receiver's verification then names what it lacks).
 */
export async function receiptBundle (blocks: BlockGetter, receipt: Receipt): Promise<Array<{ cid: CID, bytes: Uint8Array }>> {
  const out = new Map<string, { cid: CID, bytes: Uint8Array }>()
  const take = async (link: unknown): Promise<Uint8Array | undefined> => {
    const cid = CID.asCID(link)
    if (cid === null || out.has(cid.toString())) return undefined
    const bytes = await blocks.get(cid)
    if (bytes !== undefined) out.set(cid.toString(), { cid, bytes })
    return bytes
  }
  const invocationBytes = await take(receipt.ran)
  if (invocationBytes === undefined) return []
  let invocation: Invocation
  try {
    invocation = dagCbor.decode<Invocation>(invocationBytes)
  } catch {
    return [...out.values()]
  }
  await take(invocation.auth)
  await take(invocation.task?.run)
  // The arguments it ran on (`meta.args`), so a verifier can re-run it.
  await take(invocation.task?.meta?.args)
  const queue: unknown[] = Array.isArray(invocation.task?.prf) ? [...invocation.task.prf] : []
  let followed = 0
  while (queue.length > 0 && followed < MAX_BUNDLE_DELEGATIONS) {
    const bytes = await take(queue.shift())
    if (bytes === undefined) continue
    followed++
    try {
      // A UCAN's proofs are links in its `prf`, wherever ucanto's envelope keeps it.
      const value = dagCbor.decode<unknown>(bytes)
      for (const link of linksIn(value, 1)) queue.push(link)
    } catch {
      // Not DAG-CBOR: a JWT UCAN; its proofs, if any, cannot be followed here.
    }
  }
  return [...out.values()]
}

/** The links in a UCAN block's `prf` (at the top, or inside ucanto's one-key `ucan@…` envelope). */
function linksIn (value: unknown, depth: number): CID[] {
  if (depth < 0 || typeof value !== 'object' || value === null || value instanceof Uint8Array || Array.isArray(value)) return []
  const prf = (value as { prf?: unknown }).prf
  if (Array.isArray(prf)) return prf.map(link => CID.asCID(link)).filter((cid): cid is CID => cid !== null)
  return Object.values(value).flatMap(item => linksIn(item, depth - 1))
}
