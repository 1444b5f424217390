/**
 * An executor's bid policy: whether it bids on an announced task, at what
 * price, and whether it takes an award.
 *
 * - It asks `price` credits per million fuel. A scheduler that offers less
 *   (`maxPrice`) still gets a bid at `maxPrice` when that is at least
 *   `minPrice`; below `minPrice` it declines (`price`).
 * - It declines modules it refuses (`module`), announcements past their
 *   deadline (`deadline`), and tasks when it already runs `concurrency` of
 *   them (`capacity`).
 * - Every bid it makes is remembered until `bidTtlMs` after the
 *   announcement's deadline; an award citing a bid must cite one of its own,
 *   for the same task, at no less than the bid's price. An award without a
 *   bid (a scheduler that assigns directly) must pay at least `minPrice`.
 */
import { CID } from 'multiformats/cid'
import { IpvmError } from '../errors.js'
import { isAmount } from '../model/price.js'
import { signBid } from '../net/protocols/market-messages.js'
import { DEFAULT_BID_PRICE } from '../constants.js'
import type { Announcement, Bid, BidAnswer, Opened } from '../net/protocols/market-messages.js'
import type { Signer, DID } from '../auth/types.js'

/** An award this executor does not take: no such bid, another task, a price below its bid or its minimum. */
export class AwardRefusedError extends IpvmError {
  override name = 'AwardRefused'
}

/** What an executor's operator configures. */
export interface BidPolicyInit {
  /** Asking price, credits per million fuel. @default 1 */
  price?: number
  /** Lowest price it accepts. @default `price` */
  minPrice?: number
  /** Most tasks run or queued at once; beyond it, it declines. @default 32 */
  concurrency?: number
  /** Tasks it runs at the same instant (its worker threads): beyond them a task queues. @default 1 */
  slots?: number
  /** Modules it never runs. */
  refuseModules?: CID[]
  /** How long a bid stays valid after the announcement's deadline (ms). @default 60000 */
  bidTtlMs?: number
  /** Most bids remembered. @default 10000 */
  maxRememberedBids?: number
}

/** What the policy needs to know about the node right now. */
export interface BidContext {
  running: number
  /** Whether the module is already in the local store. */
  cached: boolean
  now?: number
}

/**
 * @example
 * ```ts
 * const policy = new BidPolicy(identity.signer, { price: 2, minPrice: 1, refuseModules: [bad] })
 * const answer = await policy.answer(announcement, { running: service.active, cached: await repo.blocks.has(module) })
 * ```
 */
export class BidPolicy {
  readonly price: number
  readonly minPrice: number
  readonly concurrency: number
  readonly slots: number
  private readonly refused: Set<string>
  private readonly bidTtlMs: number
  private readonly maxRemembered: number
  private readonly signer: Signer & { did(): DID }

  /** The executor's DID (the signer of its bids). */
  get did (): DID { return this.signer.did() }
  /** Bids made, by CID: what an award may cite. */
  private readonly bids = new Map<string, { bid: Bid, expires: number }>()
  /** Average task time seen (ms), for `expectedStart`. */
  private averageMs = 50

  constructor (signer: Signer & { did(): DID }, init: BidPolicyInit = {}) {
    this.signer = signer
    this.price = init.price ?? DEFAULT_BID_PRICE
    this.minPrice = init.minPrice ?? this.price
    this.concurrency = init.concurrency ?? 32
    this.slots = init.slots ?? 1
    this.bidTtlMs = init.bidTtlMs ?? 60_000
    this.maxRemembered = init.maxRememberedBids ?? 10_000
    for (const [name, value] of Object.entries({ price: this.price, minPrice: this.minPrice })) {
      if (!isAmount(value)) throw new RangeError(`${name} must be a non-negative integer (credits per million fuel), got ${value}`)
    }
    if (this.minPrice > this.price) throw new RangeError(`minPrice (${this.minPrice}) is above price (${this.price})`)
    for (const [name, value] of Object.entries({ concurrency: this.concurrency, slots: this.slots })) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`)
    }
    this.refused = new Set((init.refuseModules ?? []).map(cid => cid.toV1().toString()))
  }

  /** Whether this policy refuses `module`. */
  refuses (module: CID): boolean {
    return this.refused.has(module.toV1().toString())
  }

  /** Records how long a task took, for the next bids' `expectedStart`. */
  observe (durationMs: number): void {
    if (Number.isFinite(durationMs) && durationMs >= 0) this.averageMs = this.averageMs * 0.9 + durationMs * 0.1
  }

  /** A signed bid on `announcement`, or a decline with its reason. */
  async answer (announcement: Opened<Announcement>, context: BidContext): Promise<BidAnswer> {
    const now = context.now ?? Date.now()
    const a = announcement.payload
    if (a.deadline <= now) return { decline: { code: 'deadline', reason: `the announcement's deadline passed ${now - a.deadline} ms ago` } }
    if (this.refuses(a.module)) return { decline: { code: 'module', reason: `this executor does not run module ${a.module}` } }
    if (a.maxPrice < this.minPrice) return { decline: { code: 'price', reason: `max price ${a.maxPrice} is below this executor's minimum ${this.minPrice} per million fuel` } }
    if (context.running >= this.concurrency) return { decline: { code: 'capacity', reason: `running ${context.running} tasks, the most this executor takes` } }
    const price = Math.min(this.price, a.maxPrice)
    const queued = Math.max(0, context.running - this.slots + 1)
    const bid: Bid = {
      executor: this.signer.did(),
      announcement: announcement.cid,
      task: a.task,
      price,
      expectedStart: now + Math.round(queued * this.averageMs),
      load: { running: context.running, capacity: this.slots },
      cached: context.cached,
      issued: now
    }
    const signed = await signBid(bid, this.signer)
    this.remember(signed.cid, bid, a.deadline + this.bidTtlMs, now)
    return { bid: signed.bytes }
  }

  private remember (cid: CID, bid: Bid, expires: number, now: number): void {
    if (this.bids.size >= this.maxRemembered) {
      for (const [key, entry] of this.bids) if (entry.expires <= now) this.bids.delete(key)
      // Still full: the oldest go first (a Map iterates in insertion order).
      for (const key of this.bids.keys()) {
        if (this.bids.size < this.maxRemembered) break
        this.bids.delete(key)
      }
    }
    this.bids.set(cid.toString(), { bid, expires })
  }

  /**
   * Checks an award before anything runs: `bid` (when given) must be one of
   * this executor's live bids for `task`, and `price` at least that bid's, or
   * at least `minPrice` without a bid. Throws {@link AwardRefusedError}.
   */
  checkAward (award: { task: CID, module: CID, price?: number, bid?: CID }, now = Date.now()): void {
    const price = award.price ?? 0
    if (this.refuses(award.module)) throw new AwardRefusedError(`this executor does not run module ${award.module}`)
    if (award.bid === undefined) {
      if (price < this.minPrice) throw new AwardRefusedError(`price ${price} is below this executor's minimum ${this.minPrice} per million fuel`)
      return
    }
    const entry = this.bids.get(award.bid.toString())
    if (entry === undefined || entry.expires <= now) throw new AwardRefusedError(`bid ${award.bid} is not a live bid of this executor`)
    if (!entry.bid.task.equals(award.task)) throw new AwardRefusedError(`bid ${award.bid} is for task ${entry.bid.task}, not ${award.task}`)
    if (price < entry.bid.price) throw new AwardRefusedError(`price ${price} is below the bid's ${entry.bid.price}`)
  }
}
