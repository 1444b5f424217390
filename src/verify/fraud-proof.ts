/**
 * Fraud proofs: two signed receipts that disagree about one instruction.
 *
 * ```
 * FraudProof { type: "ipvm/fraud-proof", v: 1, instruction: &Instruction, accused: &Receipt, challenge: &Receipt }
 * ```
 * `accused` is the executor's receipt; `challenge` is the challenger's own
 * signed receipt for the same invocation (same `ran`), with the outcome its
 * re-run produced. Anyone can judge a proof by re-running the instruction
 * ({@link judgeFraudProof}); it trusts neither party. As a file, a proof is a
 * CAR whose root is the proof block and which carries every block needed to
 * judge it offline: both receipts, the invocation, the instruction, the
 * arguments, the module and the inputs ({@link fraudProofCar}).
 */
import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { CarBufferReader } from '@ipld/car/buffer-reader'
import * as CarBufferWriter from '@ipld/car/buffer-writer'
import { CID } from 'multiformats/cid'
import { IpvmError } from '../errors.js'
import { codecs, encodeBlock, isIpldMap } from '../model/block.js'
import { outcomeDigest, receiptValue } from '../model/receipt.js'
import { matchesCid } from '../auth/delegation.js'
import { signReceipt, verifyReceipt } from '../auth/sign.js'
import { MAX_ARGUMENT_BYTES, MAX_MODULE_BYTES } from '../constants.js'
import { openClaim, recheck, UncheckableReceiptError } from './recheck.js'
import type { Block } from '../model/block.js'
import type { IpldValue, Receipt } from '../model/types.js'
import type { DID, Signer } from '../auth/types.js'
import type { Executor, ExecutionResult } from '../executor/interface.js'
import type { AbortOptions, Blocks } from '../store/interface.js'
import type { ClaimedOutcome } from './recheck.js'

/** The proof block. */
export interface FraudProof {
  type: 'ipvm/fraud-proof'
  v: 1
  /** The InID both receipts answer. */
  instruction: CID
  /** The receipt said to be wrong. */
  accused: CID
  /** The challenger's receipt for the same invocation. */
  challenge: CID
}

/** Why a fraud proof is not one. */
export type FraudProofErrorName =
  | 'InvalidFraudProof' // not a proof block, a missing block, a self-accusation
  | 'UnsignedReceipt' // a receipt without a signature, or whose signature does not verify
  | 'DifferentInstructions' // the receipts answer different invocations, or another instruction than the proof names
  | 'NoDisagreement' // both receipts claim the same outcome
  | 'Inconclusive' // the re-run did not end deterministically: nobody can be judged

/** A fraud proof that was refused, by name. */
export class FraudProofError extends IpvmError {
  override name: FraudProofErrorName
  constructor (name: FraudProofErrorName, message: string) {
    super(message)
    this.name = name
  }
}

/** The judgement of a well-formed proof. */
export interface Verdict {
  /** `fraud`: the accused receipt is wrong. `false-accusation`: it is right and the challenge is wrong. */
  verdict: 'fraud' | 'false-accusation'
  instruction: CID
  /** The accused receipt's signer (the executor). */
  accused: DID
  /** The challenge receipt's signer (the verifier). */
  challenger: DID
  accusedReceipt: CID
  challengeReceipt: CID
  /** Outcome digests: what each claims, and what the judge's own re-run found. */
  digests: { accused: CID, challenge: CID, rerun: CID }
  /** True when the challenge is right (with `fraud`, false means both were wrong). */
  challengeRight: boolean
}

/** A proof made by a verifier. */
export interface MadeFraudProof {
  proof: Block<FraudProof>
  /** The challenger's signed receipt. */
  challenge: Block<Receipt>
}

/**
 * Makes a fraud proof against `claim` (opened with `openClaim`/`recheck`) from
 * the challenger's re-run: signs the challenge receipt with `signer`.
 */
