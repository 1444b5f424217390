/**
 * The scheduler's side of optimistic verification: it sends every executor
 * receipt to the verifiers it knows, takes their attestations, arbitrates
 * their fraud proofs, and says where each receipt stands.
 *
 * **States** of a receipt (`stateOf`):
 * - `unchecked` — no verifier has attested it, and its challenge window is open;
 * - `attested` — a verifier attested it (one the requester does not name as trusted);
 * - `final` — a verifier the requester trusts attested it, or the challenge
 *   window ended without a proven fraud. Its escrow settles then, not before;
 * - `fraudulent` — a fraud proof against it was upheld.
 *
 * **Arbitration.** A fraud proof is judged by re-running the instruction here
 * (`judgeFraudProof`): the scheduler trusts neither party. It is accepted only
 * while the receipt's challenge window is open, from the verifier that signed
 * the challenge, when that verifier has at least `minVerifierStake` staked.
 * - Fraud proven: the executor's stake is slashed by the award's collateral
 *   ({@link collateralFor}; all it has, if less); `bountyShare` of it goes to
 *   the verifier (when its own re-run was right), the rest to the requester;
 *   the escrow is refunded (if not settled yet); the executor's reputation
 *   records a fraud; the receipt is marked fraudulent and the task is
 *   reassigned (with the tasks that used its output). Verifiers that attested
 *   the wrong outcome lose `minVerifierStake` (to the requester) and reputation.
 * - False accusation: the verifier loses `minVerifierStake` (all it has, if
 *   less) to the executor it accused, and reputation.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { open } from 'lmdb'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { IpvmError, StoreError } from '../src/errors.js'
import { cidOf, codecs } from '../src/model/block.js'
import { receiptBundle } from '../src/auth/sign.js'
import { findPeersByRole } from '../src/net/discovery.js'
import { marketRequest, MAX_VERIFICATION_MESSAGE_BYTES, parseCarriedBlocks } from '../src/net/protocols/market.js'
import { peerDid } from '../src/executor/remote.js'
import { openAttestation } from '../src/verify/attestation.js'
import { checkSampleRate } from '../src/verify/sampling.js'
import { decodeFraudProof, judgeFraudProof, mapBlocks } from '../src/verify/fraud-proof.js'
import { DEFAULT_BOUNTY_SHARE, DEFAULT_CHALLENGE_WINDOW_MS, DEFAULT_MIN_STAKE, DEFAULT_SAMPLE_RATE } from '../src/constants.js'
import type { Database, RootDatabase } from 'lmdb'
import type { Logger, PeerId } from '@libp2p/interface'
import type { DID } from '../src/auth/types.js'
import type { Block } from '../src/model/block.js'
import type { Receipt } from '../src/model/types.js'
import type { IpvmNode } from '../src/net/node.js'
import type { Blocks } from '../src/store/interface.js'
import type { Executor } from '../src/executor/interface.js'
import type { Verdict } from '../src/verify/fraud-proof.js'
import type { Ledger } from './ledger.js'
import type { ReputationBook } from './reputation.js'
import type { VerificationState } from './state.js'

/** Name of the verification state's LMDB file under the scheduler's directory. */
export const VERIFICATION_DB_FILE = 'verification.lmdb'

export type { VerificationState }

/** What the scheduler keeps per executor receipt. */
export interface VerificationRecord {
  receipt: string
  workflow: string
  index: number
  /** The InID. */
  instruction: string
  executor: DID
  /** The executor's PeerId (for its reputation record). */
  peer: string
  /** Who paid (the requester). */
  payer?: DID
  escrow?: string
  /** Credits held for the award (the collateral is reckoned from it). */
  escrowAmount?: number
  /** The outcome digest the receipt claims. */
  digest: string
  registeredAt: number
  /** End of the challenge window (ms since the epoch). */
  finalAt: number
  /** Verifiers the requester trusts: an attestation from one makes the receipt final. */
  trusted: DID[]
  attestations: Array<{ cid: string, verifier: DID, digest: string, at: number }>
  /** Set when an attestation from a trusted verifier made it final. */
  finalBy?: DID
  fraud?: { proof: string, challenger: DID, at: number, slashed: number, bounty: number, rerun: string }
  falseAccusations?: Array<{ proof: string, challenger: DID, at: number, penalty: number }>
}

