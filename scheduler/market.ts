/**
 * The market: how a scheduler finds an executor for a task, what it pays,
 * and what happens when the executor fails.
 *
 * For each ready task:
 *
 * 1. **Announce.** A signed announcement (InID, module, fuel limit, maximum
 *    price, bid deadline) is sent as a call for bids over `/ipvm/market/1.0.0`
 *    to at most `maxBidders` executors found in the DHT, those that provide
 *    the module first, and published as a DHT record (`task/<InID>`, in the
 *    background) when the task waits, or every time (`announceInDht`).
 * 2. **Bid.** The round ends at the deadline, or as soon as every executor
 *    asked has answered. Bids that arrive late, do not verify, are signed by
 *    another executor than the one asked, answer another announcement or ask
 *    more than the maximum price are refused and logged.
 * 3. **Award.** Valid bids are ranked by {@link scoreBid} (price, reputation,
 *    locality, load; ties by bid CID). For the best one the task's fuel limit
 *    at the bid's price is taken from the payer into escrow — refused when the
 *    payer lacks the credits (`InsufficientFunds`), when the workflow's budget
 *    would be exceeded (`BudgetExceeded`), or when the executor's stake is
 *    below the award's collateral, `max(minStake, escrow × (1 − p) / p)`
 *    (`collateralFor`: cheating must not pay at check rate p; then the next
 *    bid is tried). The award is the
 *    `/ipvm/execute` request: a delegation narrowed to the task's module,
 *    fuel, price (`maxPrice`) and escrow (`maxSpend`), citing the bid.
 * 4. **Outcome.** A verified receipt charges the escrow by the fuel actually
 *    burnt (`charge`); the charge settles when the challenge window ends
 *    (`settle`: the executor is paid, the rest refunded). An executor that
 *    fails, goes silent or returns a receipt that does not verify earns
 *    nothing: its escrow is refunded, its reputation drops, and the next bid
 *    (or a new round) takes the task.
 * 5. **No bid.** The task waits and is announced again with backoff (250 ms
 *    doubling to 10 s); the scheduler records why ("no executor bid under
 *    price 10", "no executor has capacity", …), which `ipvm status` shows.
 *    After `awardTimeoutMs` it fails with `NoExecutor`.
 */
import { setMaxListeners } from 'node:events'
import { TaskError } from '../src/errors.js'
import { costOf } from '../src/model/price.js'
import { peerDid } from '../src/executor/remote.js'
import { marketRequest, openBid, parseBidAnswer, signAnnouncement } from '../src/net/protocols/market.js'
import { putSignedRecord } from '../src/net/records.js'
import { routingTableSize } from '../src/net/discovery.js'
import {
  DEFAULT_AWARD_TIMEOUT_MS, DEFAULT_BID_WINDOW_MS, DEFAULT_CHALLENGE_WINDOW_MS, DEFAULT_MAX_BIDDERS, DEFAULT_MIN_STAKE, DEFAULT_SAMPLE_RATE, DEFAULT_TASK_FUEL
} from '../src/constants.js'
import { collateralFor } from './verification.js'
import { checkSampleRate } from '../src/verify/sampling.js'
import { InsufficientStakeError } from './ledger.js'
import type { CID } from 'multiformats/cid'
import type { Logger, PeerId } from '@libp2p/interface'
import type { DID, Signer } from '../src/auth/types.js'
import type { IpvmNode } from '../src/net/node.js'
import type { Announcement, Bid, DeclineCode, Opened } from '../src/net/protocols/market.js'
import type { Award, RemoteExecuteOptions, RemoteExecutionResult, RemoteExecutor } from '../src/executor/remote.js'
import type { ExecutionResult, ExecutionTask } from '../src/executor/interface.js'
import type { Ledger } from './ledger.js'
import type { ReputationBook } from './reputation.js'