export async function makeFraudProof (claim: ClaimedOutcome, rerun: ExecutionResult, signer: Signer): Promise<MadeFraudProof> {
  const meta: { [key: string]: IpldValue } = rerun.fuel === null ? {} : { fuel: rerun.fuel }
  const challenge = await signReceipt(receiptValue({ ran: claim.invocation.cid, out: rerun.out, meta }), signer)
  const proof = encodeBlock<FraudProof>({ type: 'ipvm/fraud-proof', v: 1, instruction: claim.instructionCid, accused: claim.receipt.cid, challenge: challenge.cid })
  return { proof, challenge }
}

/** Decodes and shape-checks a proof block. Throws `InvalidFraudProof`. */
export function decodeFraudProof (bytes: Uint8Array): FraudProof {
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch {
    throw new FraudProofError('InvalidFraudProof', 'the fraud proof is not DAG-CBOR')
  }
  if (!isIpldMap(value) || value.type !== 'ipvm/fraud-proof' || value.v !== 1) throw new FraudProofError('InvalidFraudProof', 'not a fraud proof: it needs type "ipvm/fraud-proof" and v 1')
  const instruction = CID.asCID(value.instruction)
  const accused = CID.asCID(value.accused)
  const challenge = CID.asCID(value.challenge)
  if (instruction === null || accused === null || challenge === null) throw new FraudProofError('InvalidFraudProof', 'a fraud proof links `instruction`, `accused` and `challenge`')
  return { type: 'ipvm/fraud-proof', v: 1, instruction, accused, challenge }
}

async function receiptOf (blocks: Pick<Blocks, 'get'>, cid: CID, role: string, options: AbortOptions): Promise<Block<Receipt>> {
  const bytes = await blocks.get(cid, options).catch(() => undefined)
  if (bytes === undefined) throw new FraudProofError('InvalidFraudProof', `the ${role} receipt ${cid} is not available`)
  if (!matchesCid(cid, bytes)) throw new FraudProofError('InvalidFraudProof', `the bytes of the ${role} receipt ${cid} do not match its CID`)
  const verified = await verifyReceipt(bytes)
  if (verified.error !== undefined) throw new FraudProofError('UnsignedReceipt', `the ${role} receipt ${cid}: ${verified.error.name}: ${verified.error.message}`)
  return { cid, bytes, value: verified.ok.receipt }
}

/**
 * Judges a fraud proof by re-running the instruction with `executor` (a
 * `LocalExecutor` without identity, over `blocks`). Throws
 * {@link FraudProofError} when the proof is not a valid proof; resolves to the
 * verdict otherwise.
 */
export async function judgeFraudProof (input: Uint8Array | Block<FraudProof>, blocks: Pick<Blocks, 'get'>, executor: Executor, options: AbortOptions = {}): Promise<Verdict> {
  const proof = input instanceof Uint8Array ? decodeFraudProof(input) : decodeFraudProof(input.bytes)
  const accused = await receiptOf(blocks, proof.accused, 'accused', options)
  const challenge = await receiptOf(blocks, proof.challenge, 'challenge', options)
  const accusedBy = accused.value.iss as DID
  const challenger = challenge.value.iss as DID
  if (accusedBy === challenger) throw new FraudProofError('InvalidFraudProof', `both receipts are signed by ${challenger}: a receipt cannot accuse its own signer`)
  if (!(CID.asCID(accused.value.ran) as CID).equals(CID.asCID(challenge.value.ran))) {
    throw new FraudProofError('DifferentInstructions', `the receipts answer different invocations (${String(accused.value.ran)} and ${String(challenge.value.ran)})`)
  }
  let claim: ClaimedOutcome
  try {
    claim = await openClaim(accused, blocks, options)
  } catch (err) {
    if (err instanceof UncheckableReceiptError) throw new FraudProofError(err.name === 'MissingBlock' ? 'InvalidFraudProof' : 'Inconclusive', `${err.name}: ${err.message}`)
    throw err
  }
  if (!claim.instructionCid.equals(proof.instruction)) throw new FraudProofError('DifferentInstructions', `the receipts run instruction ${claim.instructionCid}, not ${proof.instruction} as the proof says`)
  const challengeFuel = challenge.value.meta.fuel
  const challengeDigest = outcomeDigest(claim.instructionCid, challenge.value.out, typeof challengeFuel === 'number' || typeof challengeFuel === 'bigint' ? challengeFuel : null)
  if (challengeDigest.equals(claim.digest)) throw new FraudProofError('NoDisagreement', 'both receipts claim the same outcome')
  const check = await recheck(accused, blocks, executor, options)
  if (check.status === 'uncheckable') throw new FraudProofError('Inconclusive', `${check.error.name}: ${check.error.message}`)
  const rerun = check.digest
  return {
    verdict: check.status === 'mismatch' ? 'fraud' : 'false-accusation',
    instruction: claim.instructionCid,
    accused: accusedBy,
    challenger,
    accusedReceipt: accused.cid,
    challengeReceipt: challenge.cid,
    digests: { accused: claim.digest, challenge: challengeDigest, rerun },
    challengeRight: rerun.equals(challengeDigest)
  }
}