/** A verifier's record at this scheduler. */
export interface VerifierRecord {
  did: DID
  peer: string
  attested: number
  /** Fraud proofs it filed that were upheld. */
  proven: number
  /** Fraud proofs it filed that were false. */
  falseAccusations: number
  /** Attestations of outcomes later proven wrong. */
  falseAttestations: number
  lastSeen: number
}

/** A verifier's reputation: (good + 1) / (good + 10 × bad + 2). */
export function verifierReputation (record: VerifierRecord | undefined): number {
  if (record === undefined) return 0.5
  const good = record.attested + record.proven
  return (good + 1) / (good + 10 * (record.falseAccusations + record.falseAttestations) + 2)
}

/**
 * The stake an executor must have to be awarded a task whose escrow is
 * `escrow`, and what it loses when a fraud on it is proven: enough that
 * cheating does not pay when each receipt is checked with probability `p`.
 * A cheat gains at most the escrow; it is caught with probability p and then
 * costs the collateral, so the expected loss p × C outweighs the expected gain
 * (1 − p) × escrow when C ≥ escrow × (1 − p) / p. Never below `minStake`. With
 * p = 0 (nobody verifies) only `minStake` is asked.
 */
export function collateralFor (escrow: number, p: number, minStake: number): number {
  if (p <= 0) return minStake
  return Math.max(minStake, Math.ceil(escrow * (1 - p) / p))
}

/** Named refusals of attestations and fraud proofs. */
export class VerificationRefusedError extends IpvmError {
  constructor (name: 'UnknownReceipt' | 'ChallengeWindowClosed' | 'AlreadyProven' | 'WrongDigest' | 'NotYourAttestation' | 'NotYourProof' | 'InsufficientStake', message: string) {
    super(message)
    this.name = name
  }
}

/** Events, for logs, tests and benchmarks. */
export type VerificationEvent =
  | { type: 'pushed', receipt: string, verifiers: number }
  | { type: 'attested', receipt: string, verifier: DID, trusted: boolean }
  | { type: 'fraud', receipt: string, executor: DID, challenger: DID, slashed: number, bounty: number }
  | { type: 'false-accusation', receipt: string, challenger: DID, penalty: number }
  | { type: 'false-attestation', receipt: string, verifier: DID, penalty: number }
  | { type: 'refused', kind: 'attest' | 'fraud', from: string, name: string, message: string }

/** Options of {@link Verification}. */
export interface VerificationInit {
  node: IpvmNode
  /** The scheduler's directory: `dir/verification.lmdb`. */
  dir: string
  /** Blocks for re-running (the scheduler's repo, backed by the network). */
  blocks: Blocks
  /** Re-runs instructions to judge fraud proofs (a `LocalExecutor` without identity). */
  executor: Executor
  ledger: Ledger
  reputation: ReputationBook
  /** @default 600000 */
  challengeWindowMs?: number
  /** The probability that a receipt is checked, which the collateral is reckoned from. @default 0.05 */
  sampleRate?: number
  /** Least stake (credits) of an executor (the collateral's floor). @default 1000 */
  minStake?: number
  /** Least stake (credits) a verifier needs to file a fraud proof; what a false accusation costs it. @default 1000 */
  minVerifierStake?: number
  /** Share of a slashed stake paid to the verifier that proved the fraud; the rest goes to the requester. @default 0.5 */
  bountyShare?: number
  /** Verifiers trusted for every workflow (besides those a workflow names). */
  trustedVerifiers?: DID[]
  /** Find verifiers in the DHT (role `verifier`). @default true */
  discover?: boolean
  /** Verifiers to send receipts to besides those found. */
  verifiers?: PeerId[]
  /** Called when a fraud is proven: the scheduler runs the task again (and what used its output). */
  retract?: (record: VerificationRecord) => Promise<void>
  onEvent?: (event: VerificationEvent) => void
}