/** Options of {@link Market}. */
export interface MarketInit {
  node: IpvmNode
  /** The scheduler's signer: it signs announcements and award delegations. */
  signer: Signer & { did(): DID }
  /** Runs awarded tasks and verifies their receipts. */
  executor: RemoteExecutor
  ledger: Ledger
  reputation: ReputationBook
  /** How long bids are collected (ms). @default 500 */
  bidWindowMs?: number
  /** Most executors asked per round. @default 16 */
  maxBidders?: number
  /** Least stake an executor needs to be awarded a task (credits). @default 1000 */
  minStake?: number
  /**
   * Probability that a receipt is checked by a verifier. An award needs the
   * executor to have staked its collateral, `max(minStake, escrow × (1 − p) / p)`
   * (see `collateralFor`), so that cheating does not pay; 0 asks `minStake` only.
   * @default 0.05
   */
  sampleRate?: number
  /** Time after a receipt during which it may be challenged; its escrow settles after it (ms). 0 settles at once. @default 600000 */
  challengeWindowMs?: number
  /** How long a task waits for a bid before failing `NoExecutor` (ms). @default 600000 */
  awardTimeoutMs?: number
  /** First wait before announcing again (ms); doubles up to `maxRetryMs`. @default 250 */
  retryMs?: number
  /** @default 10000 */
  maxRetryMs?: number
  /** Most executors awarded one task before it fails. @default 3 */
  maxAttempts?: number
  /**
   * When announcements are published as DHT records (`task/<InID>` under the
   * scheduler's PeerId): `waiting` — for tasks no executor took in a round
   * (each re-announcement is published again); `always` — every round;
   * `never`. A DHT put per task costs more than the rest of the market round
   * (see benchmarks/market), so by default only tasks that wait pay it.
   * @default 'waiting'
   */
  announceInDht?: 'waiting' | 'always' | 'never' | boolean
  /** How often charged escrows are settled (ms). @default 1000 */
  settleEveryMs?: number
  onEvent?: (event: MarketEvent) => void
}

/** What happened in the market, for logs and benchmarks. */
export type MarketEvent =
  | { type: 'round', task: string, announcement: string, asked: number, bids: number, declines: number, refused: number, ms: number }
  | { type: 'awarded', task: string, executor: DID, price: number, escrow: number, msSinceReady: number }
  | { type: 'waiting', task: string, reason: string }
  | { type: 'settled', escrow: string, paid: number, refunded: number }
  | { type: 'refunded', escrow: string, reason: string }

/** Who pays for a task and within what. */
export interface MarketTerms {
  workflow: string
  index: number
  /** The account escrows are taken from: the budget's resource (the requester). */
  payer: DID
  /** Highest price announced (credits per million fuel). */
  maxPrice: number
  /** Most credits the workflow may commit in total. */
  budget?: number
  /** Verifiers the requester trusts: an attestation from one makes a result final. */
  trustedVerifiers?: DID[]
}

/** Options of {@link Market.run}. */
export interface MarketRunOptions extends RemoteExecuteOptions {
  terms: MarketTerms
  /** Executors (DIDs) never to award this task: those proven to have cheated on it. */
  exclude?: readonly string[]
  /** Called each time the task goes back to waiting, with why. */
  onWaiting?: (reason: string) => void
}

/** A market result: the remote result plus what it cost. */
export interface MarketResult extends RemoteExecutionResult {
  price: number
  /** Credits charged: fuel burnt at `price`, rounded up (at most the escrow). */
  cost: number
  escrow: string
  /** ms from the task being ready to the award, and rounds it took. */
  awardMs: number
  rounds: number
}

/** True for a result with market terms. */
export function isMarketResult (result: ExecutionResult): result is MarketResult {
  return 'escrow' in result && 'price' in result
}

/** A bid that passed every check, with its rank. */
export interface RankedBid {
  cid: CID
  bid: Bid
  peer: PeerId
  score: number
}

