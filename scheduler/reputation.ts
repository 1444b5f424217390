/**
 * What a scheduler knows of each executor: how its awards ended, the last
 * price it bid, when it was last heard from. Kept in `market.lmdb` under the
 * scheduler's directory, so a restart remembers who cheated or went silent.
 *
 * Reputation (0..1) is a smoothed success rate in which failures weigh more
 * than successes, and fraud most:
 *
 *     (completed + 1) / (completed + failed + 2·timedOut + 10·fraudulent + 2)
 *
 * A newcomer starts at 0.5; ten clean tasks give 0.92; one proven fraud among
 * them drops it to 0.52.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { open } from 'lmdb'
import { StoreError } from '../src/errors.js'
import type { Database, RootDatabase } from 'lmdb'
import type { DID } from '../src/auth/types.js'

/** Name of the market's LMDB file under the scheduler's directory. */
export const MARKET_DB_FILE = 'market.lmdb'

/** How an award ended, from the executor's side. */
export type AwardOutcome = 'completed' | 'failed' | 'timedOut' | 'fraudulent'

/** One executor's record. */
export interface ExecutorRecord {
  did: DID
  /** Its PeerId, as last seen. */
  peer: string
  completed: number
  failed: number
  timedOut: number
  fraudulent: number
  /** Bids it made, and awards it won. */
  bids: number
  awards: number
  lastPrice?: number
  lastSeen: number
}

/** The reputation of `record` (0..1); 0.5 for an executor never awarded. */
export function reputationOf (record: Pick<ExecutorRecord, 'completed' | 'failed' | 'timedOut' | 'fraudulent'> | undefined): number {
  if (record === undefined) return 0.5
  return (record.completed + 1) / (record.completed + record.failed + 2 * record.timedOut + 10 * record.fraudulent + 2)
}

/**
 * @example
 * ```ts
 * const book = ReputationBook.open(dir)
 * book.record(did, peer, 'completed')
 * book.reputation(did) // 0.67
 * ```
 */
export class ReputationBook {
  private readonly cache = new Map<DID, ExecutorRecord>()

  private constructor (private readonly env: RootDatabase, private readonly db: Database<ExecutorRecord, string>) {
    for (const { value } of db.getRange()) this.cache.set(value.did, value)
  }

  /** Opens (creating) `dir/market.lmdb`. Throws `StoreError` when it cannot. */
  static open (dir: string): ReputationBook {
    let env: RootDatabase
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      env = open({ path: join(dir, MARKET_DB_FILE), maxDbs: 2, compression: false })
    } catch (err) {
      throw new StoreError(`cannot open the market state in ${dir}: ${(err as Error).message}`)
    }
    return new ReputationBook(env, env.openDB({ name: 'executors' }))
  }

  private entry (did: DID, peer: string): ExecutorRecord {
    let record = this.cache.get(did)
    if (record === undefined) {
      record = { did, peer, completed: 0, failed: 0, timedOut: 0, fraudulent: 0, bids: 0, awards: 0, lastSeen: 0 }
      this.cache.set(did, record)
    }
    record.peer = peer
    record.lastSeen = Date.now()
    return record
  }

  private save (record: ExecutorRecord): void {
    // Not awaited: reputation informs awards; a crash loses at most the last few counts.
    void this.db.put(record.did, { ...record })
  }

  /** A bid was received from `did`. */
  bid (did: DID, peer: string, price: number): void {
    const record = this.entry(did, peer)
    record.bids++
    record.lastPrice = price
    this.save(record)
  }

  /** `did` won an award. */
  awarded (did: DID, peer: string): void {
    const record = this.entry(did, peer)
    record.awards++
    this.save(record)
  }

  /** How an award to `did` ended. */
  record (did: DID, peer: string, outcome: AwardOutcome): void {
    const record = this.entry(did, peer)
    record[outcome]++
    this.save(record)
  }

  reputation (did: DID): number {
    return reputationOf(this.cache.get(did))
  }

  get (did: DID): ExecutorRecord | undefined {
    const record = this.cache.get(did)
    return record === undefined ? undefined : { ...record }
  }

  /** Every executor known, best reputation first (ties by DID). */
  list (): ExecutorRecord[] {
    return [...this.cache.values()].map(record => ({ ...record }))
      .sort((a, b) => reputationOf(b) - reputationOf(a) || (a.did < b.did ? -1 : a.did > b.did ? 1 : 0))
  }

  async close (): Promise<void> {
    await this.env.close()
  }
}