/** What the scheduler registers for each executor receipt. */
export interface RegisterReceipt {
  receipt: Block<Receipt>
  workflow: string
  index: number
  instruction: CID
  executor: DID
  peer: string
  digest: CID
  payer?: DID
  escrow?: string
  escrowAmount?: number
  /** Verifiers the requester trusts (from the workflow). */
  trusted?: DID[]
}

/** Most receipt pushes in flight; beyond it pushes wait. */
const MAX_PUSHES = 64

/**
 * @example
 * ```ts
 * const verification = Verification.open({ node, dir, blocks, executor, ledger, reputation })
 * await verification.register({ receipt, workflow, index, … })  // pushed to verifiers
 * verification.stateOf(receipt.cid.toString())                   // 'unchecked'
 * ```
 */
export class Verification {
  private readonly init: VerificationInit
  private readonly log: Logger
  readonly challengeWindowMs: number
  readonly sampleRate: number
  readonly minStake: number
  readonly minVerifierStake: number
  readonly bountyShare: number
  private readonly pushes = new Set<Promise<void>>()
  private readonly waiting: Array<() => void> = []
  private known: { peers: PeerId[], at: number } = { peers: [], at: 0 }
  private discovering: Promise<void> | undefined
  private readonly controller = new AbortController()
  /** Judgements in progress, by accused receipt: one at a time per receipt. */
  private readonly judging = new Map<string, Promise<unknown>>()

  private constructor (
    init: VerificationInit,
    private readonly env: RootDatabase,
    private readonly records: Database<VerificationRecord, string>,
    private readonly documents: Database<Uint8Array, string>,
    private readonly verifierBook: Database<VerifierRecord, string>
  ) {
    this.init = init
    this.log = init.node.libp2p.logger.forComponent('ipvm:scheduler:verification')
    this.challengeWindowMs = init.challengeWindowMs ?? DEFAULT_CHALLENGE_WINDOW_MS
    this.sampleRate = checkSampleRate(init.sampleRate ?? DEFAULT_SAMPLE_RATE)
    this.minStake = init.minStake ?? DEFAULT_MIN_STAKE
    this.minVerifierStake = init.minVerifierStake ?? DEFAULT_MIN_STAKE
    this.bountyShare = init.bountyShare ?? DEFAULT_BOUNTY_SHARE
    if (!(this.bountyShare >= 0 && this.bountyShare <= 1)) throw new RangeError(`bountyShare must be from 0 to 1, got ${this.bountyShare}`)
  }

  /** Opens (creating) `dir/verification.lmdb`. Throws `StoreError` when it cannot. */
  static open (init: VerificationInit): Verification {
    let env: RootDatabase
    try {
      mkdirSync(init.dir, { recursive: true, mode: 0o700 })
      env = open({ path: join(init.dir, VERIFICATION_DB_FILE), maxDbs: 4, compression: false })
    } catch (err) {
      throw new StoreError(`cannot open the verification state in ${init.dir}: ${(err as Error).message}`)
    }
    return new Verification(init, env, env.openDB({ name: 'receipts' }), env.openDB({ name: 'documents', encoding: 'binary' }), env.openDB({ name: 'verifiers' }))
  }

  /** The stake an award with this escrow needs (see {@link collateralFor}). */
  collateral (escrow: number): number {
    return collateralFor(escrow, this.sampleRate, this.minStake)
  }

  private emit (event: VerificationEvent): void {
    try {
      this.init.onEvent?.(event)
    } catch {}
  }