/** The outcome of one call for bids. */
export interface Round {
  /** Absent when the round could not be held (discovery failed). */
  announcement?: Opened<Announcement>
  asked: number
  bids: RankedBid[]
  declines: Array<{ peer: string, code: DeclineCode, reason: string }>
  /** Late, forged, mismatched or overpriced bids, and executors that did not answer. */
  refused: Array<{ peer: string, reason: string }>
}

/**
 * The award score of a bid, in 0..1 (higher wins):
 *
 *     0.40 × (1 − price / maxPrice)        cheaper is better (1 when maxPrice is 0)
 *   + 0.20 × reputation                    see reputationOf
 *   + 0.15 × (cached ? 1 : 0)              locality: it holds the module already
 *   + 0.25 × (1 − min(running, capacity) / capacity)   load: tasks it runs (as it says,
 *                                          or as this scheduler counts its own awards in
 *                                          flight there, whichever is more) over its threads
 *
 * Ties break on the bid's CID (lowest first), so every scheduler ranks the
 * same bids the same way. Load outweighs locality: an idle executor that must
 * fetch the module beats a busy one that holds it (the task would queue).
 * Bids are scored when the award is made, not when they arrive, so tasks
 * awarded at the same moment see each other's load.
 */
export function scoreBid (bid: Bid, maxPrice: number, reputation: number, inFlight = 0): number {
  const price = maxPrice === 0 ? 1 : 1 - Math.min(bid.price, maxPrice) / maxPrice
  const running = Math.max(bid.load.running, inFlight)
  const load = 1 - Math.min(running, bid.load.capacity) / bid.load.capacity
  return 0.4 * price + 0.2 * reputation + 0.15 * (bid.cached ? 1 : 0) + 0.25 * load
}

/** Ranks scored bids: best first, ties by CID. */
export function rankBids<T extends { cid: CID, score: number }> (bids: T[]): T[] {
  return [...bids].sort((a, b) => b.score - a.score || (a.cid.toString() < b.cid.toString() ? -1 : 1))
}

const failure = (task: ExecutionTask, name: string, message: string, details?: Record<string, unknown>): ExecutionResult =>
  ({ out: { error: new TaskError(name, `${task.func}: ${message}`, details).toValue() }, executed: false, durationMs: 0, fuel: null })

/**
 * @example
 * ```ts
 * const market = new Market({ node, signer, executor: remote, ledger, reputation })
 * await market.start()   // refunds escrows a previous run left open, settles on a timer
 * const result = await market.run(task, { terms: { workflow, index, payer, maxPrice: 10 }, proofs })
 * ```
 */
export class Market {
  private readonly init: MarketInit
  private readonly log: Logger
  private readonly bidWindowMs: number
  private readonly minStake: number
  private readonly challengeWindowMs: number
  private readonly sampleRate: number
  private timer: ReturnType<typeof setInterval> | undefined
  private settling: Promise<void> = Promise.resolve()
  /** Module CID → executors providing it, and when that was learnt. */
  private readonly providers = new Map<string, { peers: Set<string>, at: number }>()
  /** Tasks awarded by this scheduler and not yet ended, per executor. */
  private readonly inFlight = new Map<DID, number>()