/** Most blocks a fraud proof CAR may carry. */
export const MAX_FRAUD_PROOF_BLOCKS = 20_000

/** Largest fraud proof CAR read (bytes): a module and the arguments, with room for their DAGs. */
export const MAX_FRAUD_PROOF_BYTES = MAX_MODULE_BYTES + MAX_ARGUMENT_BYTES

/** Every block of the DAG under `root` (raw, DAG-PB and DAG-CBOR links are followed); missing blocks are skipped. */
async function collectDag (blocks: Pick<Blocks, 'get'>, root: CID, out: Map<string, { cid: CID, bytes: Uint8Array }>, options: AbortOptions): Promise<void> {
  const queue: CID[] = [root]
  while (queue.length > 0 && out.size < MAX_FRAUD_PROOF_BLOCKS) {
    const cid = queue.shift() as CID
    const key = cid.toString()
    if (out.has(key) || cid.multihash.code === 0x00) continue
    const bytes = await blocks.get(cid, options).catch(() => undefined)
    if (bytes === undefined) continue
    out.set(key, { cid, bytes })
    try {
      if (cid.code === codecs.dagPb) for (const link of dagPb.decode(bytes).Links) queue.push(link.Hash)
      else if (cid.code === codecs.dagCbor) queue.push(...linksOf(dagCbor.decode(bytes)))
    } catch {
      // Not decodable as its codec: kept as it is; the judge's re-run names what is wrong.
    }
  }
}

function linksOf (value: unknown): CID[] {
  const cid = CID.asCID(value)
  if (cid !== null) return [cid]
  if (Array.isArray(value)) return value.flatMap(linksOf)
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) return Object.values(value).flatMap(linksOf)
  return []
}

/**
 * The proof as a self-contained CAR (root: the proof block): the receipts,
 * the invocation and its authorization, the instruction, the arguments block
 * and the DAGs of the module and of every input the arguments link, read from
 * `blocks` (and `extra`, e.g. the challenge receipt not stored yet).
 */