  /** Records an executor receipt (unchecked, final after the challenge window) and sends it to the verifiers, in the background. */
  async register (entry: RegisterReceipt): Promise<VerificationRecord> {
    const now = Date.now()
    const record: VerificationRecord = {
      receipt: entry.receipt.cid.toString(),
      workflow: entry.workflow,
      index: entry.index,
      instruction: entry.instruction.toString(),
      executor: entry.executor,
      peer: entry.peer,
      digest: entry.digest.toString(),
      registeredAt: now,
      finalAt: now + this.challengeWindowMs,
      trusted: [...new Set([...(entry.trusted ?? []), ...(this.init.trustedVerifiers ?? [])])],
      attestations: [],
      ...(entry.payer !== undefined ? { payer: entry.payer } : {}),
      ...(entry.escrow !== undefined ? { escrow: entry.escrow } : {}),
      ...(entry.escrowAmount !== undefined ? { escrowAmount: entry.escrowAmount } : {})
    }
    await this.records.put(record.receipt, record)
    void this.push(entry.receipt)
    return record
  }

  /** The record of a receipt, if it is an executor receipt this scheduler registered. */
  record (receipt: string): VerificationRecord | undefined {
    return this.records.get(receipt)
  }

  /** Where a receipt stands now (`undefined` for receipts not registered: the scheduler's own). */
  stateOf (receipt: string, now = Date.now()): VerificationState | undefined {
    const record = this.records.get(receipt)
    if (record === undefined) return undefined
    if (record.fraud !== undefined) return 'fraudulent'
    if (record.finalBy !== undefined || now >= record.finalAt) return 'final'
    return record.attestations.length > 0 ? 'attested' : 'unchecked'
  }

  /** Verifiers this scheduler has heard from, best reputation first. */
  verifiers (): Array<VerifierRecord & { reputation: number }> {
    const out: Array<VerifierRecord & { reputation: number }> = []
    for (const { value } of this.verifierBook.getRange()) out.push({ ...value, reputation: verifierReputation(value) })
    return out.sort((a, b) => b.reputation - a.reputation || (a.did < b.did ? -1 : 1))
  }

  private async noteVerifier (did: DID, peer: string, change: Partial<Record<'attested' | 'proven' | 'falseAccusations' | 'falseAttestations', number>>): Promise<void> {
    const current = this.verifierBook.get(did) ?? { did, peer, attested: 0, proven: 0, falseAccusations: 0, falseAttestations: 0, lastSeen: 0 }
    const next: VerifierRecord = { ...current, peer, lastSeen: Date.now() }
    for (const [key, value] of Object.entries(change) as Array<[keyof typeof change, number]>) next[key] += value
    await this.verifierBook.put(did, next)
  }

  /** The verifiers to send receipts to: those configured, and those the DHT names (looked up at most every 30 s, in the background). */
  private verifierPeers (): PeerId[] {
    const configured = this.init.verifiers ?? []
    if (this.init.discover !== false && Date.now() - this.known.at > 30_000 && this.discovering === undefined) {
      this.discovering = findPeersByRole(this.init.node, 'verifier', { timeoutMs: 10_000, signal: this.controller.signal })
        .then(peers => { this.known = { peers: peers.map(peer => peer.id), at: Date.now() } })
        .catch(err => { this.log('finding verifiers failed: %s', (err as Error).message); this.known = { ...this.known, at: Date.now() } })
        .finally(() => { this.discovering = undefined })
    }
    const seen = new Set<string>()
    return [...configured, ...this.known.peers].filter(peer => !seen.has(peer.toString()) && seen.add(peer.toString()) !== undefined)
  }

  /** Finds verifiers now (rather than at the next receipt). */
  async discover (): Promise<number> {
    this.known.at = 0
    this.verifierPeers()
    await this.discovering
    return this.known.peers.length
  }