  constructor (init: MarketInit) {
    this.init = init
    this.log = init.node.libp2p.logger.forComponent('ipvm:scheduler:market')
    this.bidWindowMs = init.bidWindowMs ?? DEFAULT_BID_WINDOW_MS
    this.minStake = init.minStake ?? DEFAULT_MIN_STAKE
    this.challengeWindowMs = init.challengeWindowMs ?? DEFAULT_CHALLENGE_WINDOW_MS
    this.sampleRate = checkSampleRate(init.sampleRate ?? DEFAULT_SAMPLE_RATE)
    for (const [name, value] of Object.entries({ bidWindowMs: this.bidWindowMs, minStake: this.minStake, challengeWindowMs: this.challengeWindowMs })) {
      if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`)
    }
  }

  get ledger (): Ledger { return this.init.ledger }
  get reputation (): ReputationBook { return this.init.reputation }

  /** Refunds escrows left `held` by a previous run (their tasks were interrupted and run again), then settles on a timer. */
  async start (): Promise<void> {
    if (this.timer !== undefined) return
    for (const escrow of this.init.ledger.heldEscrows()) {
      await this.init.ledger.refund(escrow.id, 'the scheduler restarted before the task ended')
      this.emit({ type: 'refunded', escrow: escrow.id, reason: 'restart' })
    }
    await this.settleDue()
    this.timer = setInterval(() => { this.settling = this.settling.then(async () => { await this.settleDue() }) }, this.init.settleEveryMs ?? 1_000)
    this.timer.unref?.()
  }

  async stop (): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    await this.settling
  }

  /** Resolves when the settlements queued so far (the timer's, and those of receipts final at once) are done. */
  async settled (): Promise<void> {
    await this.settling
  }

  /** Settles every charged escrow whose challenge window has ended. */
  async settleDue (now = Date.now()): Promise<number> {
    let settled = 0
    for (const escrow of this.init.ledger.settleDue(now)) {
      try {
        const done = await this.init.ledger.settle(escrow.id)
        settled++
        this.emit({ type: 'settled', escrow: escrow.id, paid: done.charge ?? 0, refunded: done.amount - (done.charge ?? 0) })
      } catch (err) {
        this.log.error('settling %s failed: %e', escrow.id, err)
      }
    }
    return settled
  }

  private emit (event: MarketEvent): void {
    try {
      this.init.onEvent?.(event)
    } catch {}
  }

  /** Executors to ask for `module`: those known to provide it first, at most `maxBidders`. */
  private async bidders (module: CID, signal: AbortSignal): Promise<PeerId[]> {
    const executors = await this.init.executor.candidates(signal)
    const key = module.toString()
    const known = this.providers.get(key)
    if (known === undefined || Date.now() - known.at > 60_000) {
      const entry = { peers: known?.peers ?? new Set<string>(), at: Date.now() }
      this.providers.set(key, entry)
      if (this.providers.size > 1_000) this.providers.delete(this.providers.keys().next().value as string)
      // In the background: a DHT query must not delay this round; the next rounds use what it found.
      void (async () => {
        for await (const event of this.init.node.dht.findProviders(module, { signal: AbortSignal.timeout(10_000) })) {
          if (event.name === 'PROVIDER') for (const provider of event.providers) entry.peers.add(provider.id.toString())
        }
      })().catch(() => {})
    }
    const providing = this.providers.get(key)?.peers ?? new Set<string>()
    const first = executors.filter(peer => providing.has(peer.toString()))
    const rest = executors.filter(peer => !providing.has(peer.toString()))
    return [...first, ...rest].slice(0, this.init.maxBidders ?? DEFAULT_MAX_BIDDERS)
  }

  /** One call for bids on `task`: announce, collect until the deadline or every answer, check and rank. */
  async round (task: ExecutionTask, maxPrice: number, signal: AbortSignal): Promise<Round> {
    const started = performance.now()
    const now = Date.now()
    const fuel = Number(task.meta.fuel ?? DEFAULT_TASK_FUEL)
    const deadline = now + this.bidWindowMs
    const announcement = await signAnnouncement({ scheduler: this.init.signer.did(), task: task.instructionCid, module: task.module, fuel, maxPrice, deadline, issued: now }, this.init.signer)
    if (this.publishes() === 'always') this.publish(announcement)
    const peers = await this.bidders(task.module, signal)
    const round: Round = { announcement, asked: peers.length, bids: [], declines: [], refused: [] }
    const window = AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, deadline - Date.now()))])
    // One listener per executor asked.
    setMaxListeners(Math.max(10, peers.length + 5), window)
    await Promise.all(peers.map(async peer => {
      const name = peer.toString()
      try {
        const answer = parseBidAnswer(await marketRequest(this.init.node.libp2p, peer, { bids: { announcement: announcement.bytes } }, { signal: window, timeoutMs: this.bidWindowMs + 1 }))
        if ('decline' in answer) {
          round.declines.push({ peer: name, ...answer.decline })
          return
        }
        if (Date.now() > deadline) throw new BidRefusal('BidTooLate', `the bid arrived ${Date.now() - deadline} ms after the deadline`)
        let opened: Opened<Bid>
        try {
          opened = openBid(answer.bid)
        } catch (err) {
          throw new BidRefusal('InvalidBid', (err as Error).message)
        }
        const bid = opened.payload
        if (bid.executor !== peerDid(peer)) throw new BidRefusal('InvalidBid', `the bid is signed by ${bid.executor}, not by the executor asked (${peerDid(peer)})`)
        if (!bid.announcement.equals(announcement.cid) || !bid.task.equals(task.instructionCid)) throw new BidRefusal('InvalidBid', 'the bid answers another announcement')
        if (bid.price > maxPrice) throw new BidRefusal('BidAboveMaxPrice', `the bid's price ${bid.price} is above the maximum ${maxPrice}`)
        this.init.reputation.bid(bid.executor, name, bid.price)
        round.bids.push({ cid: opened.cid, bid, peer, score: 0 })
      } catch (err) {
        const error = err as Error
        // The request's own timeout (the window + 1 ms) may fire before the window's timer: both mean no answer in time.
        const late = (window.aborted || Date.now() >= deadline || error.name === 'MessageTimeoutError') && !signal.aborted && !(err instanceof BidRefusal)
        const reason = late ? `BidTooLate: no answer before the deadline (${this.bidWindowMs} ms)` : `${error.name}: ${error.message}`
        round.refused.push({ peer: name, reason })
        this.log('bid from %p on %s refused: %s', peer, task.instructionCid, reason)
      }
    }))
    round.bids = this.rank(round.bids, maxPrice)
    this.emit({ type: 'round', task: task.instructionCid.toString(), announcement: announcement.cid.toString(), asked: round.asked, bids: round.bids.length, declines: round.declines.length, refused: round.refused.length, ms: performance.now() - started })
    return round
  }

  private publishes (): 'waiting' | 'always' | 'never' {
    const mode = this.init.announceInDht ?? 'waiting'
    return mode === true ? 'always' : mode === false ? 'never' : mode
  }

  /** Publishes `announcement` as the signed DHT record `task/<InID>`, in the background. */
  private publish (announcement: Opened<Announcement>): void {
    if (routingTableSize(this.init.node) === 0) return
    putSignedRecord(this.init.node, `task/${announcement.payload.task}`, announcement.bytes, { signal: AbortSignal.timeout(10_000) })
      .catch(err => { this.log('announcing %s in the DHT failed: %s', announcement.payload.task, (err as Error).message) })
  }

  /** Scores `bids` as things stand now (reputation, this scheduler's awards in flight) and ranks them. */
  rank (bids: RankedBid[], maxPrice: number): RankedBid[] {
    return rankBids(bids.map(entry => ({ ...entry, score: scoreBid(entry.bid, maxPrice, this.init.reputation.reputation(entry.bid.executor), this.inFlight.get(entry.bid.executor)) })))
  }

  private track (did: DID, change: 1 | -1): void {
    const next = (this.inFlight.get(did) ?? 0) + change
    if (next <= 0) this.inFlight.delete(did)
    else this.inFlight.set(did, next)
  }

  /** Why a round awarded nothing, in words a requester understands. */
  explain (round: Round, maxPrice: number, unstaked: number, neededStake = this.minStake): string {
    if (round.asked === 0) return 'no executor found'
    if (unstaked > 0 && unstaked === round.bids.length) return `no executor with a stake of at least ${neededStake} credits bid`
    const counts = new Map<DeclineCode, number>()
    for (const decline of round.declines) counts.set(decline.code, (counts.get(decline.code) ?? 0) + 1)
    const [code] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] ?? []
    if (code === 'price') return `no executor bid under price ${maxPrice}`
    if (code === 'capacity') return 'no executor has capacity'
    if (code === 'module') return `no executor runs module ${String(round.announcement?.payload.module)}`
    return `no valid bid before the deadline (${round.refused.length} refused: ${round.refused.slice(0, 3).map(r => r.reason).join('; ')})`
  }

  /**
   * Finds an executor for `task` by rounds of bids and runs it there, paying
   * from `options.terms.payer`. Returns the executor's verified receipt with
   * its cost, or an error result (`NoExecutor`, `InsufficientFunds`,
   * `BudgetExceeded`, `CaveatExceeded`, `Aborted`).
   */
  async run (task: ExecutionTask, options: MarketRunOptions): Promise<ExecutionResult> {
    const { terms } = options
    const signal = options.signal ?? new AbortController().signal
    const ready = performance.now()
    const proofs = options.proofs ?? []
    const failures: Array<{ peer: string, error: string }> = []
    const tried = new Set<string>()
    const maxAttempts = this.init.maxAttempts ?? 3
    const awardTimeoutMs = this.init.awardTimeoutMs ?? DEFAULT_AWARD_TIMEOUT_MS
    const fuel = task.meta.fuel ?? DEFAULT_TASK_FUEL
    const excluded = new Set(options.exclude ?? [])
    let backoff = this.init.retryMs ?? 250
    try {
      // Module, fuel, time and revocation now; the price is checked at the award (0 fits any maxPrice).
      await this.init.executor.checkGrant(task, proofs, { price: 0, spend: 0 })
    } catch (err) {
      const name = (err as Error).name === 'EscalatedCapability' ? 'CaveatExceeded' : (err as Error).name
      return failure(task, name, (err as Error).message)
    }
    for (let rounds = 1; ; rounds++) {
      if (signal.aborted) return failure(task, 'Aborted', 'aborted')
      let round: Round
      try {
        round = await this.round(task, terms.maxPrice, signal)
      } catch (err) {
        if (signal.aborted) return failure(task, 'Aborted', 'aborted')
        // Discovery failed (the DHT, the network): the task waits like one nobody bid on.
        this.log('round for %s failed: %s', task.instructionCid, (err as Error).message)
        round = { asked: 0, bids: [], declines: [], refused: [] }
      }
      let unstaked = 0
      let neededStake = this.minStake
      const skipped = new Set<string>()
      for (;;) {
        // Ranked again at each award: another task may have just been awarded to the best of them.
        const ranked = this.rank(round.bids, terms.maxPrice).find(entry => !tried.has(entry.peer.toString()) && !skipped.has(entry.peer.toString()) && !excluded.has(entry.bid.executor))
        if (ranked === undefined || tried.size >= maxAttempts) break
        const { bid, peer } = ranked
        const name = peer.toString()
        // Counted before the first await, so a round ranking at the same moment sees this award.
        this.track(bid.executor, 1)
        let spend: number
        try {
          spend = costOf(fuel, bid.price)
        } catch (err) {
          this.track(bid.executor, -1)
          return failure(task, 'BudgetExceeded', (err as Error).message)
        }
        const escrowId = `${terms.workflow}/${terms.index}/${ranked.cid.toString()}`
        try {
          await this.init.ledger.openEscrow({
            id: escrowId,
            payer: terms.payer,
            payee: bid.executor,
            amount: spend,
            workflow: terms.workflow,
            task: task.instructionCid.toString(),
            ...(terms.budget !== undefined ? { budget: terms.budget } : {}),
            minPayeeStake: collateralFor(spend, this.sampleRate, this.minStake)
          })
        } catch (err) {
          this.track(bid.executor, -1)
          if (err instanceof InsufficientStakeError) {
            unstaked++
            neededStake = Math.max(neededStake, collateralFor(spend, this.sampleRate, this.minStake))
            skipped.add(name)
            this.log('bid of %s skipped: %s', bid.executor, err.message)
            continue
          }
          const error = err as Error
          return failure(task, error.name, `cannot award at price ${bid.price}: ${error.message}`, { payer: terms.payer, price: bid.price, escrow: spend })
        }
        tried.add(name)
        this.init.reputation.awarded(bid.executor, name)
        const awardMs = performance.now() - ready
        this.emit({ type: 'awarded', task: task.instructionCid.toString(), executor: bid.executor, price: bid.price, escrow: spend, msSinceReady: awardMs })
        const award: Award = { price: bid.price, spend, bid: ranked.cid }
        let result: RemoteExecutionResult
        try {
          result = await this.init.executor.runAwarded(task, peer, award, { ...options, signal })
        } catch (err) {
          const error = err as Error
          try {
            await this.init.ledger.refund(escrowId, `${error.name}: ${error.message}`)
            this.emit({ type: 'refunded', escrow: escrowId, reason: error.name })
          } catch (refundError) {
            // Settled or refunded already (e.g. by a restart's cleanup): nothing is lost, the journal says which.
            this.log.error('refunding %s failed: %e', escrowId, refundError)
          }
          if (signal.aborted) return failure(task, 'Aborted', 'aborted')
          if (error.name === 'EscalatedCapability') return failure(task, 'CaveatExceeded', error.message)
          const silent = error.name === 'MessageTimeoutError' || error.name === 'UnexpectedEndOfStreamError' || /dial|connect/i.test(error.message)
          this.init.reputation.record(bid.executor, name, silent ? 'timedOut' : 'failed')
          this.log('executor %p failed task %s: %s', peer, task.instructionCid, error.message)
          failures.push({ peer: name, error: `${error.name}: ${error.message}` })
          continue
        } finally {
          this.track(bid.executor, -1)
        }
        // A verified receipt: the executor earns the fuel it burnt (nothing, if refused before running).
        const cost = Math.min(spend, costOf(result.fuel ?? 0, bid.price))
        this.init.reputation.record(bid.executor, name, 'completed')
        try {
          // Durable before the result is reported: a crash after it must not refund work done.
          await this.init.ledger.charge(escrowId, cost, Date.now() + this.challengeWindowMs)
          // Final at once: settled in the background, in the one queue the timer uses too.
          if (this.challengeWindowMs === 0) this.settling = this.settling.then(async () => { await this.settleDue() })
        } catch (err) {
          this.log.error('charging %s failed: %e', escrowId, err)
        }
        const won: MarketResult = { ...result, failures, price: bid.price, cost, escrow: escrowId, awardMs, rounds }
        return won
      }
      if (failures.length > 0) {
        // Every executor that bid was tried and failed (or the attempts are used up): waiting would ask them again.
        const detail = failures.map(f => `${f.peer}: ${f.error}`).join('; ')
        return failure(task, 'NoExecutor', `no executor delivered a valid receipt (${detail})`, { failures: failures.map(f => `${f.peer}: ${f.error}`) })
      }
      const reason = this.explain(round, terms.maxPrice, unstaked, neededStake)
      // Executors that were not asked (beyond maxBidders, not yet found) can read what waits.
      if (round.announcement !== undefined && this.publishes() === 'waiting') this.publish(round.announcement)
      if (performance.now() - ready + backoff > awardTimeoutMs) return failure(task, 'NoExecutor', `${reason} within ${awardTimeoutMs} ms`)
      this.emit({ type: 'waiting', task: task.instructionCid.toString(), reason })
      options.onWaiting?.(reason)
      await new Promise<void>(resolve => {
        const timer = setTimeout(done, backoff)
        function done (): void { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
        signal.addEventListener('abort', done, { once: true })
      })
      backoff = Math.min(backoff * 2, this.init.maxRetryMs ?? 10_000)
    }
  }
}

/** A bid refused while collecting (named for the log). */
class BidRefusal extends Error {
  constructor (name: string, message: string) {
    super(message)
    this.name = name
  }
}