export async function fraudProofCar (proof: Block<FraudProof>, blocks: Pick<Blocks, 'get'>, extra: Array<{ cid: CID, bytes: Uint8Array }> = [], options: AbortOptions = {}): Promise<Uint8Array> {
  const extras = new Map(extra.map(block => [block.cid.toString(), block.bytes]))
  const source = { get: async (cid: CID, opts?: AbortOptions) => extras.get(cid.toString()) ?? await blocks.get(cid, opts) }
  const out = new Map<string, { cid: CID, bytes: Uint8Array }>([[proof.cid.toString(), { cid: proof.cid, bytes: proof.bytes }]])
  for (const cid of [proof.value.accused, proof.value.challenge]) {
    const bytes = await source.get(cid, options)
    if (bytes === undefined) throw new FraudProofError('InvalidFraudProof', `receipt ${cid} is not available to put in the proof`)
    out.set(cid.toString(), { cid, bytes })
  }
  const accused = dagCbor.decode<Receipt>(out.get(proof.value.accused.toString())?.bytes as Uint8Array)
  const claim = await openClaim({ cid: proof.value.accused, bytes: out.get(proof.value.accused.toString())?.bytes as Uint8Array, value: accused }, source, options)
  const invocation = claim.invocation
  out.set(invocation.cid.toString(), { cid: invocation.cid, bytes: invocation.bytes })
  const auth = CID.asCID(invocation.value.auth)
  if (auth !== null) await collectDag(source, auth, out, options)
  await collectDag(source, claim.instructionCid, out, options)
  const args = CID.asCID(invocation.value.task.meta.args)
  if (args !== null) await collectDag(source, args, out, options)
  else for (const link of linksOf(claim.task.args)) await collectDag(source, link, out, options)
  await collectDag(source, claim.task.module, out, options)
  const list = [...out.values()]
  const headerSize = CarBufferWriter.headerLength({ roots: [proof.cid] })
  const size = headerSize + list.reduce((sum, block) => sum + CarBufferWriter.blockLength(block), 0)
  const writer = CarBufferWriter.createWriter(new ArrayBuffer(size), { roots: [proof.cid], headerSize })
  for (const block of list) writer.write(block)
  return writer.close()
}

/** A fraud proof read from a CAR: the proof block and every block that came with it (each checked against its CID). */
export interface FraudProofFile {
  proof: Block<FraudProof>
  blocks: Map<string, Uint8Array>
}

/** Reads a fraud proof CAR. Throws `InvalidFraudProof` (not a CAR, no root, a block that does not match its CID, too large). */
export function readFraudProofCar (bytes: Uint8Array): FraudProofFile {
  if (bytes.byteLength > MAX_FRAUD_PROOF_BYTES) throw new FraudProofError('InvalidFraudProof', `the proof is ${bytes.byteLength} bytes, over the limit of ${MAX_FRAUD_PROOF_BYTES}`)
  let reader: CarBufferReader
  try {
    reader = CarBufferReader.fromBytes(bytes)
  } catch (err) {
    throw new FraudProofError('InvalidFraudProof', `not a CAR file: ${(err as Error).message}`)
  }
  const blocks = new Map<string, Uint8Array>()
  let count = 0
  for (const block of reader.blocks()) {
    if (++count > MAX_FRAUD_PROOF_BLOCKS) throw new FraudProofError('InvalidFraudProof', `the proof holds more than ${MAX_FRAUD_PROOF_BLOCKS} blocks`)
    const cid = CID.asCID(block.cid) as CID
    if (!matchesCid(cid, block.bytes)) throw new FraudProofError('InvalidFraudProof', `block ${cid} does not match its CID`)
    blocks.set(cid.toString(), block.bytes)
  }
  const root = reader.getRoots()[0]
  const rootBytes = root === undefined ? undefined : blocks.get(root.toString())
  if (root === undefined || rootBytes === undefined) throw new FraudProofError('InvalidFraudProof', 'the CAR has no root block')
  const value = decodeFraudProof(rootBytes)
  return { proof: { cid: CID.asCID(root) as CID, bytes: rootBytes, value }, blocks }
}

/** A read-only `Blocks` over a map (plus a fallback store), for judging a proof. */
export function mapBlocks (map: Map<string, Uint8Array>, fallback?: Blocks): Blocks {
  return {
    get: async (cid, options) => map.get(cid.toString()) ?? await fallback?.get(cid, options),
    has: async (cid, options) => map.has(cid.toString()) || (await fallback?.has(cid, options) ?? false),
    put: async (cid, bytes) => { map.set(cid.toString(), bytes) }
  }
}