  /** Sends a receipt and its bundle to every verifier known. Failures are logged: the challenge window still runs. */
  private async push (receipt: Block<Receipt>): Promise<void> {
    const peers = this.verifierPeers()
    if (peers.length === 0) return
    while (this.pushes.size >= MAX_PUSHES) await new Promise<void>(resolve => this.waiting.push(resolve))
    const job = (async () => {
      const blocks = await receiptBundle(this.init.blocks, receipt.value)
      const request = { check: { receipt: receipt.bytes, blocks } }
      await Promise.all(peers.map(async peer => {
        try {
          await marketRequest(this.init.node.libp2p, peer, request, { signal: this.controller.signal, maxMessageBytes: MAX_VERIFICATION_MESSAGE_BYTES })
        } catch (err) {
          this.log('sending receipt %s to verifier %p failed: %s', receipt.cid, peer, (err as Error).message)
        }
      }))
      this.emit({ type: 'pushed', receipt: receipt.cid.toString(), verifiers: peers.length })
    })().catch(err => { this.log('pushing receipt %s failed: %s', receipt.cid, (err as Error).message) })
      .finally(() => { this.pushes.delete(job); this.waiting.shift()?.() })
    this.pushes.add(job)
  }

  /** Resolves when the receipts registered so far have been sent to the verifiers. */
  async pushed (): Promise<void> {
    while (this.pushes.size > 0) await Promise.allSettled([...this.pushes])
  }

  /**
   * Takes an attestation from `from` (whose DID must be the attestation's
   * issuer). Refused by name: `InvalidAttestation`, `NotYourAttestation`,
   * `UnknownReceipt`, `WrongDigest` (it attests another outcome than the
   * receipt claims: that is a challenge, which needs a fraud proof).
   */
  async attest (bytes: Uint8Array, from: PeerId): Promise<{ state: VerificationState }> {
    try {
      const attestation = await openAttestation(bytes)
      if (attestation.verifier !== peerDid(from)) throw new VerificationRefusedError('NotYourAttestation', `the attestation is issued by ${attestation.verifier}, not by the sender ${peerDid(from)}`)
      const key = attestation.receipt.toString()
      return await this.serialize(key, async () => {
        const record = this.records.get(key)
        if (record === undefined) throw new VerificationRefusedError('UnknownReceipt', `this scheduler has no receipt ${key}`)
        if (record.digest !== attestation.digest.toString()) throw new VerificationRefusedError('WrongDigest', `the attestation is for outcome ${attestation.digest}, but receipt ${key} claims ${record.digest}; a different outcome is a challenge, filed as a fraud proof`)
        if (record.attestations.some(entry => entry.verifier === attestation.verifier)) return { state: this.stateOf(key) as VerificationState }
        const trusted = record.trusted.includes(attestation.verifier)
        const next: VerificationRecord = { ...record, attestations: [...record.attestations, { cid: attestation.cid.toString(), verifier: attestation.verifier, digest: attestation.digest.toString(), at: Date.now() }] }
        const wasFinal = this.stateOf(key) === 'final'
        if (trusted && next.finalBy === undefined && record.fraud === undefined) next.finalBy = attestation.verifier
        await this.documents.put(attestation.cid.toString(), attestation.bytes)
        await this.records.put(key, next)
        await this.noteVerifier(attestation.verifier, from.toString(), { attested: 1 })
        // A trusted attestation makes the result final: its escrow settles now.
        if (trusted && !wasFinal && record.escrow !== undefined) await this.settle(record.escrow)
        this.emit({ type: 'attested', receipt: key, verifier: attestation.verifier, trusted })
        return { state: this.stateOf(key) as VerificationState }
      })
    } catch (err) {
      const error = err as Error
      this.emit({ type: 'refused', kind: 'attest', from: from.toString(), name: error.name, message: error.message })
      throw err
    }
  }

