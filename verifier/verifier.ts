/**
 * The verifier: it receives every finished receipt a scheduler pushes,
 * chooses to check each with probability p using a secret only it knows
 * (`Sampler`), re-runs the chosen ones in the same sandbox with the same
 * limits, and answers the scheduler: an attestation when the outcome digests
 * match, a fraud proof when they do not.
 *
 * Checks chosen but not finished are kept in LMDB (`verifier.lmdb`), so a
 * verifier that crashes mid-check takes them up again when it restarts. Every
 * outcome is recorded there too, and fraud proofs are also written as CAR
 * files under `proofs/` (judge one with `ipvm verify --proof FILE`).
 */
import { mkdirSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { open } from 'lmdb'
import * as dagCbor from '@ipld/dag-cbor'
import { peerIdFromString } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import { IpvmError, StoreError } from '../src/errors.js'
import { cidOf, codecs } from '../src/model/block.js'
import { marketRequest, MAX_VERIFICATION_MESSAGE_BYTES, parseCarriedBlocks } from '../src/net/protocols/market.js'
import { peerDid } from '../src/executor/remote.js'
import { recheck } from '../src/verify/recheck.js'
import { makeFraudProof, fraudProofCar } from '../src/verify/fraud-proof.js'
import { signAttestation } from '../src/verify/attestation.js'
import { DEFAULT_TASK_TIME_MS } from '../src/constants.js'
import type { Database, RootDatabase } from 'lmdb'
import type { Logger, PeerId } from '@libp2p/interface'
import type { DID, Signer } from '../src/auth/types.js'
import type { IpvmNode } from '../src/net/node.js'
import type { Blocks } from '../src/store/interface.js'
import type { Executor } from '../src/executor/interface.js'
import type { Sampler } from '../src/verify/sampling.js'

/** Name of the verifier's LMDB file under its directory. */
export const VERIFIER_DB_FILE = 'verifier.lmdb'

/** How a check ended. */
export type CheckOutcome =
  | 'attested' // digests match; the attestation was sent
  | 'fraud' // digests differ; the fraud proof was upheld
  | 'refused' // the scheduler refused the attestation or the proof (named in `detail`)
  | 'uncheckable' // not deterministic, a block missing, …: nobody is accused
  | 'unsent' // the answer could not reach the scheduler

/** One finished check. */
export interface CheckRecord {
  receipt: string
  scheduler: string
  outcome: CheckOutcome
  /** The error or verdict name, e.g. `Nondeterministic`, `false-accusation`, `ChallengeWindowClosed`. */
  detail?: string
  /** The outcome digest of the re-run. */
  digest?: string
  /** The attestation's or the fraud proof's CID. */
  document?: string
  /** Fuel and time the re-run took. */
  fuel?: number
  ms: number
  at: number
}

/** What the verifier has done since it started. */
export interface VerifierStats {
  received: number
  sampled: number
  /** Chosen but dropped: the queue was full. */
  dropped: number
  attested: number
  frauds: number
  refused: number
  uncheckable: number
  unsent: number
  /** Fuel and worker time spent re-running. */
  fuel: number
  ms: number
}

/** Events, for logs, tests and benchmarks. */
export type VerifierEvent =
  | { type: 'received', receipt: string, sampled: boolean }
  | { type: 'checked', record: CheckRecord }

interface PendingCheck {
  receipt: Uint8Array
  /** The blocks that came with it (kept: a restarted verifier may have lost them from a memory store). */
  blocks: Array<{ cid: string, bytes: Uint8Array }>
  scheduler: string
  at: number
}

/** Options of {@link Verifier}. */
export interface VerifierInit {
  node: IpvmNode
  /** Signs attestations and challenge receipts. */
  signer: Signer & { did(): DID }
  /** Where receipts' blocks are stored, fetched from (the network), and read for re-running. */
  blocks: Blocks
  /** Re-runs instructions (a `LocalExecutor` without identity over `blocks`). */
  executor: Executor
  sampler: Sampler
  /** The verifier's directory: `dir/verifier.lmdb`, `dir/proofs/`. */
  dir: string
  /** Checks run at once. @default 1 */
  concurrency?: number
  /** Most checks waiting; more are dropped (and counted). @default 10000 */
  maxQueue?: number
  onEvent?: (event: VerifierEvent) => void
}

/**
 * @example
 * ```ts
 * const verifier = Verifier.open({ node, signer, blocks, executor, sampler, dir })
 * await verifier.start()             // takes up checks left by a crash
 * await verifier.receive(body, peer) // a scheduler's `check` request
 * ```
 */
export class Verifier {
  private readonly init: VerifierInit
  private readonly log: Logger
  readonly stats: VerifierStats = { received: 0, sampled: 0, dropped: 0, attested: 0, frauds: 0, refused: 0, uncheckable: 0, unsent: 0, fuel: 0, ms: 0 }
  private readonly queue: string[] = []
  private running = 0
  private readonly idleWaiters: Array<() => void> = []
  private readonly controller = new AbortController()
  private stopped = false

  private constructor (
    init: VerifierInit,
    private readonly env: RootDatabase,
    private readonly pending: Database<PendingCheck, string>,
    private readonly checks: Database<CheckRecord, string>
  ) {
    this.init = init
    this.log = init.node.libp2p.logger.forComponent('ipvm:verifier')
  }

  /** Opens (creating) `dir/verifier.lmdb`. Throws `StoreError`. */
  static open (init: VerifierInit): Verifier {
    let env: RootDatabase
    try {
      mkdirSync(join(init.dir, 'proofs'), { recursive: true, mode: 0o700 })
      env = open({ path: join(init.dir, VERIFIER_DB_FILE), maxDbs: 3, compression: false })
    } catch (err) {
      throw new StoreError(`cannot open the verifier state in ${init.dir}: ${(err as Error).message}`)
    }
    return new Verifier(init, env, env.openDB({ name: 'pending' }), env.openDB({ name: 'checks' }))
  }

  /** The sample rate. */
  get rate (): number {
    return this.init.sampler.rate
  }

  /** Takes up the checks a previous run left unfinished. Returns how many. */
  async start (): Promise<number> {
    let resumed = 0
    for (const { key } of this.pending.getRange()) {
      this.enqueue(key)
      resumed++
    }
    return resumed
  }

  /**
   * A scheduler's `check` request: `{ receipt, blocks }`. Stores the blocks,
   * draws, and queues the check when chosen. Answers at once (whether it was
   * chosen is not said: the scheduler need not know).
   */
  async receive (body: unknown, from: PeerId): Promise<{ received: true }> {
    const value = body as { receipt?: unknown, blocks?: unknown } | null
    if (!(value?.receipt instanceof Uint8Array)) throw new IpvmError('a check request is { receipt, blocks }')
    const receipt = cidOf(value.receipt, codecs.dagCbor)
    const carried = parseCarriedBlocks(value.blocks)
    try {
      const decoded = dagCbor.decode<{ ran?: unknown, iss?: unknown }>(value.receipt)
      if (typeof decoded?.iss !== 'string' || decoded.ran === undefined) throw new Error('no `iss` or `ran`')
    } catch (err) {
      throw new IpvmError(`the receipt is not a signed receipt: ${(err as Error).message}`)
    }
    this.stats.received++
    const key = receipt.toString()
    const sampled = this.init.sampler.chooses(receipt)
    this.emit({ type: 'received', receipt: key, sampled })
    if (!sampled || this.checks.get(key) !== undefined || this.pending.get(key) !== undefined) return { received: true }
    if (this.queue.length >= (this.init.maxQueue ?? 10_000)) {
      this.stats.dropped++
      this.log('queue full: receipt %s chosen but not checked', key)
      return { received: true }
    }
    for (const block of carried) await this.init.blocks.put(block.cid, block.bytes)
    await this.init.blocks.put(receipt, value.receipt)
    // Durable before it counts: a crash from here on leaves the check to the next start.
    await this.pending.put(key, { receipt: value.receipt, blocks: carried.map(block => ({ cid: block.cid.toString(), bytes: block.bytes })), scheduler: from.toString(), at: Date.now() })
    this.stats.sampled++
    this.enqueue(key)
    return { received: true }
  }

  private emit (event: VerifierEvent): void {
    try {
      this.init.onEvent?.(event)
    } catch {}
  }

  private enqueue (key: string): void {
    this.queue.push(key)
    this.pump()
  }

  private pump (): void {
    const concurrency = this.init.concurrency ?? 1
    while (!this.stopped && this.running < concurrency && this.queue.length > 0) {
      const key = this.queue.shift() as string
      this.running++
      void this.check(key)
        .catch(err => { this.log.error('checking %s failed: %e', key, err) })
        .finally(() => {
          this.running--
          if (this.running === 0 && this.queue.length === 0) for (const wake of this.idleWaiters.splice(0)) wake()
          this.pump()
        })
    }
  }

  /** Resolves when no check is queued or running. */
  async idle (): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return
    await new Promise<void>(resolve => this.idleWaiters.push(resolve))
  }

  /** Checks of receipts so far, newest first (at most `limit`). */
  records (limit = 1000): CheckRecord[] {
    return [...this.checks.getRange()].map(entry => entry.value).sort((a, b) => b.at - a.at).slice(0, limit)
  }

  /** The check of one receipt, if done. */
  checkOf (receipt: string): CheckRecord | undefined {
    return this.checks.get(receipt)
  }

  private async check (key: string): Promise<void> {
    const pending = this.pending.get(key)
    if (pending === undefined) return
    const started = performance.now()
    const signal = this.controller.signal
    for (const block of pending.blocks ?? []) {
      const cid = CID.parse(block.cid)
      if (!await this.init.blocks.has(cid)) await this.init.blocks.put(cid, block.bytes)
    }
    const result = await recheck(pending.receipt, this.init.blocks, this.init.executor, { signal })
    if (this.stopped) return // left pending: taken up at the next start
    const ms = performance.now() - started
    const fuel = result.status === 'uncheckable' ? undefined : Number(result.rerun.fuel ?? 0)
    const record: CheckRecord = { receipt: key, scheduler: pending.scheduler, outcome: 'uncheckable', ms, at: Date.now(), ...(fuel !== undefined ? { fuel } : {}) }
    this.stats.ms += ms
    this.stats.fuel += fuel ?? 0
    let scheduler: PeerId
    try {
      scheduler = peerIdFromString(pending.scheduler)
    } catch {
      await this.finish(key, { ...record, outcome: 'unsent', detail: `unknown scheduler ${pending.scheduler}` })
      return
    }
    if (result.status === 'uncheckable') {
      await this.finish(key, { ...record, outcome: 'uncheckable', detail: result.error.name })
      return
    }
    record.digest = result.digest.toString()
    if (result.status === 'match') {
      const attestation = await signAttestation({ signer: this.init.signer, audience: peerDid(scheduler), receipt: result.claim.receipt.cid, digest: result.digest })
      record.document = attestation.cid.toString()
      try {
        await marketRequest(this.init.node.libp2p, scheduler, { attest: attestation.bytes }, { signal })
        await this.finish(key, { ...record, outcome: 'attested' })
      } catch (err) {
        await this.finish(key, { ...record, ...this.failure(err) })
      }
      return
    }
    const { proof, challenge } = await makeFraudProof(result.claim, result.rerun, this.init.signer)
    record.document = proof.cid.toString()
    try {
      // Kept as a file anyone can judge offline.
      const car = await fraudProofCar(proof, this.init.blocks, [challenge], { signal })
      await writeFile(join(this.init.dir, 'proofs', `${key}.car`), car, { mode: 0o600 })
    } catch (err) {
      this.log('writing the fraud proof against %s failed: %s', key, (err as Error).message)
    }
    try {
      // The scheduler judges by re-running: allow it the task's time.
      const timeoutMs = (result.claim.task.meta.time ?? DEFAULT_TASK_TIME_MS) + 30_000
      const answer = await marketRequest(this.init.node.libp2p, scheduler, { fraud: { proof: proof.bytes, blocks: [{ cid: challenge.cid, bytes: challenge.bytes }] } }, { signal, timeoutMs, maxMessageBytes: MAX_VERIFICATION_MESSAGE_BYTES }) as { verdict?: unknown }
      const upheld = answer?.verdict === 'fraud'
      await this.finish(key, { ...record, outcome: upheld ? 'fraud' : 'refused', detail: String(answer?.verdict ?? 'no verdict') })
    } catch (err) {
      await this.finish(key, { ...record, ...this.failure(err) })
    }
  }

  private failure (err: unknown): Pick<CheckRecord, 'outcome' | 'detail'> {
    const error = err as Error & { remoteName?: string }
    // A named refusal from the scheduler, or a failure to reach it.
    if (error.remoteName !== undefined) return { outcome: 'refused', detail: error.remoteName }
    return { outcome: 'unsent', detail: `${error.name}: ${error.message}` }
  }

  private async finish (key: string, record: CheckRecord): Promise<void> {
    if (record.outcome === 'attested') this.stats.attested++
    else if (record.outcome === 'fraud') this.stats.frauds++
    else if (record.outcome === 'refused') this.stats.refused++
    else if (record.outcome === 'uncheckable') this.stats.uncheckable++
    else this.stats.unsent++
    await this.env.transaction(() => {
      void this.checks.put(key, record)
      void this.pending.remove(key)
    })
    this.log('checked %s: %s %s', key, record.outcome, record.detail ?? '')
    this.emit({ type: 'checked', record })
  }

  /** Stops checking; unfinished checks stay pending for the next start. Safe to call twice. */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.controller.abort(new IpvmError('the verifier is stopping'))
    for (const wake of this.idleWaiters.splice(0)) wake()
    await this.env.close()
  }
}