  /** Attestations stored for a receipt (archived UCANs). */
  async attestations (receipt: string): Promise<Uint8Array[]> {
    const record = this.records.get(receipt)
    if (record === undefined) return []
    return record.attestations.map(entry => this.documents.get(entry.cid)).filter((bytes): bytes is Uint8Array => bytes !== undefined)
  }

  private async settle (escrow: string): Promise<void> {
    try {
      const state = this.init.ledger.escrow(escrow)?.state
      if (state === 'charged') await this.init.ledger.settle(escrow)
    } catch (err) {
      // Settled by the timer at the same moment, or refunded: the journal says which.
      this.log('settling %s on attestation: %s', escrow, (err as Error).message)
    }
  }

  /** Runs `fn` after any other judgement or attestation of the same receipt. */
  private async serialize<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.judging.get(key) ?? Promise.resolve()
    const run = before.catch(() => {}).then(fn)
    this.judging.set(key, run)
    try {
      return await run
    } finally {
      if (this.judging.get(key) === run) this.judging.delete(key)
    }
  }

  /**
   * Arbitrates a fraud proof filed by `from`: `{ proof, blocks }` (the proof
   * block, the challenge receipt and any block the scheduler may lack).
   * Resolves to the verdict; refusals are named (`UnknownReceipt`,
   * `ChallengeWindowClosed`, `AlreadyProven`, `NotYourProof`,
   * `InsufficientStake`, and the `FraudProofError` names).
   */
  async fraud (body: unknown, from: PeerId): Promise<Verdict & { slashed: number, bounty: number, penalty: number }> {
    try {
      const value = body as { proof?: unknown, blocks?: unknown } | null
      if (!(value?.proof instanceof Uint8Array)) throw new IpvmError('a fraud request is { proof, blocks }')
      const proof = decodeFraudProof(value.proof)
      const carried = parseCarriedBlocks(value.blocks)
      const key = proof.accused.toString()
      return await this.serialize(key, async () => await this.arbitrate(value.proof as Uint8Array, proof.accused, proof.challenge, carried, from))
    } catch (err) {
      const error = err as Error
      this.emit({ type: 'refused', kind: 'fraud', from: from.toString(), name: error.name, message: error.message })
      throw err
    }
  }

  private async arbitrate (proofBytes: Uint8Array, accused: CID, challenge: CID, carried: Array<{ cid: CID, bytes: Uint8Array }>, from: PeerId): Promise<Verdict & { slashed: number, bounty: number, penalty: number }> {
    const key = accused.toString()
    const record = this.records.get(key)
    if (record === undefined) throw new VerificationRefusedError('UnknownReceipt', `this scheduler has no receipt ${key}`)
    if (record.fraud !== undefined) throw new VerificationRefusedError('AlreadyProven', `receipt ${key} was already proven fraudulent (proof ${record.fraud.proof})`)
    if (Date.now() >= record.finalAt) throw new VerificationRefusedError('ChallengeWindowClosed', `the challenge window of receipt ${key} closed at ${new Date(record.finalAt).toISOString()}`)
    const filer = peerDid(from)
    const map = new Map(carried.map(block => [block.cid.toString(), block.bytes]))
    const challengeBytes = map.get(challenge.toString())
    let challenger: unknown
    try {
      challenger = challengeBytes === undefined ? undefined : dagCbor.decode<{ iss?: unknown }>(challengeBytes).iss
    } catch {}
    if (challenger !== filer) throw new VerificationRefusedError('NotYourProof', `the challenge receipt must be signed by the verifier filing it (${filer}), not ${String(challenger)}`)
    const staked = this.init.ledger.account(filer).staked
    if (staked < this.minVerifierStake) throw new VerificationRefusedError('InsufficientStake', `filing a fraud proof needs a stake of ${this.minVerifierStake} credits; ${filer} has ${staked}`)
    // Carried blocks first (the challenge), then the scheduler's own (the accused receipt, its invocation, …), then the network (module, inputs).
    const blocks = mapBlocks(map, this.init.blocks)
    // The re-run is bounded by the task's own limits (fuel, memory, time).
    const verdict = await judgeFraudProof(proofBytes, blocks, this.init.executor, { signal: this.controller.signal })
    const proofKey = cidOf(proofBytes, codecs.dagCbor).toString()
    await this.documents.put(proofKey, proofBytes)
    if (verdict.verdict === 'fraud') {
      const slashed = Math.min(this.init.ledger.account(record.executor).staked, this.collateral(record.escrowAmount ?? 0))
      const bounty = verdict.challengeRight ? Math.floor(slashed * this.bountyShare) : 0
      const toPayer = slashed - bounty
      const shares: Array<{ to: DID, amount: number }> = []
      if (bounty > 0) shares.push({ to: filer, amount: bounty })
      if (toPayer > 0) shares.push({ to: record.payer ?? filer, amount: toPayer })
      if (slashed > 0) await this.init.ledger.slash(record.executor, slashed, shares, `fraud proven on receipt ${key} by ${filer} (proof ${proofKey})`)
      if (record.escrow !== undefined) {
        const state = this.init.ledger.escrow(record.escrow)?.state
        if (state === 'held' || state === 'charged') await this.init.ledger.refund(record.escrow, `fraud proven (proof ${proofKey})`)
      }
      this.init.reputation.record(record.executor, record.peer, 'fraudulent')
      const next: VerificationRecord = { ...record, fraud: { proof: proofKey, challenger: filer, at: Date.now(), slashed, bounty, rerun: verdict.digests.rerun.toString() } }
      delete next.finalBy
      await this.records.put(key, next)
      await this.noteVerifier(filer, from.toString(), { proven: 1 })
      this.emit({ type: 'fraud', receipt: key, executor: record.executor, challenger: filer, slashed, bounty })
      // Verifiers that attested the wrong outcome lied (or were wrong): they pay too.
      for (const attestation of record.attestations) {
        if (attestation.digest === verdict.digests.rerun.toString()) continue
        const penalty = Math.min(this.init.ledger.account(attestation.verifier).staked, this.minVerifierStake)
        if (penalty > 0) await this.init.ledger.slash(attestation.verifier, penalty, [{ to: record.payer ?? filer, amount: penalty }], `false attestation of receipt ${key}`)
        await this.noteVerifier(attestation.verifier, this.verifierBook.get(attestation.verifier)?.peer ?? '', { falseAttestations: 1 })
        this.emit({ type: 'false-attestation', receipt: key, verifier: attestation.verifier, penalty })
      }
      if (this.init.retract !== undefined) {
        this.init.retract(next).catch(err => { this.log.error('reassigning the task of fraudulent receipt %s failed: %e', key, err) })
      }
      return { ...verdict, slashed, bounty, penalty: 0 }
    }
    const penalty = Math.min(staked, this.minVerifierStake)
    if (penalty > 0) await this.init.ledger.slash(filer, penalty, [{ to: record.executor, amount: penalty }], `false accusation of receipt ${key} (proof ${proofKey})`)
    await this.records.put(key, { ...record, falseAccusations: [...(record.falseAccusations ?? []), { proof: proofKey, challenger: filer, at: Date.now(), penalty }] })
    await this.noteVerifier(filer, from.toString(), { falseAccusations: 1 })
    this.emit({ type: 'false-accusation', receipt: key, challenger: filer, penalty })
    return { ...verdict, slashed: 0, bounty: 0, penalty }
  }

  /** A stored attestation or fraud proof, by CID. */
  document (cid: string): Uint8Array | undefined {
    return this.documents.get(cid)
  }

  async close (): Promise<void> {
    this.controller.abort(new IpvmError('the scheduler is stopping'))
    await Promise.allSettled([...this.pushes, ...this.judging.values()])
    await this.env.close()
  }
}
