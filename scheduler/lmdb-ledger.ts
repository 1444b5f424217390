/**
 * The {@link Ledger} as an append-only journal in an LMDB environment of its
 * own (`ledger.lmdb` under the scheduler's directory), next to the balances it
 * implies.
 *
 * One function, {@link _apply}, turns a journal entry into balance changes: a
 * mutating call validates, appends its entry and applies it in one write
 * transaction, and `audit()` applies the whole journal again to empty
 * in-memory balances and compares. So the stored balances are, by
 * construction, a cache of the journal that `audit()` can check, and anything
 * that writes to the store behind the ledger's back is caught.
 *
 * Layout (see {@link LEDGER_DBS}): `journal` (seq → entry, from 1 without
 * gaps), `accounts` (DID → balances), `escrows` (id → escrow, kept after
 * settlement so an id is never reused), `committed` (workflow → credits),
 * two indexes of open escrows (`held`: id; `due`: [finalAt, id] of charged
 * ones) so a scheduler polling `settleDue` does not scan every escrow ever
 * opened, and `meta` (last seq, credits deposited).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { open } from 'lmdb'
import { StoreError } from '../src/errors.js'
import {
  AlreadySettledError,
  BudgetExceededError,
  InsufficientFundsError,
  InsufficientStakeError,
  InvalidAmountError,
  LedgerInvariantError,
  NotAwardedError,
  NotChargedError,
  UnknownEscrowError
} from './ledger.js'
import type { Database, RootDatabase } from 'lmdb'
import type { DID } from '../src/auth/types.js'
import type { Account, AuditReport, Escrow, JournalEntry, Ledger, OpenEscrow } from './ledger.js'

/** Name of the ledger's LMDB file under its directory. */
export const LEDGER_DB_FILE = 'ledger.lmdb'

/** Names of the databases inside `ledger.lmdb` (for tools that inspect it). */
export const LEDGER_DBS = {
  journal: 'journal',
  accounts: 'accounts',
  escrows: 'escrows',
  committed: 'committed',
  held: 'held',
  due: 'due',
  meta: 'meta'
} as const

/** Options of {@link LmdbLedger.open}. */
export interface LmdbLedgerInit {
  /**
   * The clock stamped on journal entries (`at`, ms since the epoch).
   *
   * @default Date.now
   */
  now?: () => number
}

/** One account's balances as stored (the DID is the key). */
type _Balances = Omit<Account, 'did'>

/** The running totals: the last journal seq and every credit deposited. */
interface _Meta { seq: number, deposited: number }

/** A journal entry before the transaction gives it its `seq` and `at`. */
type _Draft = JournalEntry extends infer E ? E extends JournalEntry ? Omit<E, 'seq' | 'at'> : never : never

const META_KEY = 'totals'
const ZERO: Readonly<_Balances> = Object.freeze({ available: 0, staked: 0, escrowed: 0 })

interface _Dbs {
  journal: Database<JournalEntry, number>
  accounts: Database<_Balances, DID>
  escrows: Database<Escrow, string>
  committed: Database<number, string>
  held: Database<number, string>
  due: Database<null, [number, string]>
  meta: Database<_Meta, string>
}

/**
 * @example
 * ```ts
 * const ledger = LmdbLedger.open(dir)
 * await ledger.deposit(requester, 1_000)
 * await ledger.deposit(executor, 500, { stake: true })
 * await ledger.openEscrow({ id: 'wf/0/1', payer: requester, payee: executor, amount: costOf(fuelLimit, price), workflow: 'wf', minPayeeStake: 100 })
 * await ledger.charge('wf/0/1', costOf(fuelUsed, price), Date.now() + challengeWindowMs)
 * for (const escrow of ledger.settleDue(Date.now())) await ledger.settle(escrow.id)
 * ledger.audit() // throws LedgerInvariantViolated when the store disagrees with its journal
 * await ledger.close()
 * ```
 */
export class LmdbLedger implements Ledger {
  private closed = false
  /** The balances as seen inside the current write transaction. */
  private readonly stored: _State

  private constructor (
    private readonly env: RootDatabase,
    private readonly dbs: _Dbs,
    private readonly now: () => number
  ) {
    this.stored = new _StoredState(dbs)
  }

  /** Opens (creating) `dir/ledger.lmdb`. Throws `StoreError` when it cannot. */
  static open (dir: string, options: LmdbLedgerInit = {}): LmdbLedger {
    let env: RootDatabase
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      env = open({ path: join(dir, LEDGER_DB_FILE), maxDbs: 8, compression: false })
    } catch (err) {
      throw new StoreError(`cannot open the ledger in ${dir}: ${(err as Error).message}`)
    }
    const dbs: _Dbs = {
      journal: env.openDB({ name: LEDGER_DBS.journal }),
      accounts: env.openDB({ name: LEDGER_DBS.accounts }),
      escrows: env.openDB({ name: LEDGER_DBS.escrows }),
      committed: env.openDB({ name: LEDGER_DBS.committed }),
      held: env.openDB({ name: LEDGER_DBS.held }),
      due: env.openDB({ name: LEDGER_DBS.due }),
      meta: env.openDB({ name: LEDGER_DBS.meta })
    }
    return new LmdbLedger(env, dbs, options.now ?? Date.now)
  }

  async deposit (to: DID, amount: number, options: { stake?: boolean, memo?: string } = {}): Promise<JournalEntry> {
    const { entry } = await this._append(meta => {
      _amount(amount, 'deposit', true)
      if (meta.deposited + amount > Number.MAX_SAFE_INTEGER) {
        throw new InvalidAmountError(`cannot deposit ${amount} credits: the ledger would hold more than ${Number.MAX_SAFE_INTEGER}`)
      }
      return { kind: 'deposit', to, amount, stake: options.stake === true, ...(options.memo !== undefined ? { memo: options.memo } : {}) }
    })
    return entry
  }

  async stake (did: DID, amount: number): Promise<JournalEntry> {
    return (await this._append(() => ({ kind: 'stake', did, amount }))).entry
  }

  async unstake (did: DID, amount: number): Promise<JournalEntry> {
    return (await this._append(() => ({ kind: 'unstake', did, amount }))).entry
  }

  async openEscrow (init: OpenEscrow): Promise<Escrow> {
    const { id, payer, payee, amount, workflow, task, budget, minPayeeStake } = init
    const { escrow } = await this._append(() => {
      _amount(amount, `escrow ${id}`, false)
      if (budget !== undefined) _amount(budget, `the budget of escrow ${id}`, false)
      if (minPayeeStake !== undefined) _amount(minPayeeStake, `the minimum payee stake of escrow ${id}`, false)
      if (this.stored.escrow(id) !== undefined) throw new AlreadySettledError(`escrow ${id} exists already`)
      if (minPayeeStake !== undefined) {
        const staked = this.stored.balances(payee).staked
        if (staked < minPayeeStake) throw new InsufficientStakeError(`cannot open escrow ${id}: its payee ${payee} has ${staked} credits staked, ${minPayeeStake} required`)
      }
      if (budget !== undefined) {
        const committed = workflow === undefined ? 0 : this.stored.committed(workflow)
        if (committed + amount > budget) {
          throw new BudgetExceededError(`cannot open escrow ${id}: ${committed} + ${amount} credits committed${workflow === undefined ? '' : ` for workflow ${workflow}`} would exceed its budget of ${budget}`)
        }
      }
      return { kind: 'escrow', escrow: id, payer, payee, amount, ...(workflow !== undefined ? { workflow } : {}), ...(task !== undefined ? { task } : {}) }
    })
    return escrow as Escrow
  }

  async charge (id: string, amount: number, finalAt: number): Promise<Escrow> {
    return (await this._append(() => ({ kind: 'charge', escrow: id, amount, finalAt }))).escrow as Escrow
  }

  async settle (id: string, payee?: DID): Promise<Escrow> {
    const { escrow } = await this._append(() => {
      const current = _existing(this.stored, id, 'settle')
      if (payee !== undefined && payee !== current.payee) throw new NotAwardedError(`cannot settle escrow ${id}: it was awarded to ${current.payee}, not ${payee}`)
      const charge = current.charge ?? 0
      return { kind: 'settle', escrow: id, paid: charge, refunded: current.amount - charge }
    })
    return escrow as Escrow
  }

  async refund (id: string, reason?: string): Promise<Escrow> {
    const { escrow } = await this._append(() => {
      const current = _existing(this.stored, id, 'refund')
      return { kind: 'refund', escrow: id, amount: current.amount, ...(reason !== undefined ? { reason } : {}) }
    })
    return escrow as Escrow
  }

  async slash (did: DID, amount: number, shares: Array<{ to: DID, amount: number }>, reason: string): Promise<JournalEntry> {
    const copy = shares.map(share => ({ to: share.to, amount: share.amount }))
    return (await this._append(() => ({ kind: 'slash', did, amount, shares: copy, reason }))).entry
  }

  account (did: DID): Account {
    return { did, ..._balances(this.dbs.accounts.get(did)) }
  }

  /** Sorted by DID in byte order (LMDB's key order), which is JavaScript's order for `did:key` strings. */
  accounts (): Account[] {
    const out: Account[] = []
    for (const { key, value } of this.dbs.accounts.getRange()) out.push({ did: key, ..._balances(value) })
    return out
  }

  escrow (id: string): Escrow | undefined {
    return this.dbs.escrows.get(id)
  }

  heldEscrows (): Escrow[] {
    const out: Escrow[] = []
    for (const id of this.dbs.held.getKeys()) {
      const escrow = this.dbs.escrows.get(id)
      if (escrow !== undefined) out.push(escrow)
    }
    return out
  }

  /** In `finalAt` order. */
  settleDue (now: number): Escrow[] {
    const out: Escrow[] = []
    for (const [finalAt, id] of this.dbs.due.getKeys()) {
      if (finalAt > now) break
      const escrow = this.dbs.escrows.get(id)
      if (escrow !== undefined) out.push(escrow)
    }
    return out
  }

  committed (workflow: string): number {
    return this.dbs.committed.get(workflow) ?? 0
  }

  journal (options: { from?: number, limit?: number } = {}): JournalEntry[] {
    const out: JournalEntry[] = []
    const range = options.limit === undefined ? { start: options.from ?? 1 } : { start: options.from ?? 1, limit: options.limit }
    for (const { value } of this.dbs.journal.getRange(range)) out.push(value)
    return out
  }

  /**
   * Replays the journal into empty balances and compares them with the
   * stored ones, then checks conservation. Synchronous, so every read sees
   * the same committed snapshot even while writes are in flight.
   */
  audit (): AuditReport {
    const replayed = new _MemoryState()
    let entries = 0
    let deposited = 0
    for (const { key, value } of this.dbs.journal.getRange()) {
      if (key !== entries + 1) _violated(`the journal skips from entry ${entries} to ${key}`)
      if (value.seq !== key) _violated(`journal entry ${key} says it is entry ${value.seq}`)
      try {
        _apply(replayed, value)
      } catch (err) {
        _violated(`journal entry ${key} (${value.kind}) does not apply: ${(err as Error).name}: ${(err as Error).message}`)
      }
      if (value.kind === 'deposit') deposited += value.amount
      entries = key
    }

    const meta = this.dbs.meta.get(META_KEY) ?? { seq: 0, deposited: 0 }
    if (meta.seq !== entries) _violated(`the ledger counts ${meta.seq} journal entries, the journal has ${entries}`)
    if (meta.deposited !== deposited) _violated(`the ledger counts ${meta.deposited} credits deposited, the journal ${deposited}`)

    _compare('account', this.dbs.accounts.getRange(), replayed.accounts)
    _compare('escrow', this.dbs.escrows.getRange(), replayed.escrows)
    _compare('committed total of workflow', this.dbs.committed.getRange(), replayed.committedTotals)

    let available = 0
    let staked = 0
    let escrowed = 0
    for (const balances of replayed.accounts.values()) {
      available += balances.available
      staked += balances.staked
      escrowed += balances.escrowed
    }
    let held = 0
    const heldIds = new Set<string>()
    const dueKeys = new Set<string>()
    for (const escrow of replayed.escrows.values()) {
      if (escrow.state === 'held' || escrow.state === 'charged') held += escrow.amount
      if (escrow.state === 'held') heldIds.add(escrow.id)
      if (escrow.state === 'charged') dueKeys.add(JSON.stringify([escrow.finalAt, escrow.id]))
    }
    for (const id of this.dbs.held.getKeys()) {
      if (!heldIds.delete(id)) _violated(`the held index lists escrow ${id}, which is not held`)
    }
    for (const id of heldIds) _violated(`the held index misses escrow ${id}`)
    for (const key of this.dbs.due.getKeys()) {
      if (!dueKeys.delete(JSON.stringify(key))) _violated(`the due index lists escrow ${key[1]} at ${key[0]}, which is not charged with that finalAt`)
    }
    for (const key of dueKeys) _violated(`the due index misses ${key}`)

    if (escrowed !== held) _violated(`payers have ${escrowed} credits escrowed, escrows hold ${held}`)
    if (available + staked + held !== deposited) {
      _violated(`${available} available + ${staked} staked + ${held} held = ${available + staked + held} credits, but ${deposited} were deposited`)
    }
    return { entries, deposited, available, staked, held }
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.env.close()
  }

  /**
   * One write transaction: `draft` validates what the journal entry cannot
   * carry (budgets, the claimed payee) and builds it, the entry gets the next
   * seq, {@link _apply} validates and applies it, and the entry and totals are
   * written. lmdb-js runs the callbacks of calls made in the same event turn
   * one after the other in one commit, so reading the seq here (and not
   * before) is what keeps seqs gapless under concurrent calls. Every check
   * comes before the first write: a callback that throws is dropped from the
   * batch, but writes it already made would not be. Resolves once the entry
   * is on disk.
   */
  private async _append (draft: (meta: _Meta) => _Draft): Promise<{ entry: JournalEntry, escrow: Escrow | undefined }> {
    if (this.closed) throw new StoreError('the ledger is closed')
    const result = await this.env.transaction(() => {
      const meta = this.dbs.meta.get(META_KEY) ?? { seq: 0, deposited: 0 }
      const entry = { seq: meta.seq + 1, at: this.now(), ...draft(meta) } as JournalEntry
      const escrow = _apply(this.stored, entry)
      void this.dbs.journal.put(entry.seq, entry)
      void this.dbs.meta.put(META_KEY, { seq: entry.seq, deposited: meta.deposited + (entry.kind === 'deposit' ? entry.amount : 0) })
      return { entry, escrow }
    })
    // With lmdb-js's overlappingSync (its default off Windows) a transaction
    // resolves once committed and visible, before it is on disk. A ledger
    // answers only for entries that survive a power cut: the scheduler awards
    // a task on the strength of an escrow. Calls committed together share the
    // one flush, so this costs latency, not throughput.
    await this.env.flushed
    return result
  }
}

/** What applying a journal entry reads and writes. */
interface _State {
  balances: (did: DID) => _Balances
  setBalances: (did: DID, balances: _Balances) => void
  escrow: (id: string) => Escrow | undefined
  setEscrow: (next: Escrow, previous: Escrow | undefined) => void
  committed: (workflow: string) => number
  setCommitted: (workflow: string, credits: number) => void
}

/** The LMDB databases, inside a write transaction (puts are synchronous there). */
class _StoredState implements _State {
  constructor (private readonly dbs: _Dbs) {}

  balances (did: DID): _Balances { return _balances(this.dbs.accounts.get(did)) }
  setBalances (did: DID, balances: _Balances): void { void this.dbs.accounts.put(did, balances) }
  escrow (id: string): Escrow | undefined { return this.dbs.escrows.get(id) }
  committed (workflow: string): number { return this.dbs.committed.get(workflow) ?? 0 }
  setCommitted (workflow: string, credits: number): void { void this.dbs.committed.put(workflow, credits) }

  setEscrow (next: Escrow, previous: Escrow | undefined): void {
    void this.dbs.escrows.put(next.id, next)
    if (previous?.state === 'held') void this.dbs.held.remove(previous.id)
    if (previous?.state === 'charged') void this.dbs.due.remove([previous.finalAt ?? 0, previous.id])
    if (next.state === 'held') void this.dbs.held.put(next.id, next.openedAt)
    if (next.state === 'charged') void this.dbs.due.put([next.finalAt ?? 0, next.id], null)
  }
}

/** Empty balances that `audit()` replays the journal into. */
class _MemoryState implements _State {
  readonly accounts = new Map<DID, _Balances>()
  readonly escrows = new Map<string, Escrow>()
  readonly committedTotals = new Map<string, number>()

  balances (did: DID): _Balances { return this.accounts.get(did) ?? ZERO }
  setBalances (did: DID, balances: _Balances): void { this.accounts.set(did, balances) }
  escrow (id: string): Escrow | undefined { return this.escrows.get(id) }
  setEscrow (next: Escrow): void { this.escrows.set(next.id, next) }
  committed (workflow: string): number { return this.committedTotals.get(workflow) ?? 0 }
  setCommitted (workflow: string, credits: number): void { this.committedTotals.set(workflow, credits) }
}

/**
 * Applies one journal entry to `state`, or throws a named `LedgerError` and
 * writes nothing. Returns the escrow it opened or changed.
 */
function _apply (state: _State, entry: JournalEntry): Escrow | undefined {
  switch (entry.kind) {
    case 'deposit': {
      const amount = _amount(entry.amount, 'deposit', true)
      new _Moves(state, `deposit ${amount} credits`).add(entry.to, entry.stake ? 'staked' : 'available', amount).write()
      return undefined
    }
    case 'stake':
    case 'unstake': {
      const amount = _amount(entry.amount, entry.kind, true)
      const [from, to] = entry.kind === 'stake' ? ['available', 'staked'] as const : ['staked', 'available'] as const
      new _Moves(state, `${entry.kind} ${amount} credits`).add(entry.did, from, -amount).add(entry.did, to, amount).write()
      return undefined
    }
    case 'escrow': {
      const amount = _amount(entry.amount, `escrow ${entry.escrow}`, false)
      if (state.escrow(entry.escrow) !== undefined) throw new AlreadySettledError(`escrow ${entry.escrow} exists already`)
      new _Moves(state, `open escrow ${entry.escrow} of ${amount} credits`).add(entry.payer, 'available', -amount).add(entry.payer, 'escrowed', amount).write()
      const escrow: Escrow = {
        id: entry.escrow,
        payer: entry.payer,
        payee: entry.payee,
        amount,
        ...(entry.workflow !== undefined ? { workflow: entry.workflow } : {}),
        ...(entry.task !== undefined ? { task: entry.task } : {}),
        state: 'held',
        openedAt: entry.seq,
        changedAt: entry.seq
      }
      state.setEscrow(escrow, undefined)
      if (escrow.workflow !== undefined) state.setCommitted(escrow.workflow, state.committed(escrow.workflow) + amount)
      return escrow
    }
    case 'charge': {
      const escrow = _existing(state, entry.escrow, 'charge')
      const amount = _amount(entry.amount, `the charge of escrow ${entry.escrow}`, false)
      if (escrow.state !== 'held') throw new AlreadySettledError(`cannot charge escrow ${escrow.id}: it is ${escrow.state} already`)
      if (amount > escrow.amount) throw new InvalidAmountError(`cannot charge ${amount} credits to escrow ${escrow.id}: it holds ${escrow.amount}`)
      if (!Number.isSafeInteger(entry.finalAt) || entry.finalAt < 0) throw new RangeError(`cannot charge escrow ${escrow.id}: finalAt ${entry.finalAt} is not a time in ms since the epoch`)
      const next: Escrow = { ...escrow, state: 'charged', charge: amount, finalAt: entry.finalAt, changedAt: entry.seq }
      state.setEscrow(next, escrow)
      return next
    }
    case 'settle': {
      const escrow = _existing(state, entry.escrow, 'settle')
      _open(escrow, 'settle')
      if (escrow.state === 'held') throw new NotChargedError(`cannot settle escrow ${escrow.id}: it has not been charged`)
      const charge = escrow.charge ?? 0
      if (entry.paid !== charge || entry.refunded !== escrow.amount - charge) {
        throw new LedgerInvariantError(`settling escrow ${escrow.id} pays ${entry.paid} and refunds ${entry.refunded}, but it holds ${escrow.amount} charged ${charge}`)
      }
      new _Moves(state, `settle escrow ${escrow.id}`)
        .add(escrow.payer, 'escrowed', -escrow.amount)
        .add(escrow.payer, 'available', escrow.amount - charge)
        .add(escrow.payee, 'available', charge)
        .write()
      return _close(state, escrow, 'settled', escrow.amount - charge, entry.seq)
    }
    case 'refund': {
      const escrow = _existing(state, entry.escrow, 'refund')
      _open(escrow, 'refund')
      if (entry.amount !== escrow.amount) throw new LedgerInvariantError(`refunding escrow ${escrow.id} returns ${entry.amount}, but it holds ${escrow.amount}`)
      new _Moves(state, `refund escrow ${escrow.id}`).add(escrow.payer, 'escrowed', -escrow.amount).add(escrow.payer, 'available', escrow.amount).write()
      return _close(state, escrow, 'refunded', escrow.amount, entry.seq)
    }
    case 'slash': {
      const amount = _amount(entry.amount, 'slash', true)
      const moves = new _Moves(state, `slash ${amount} credits`).add(entry.did, 'staked', -amount)
      let shared = 0
      for (const share of entry.shares) {
        shared += _amount(share.amount, `a share of a slash of ${entry.did}`, true)
        moves.add(share.to, 'available', share.amount)
      }
      if (shared !== amount) throw new InvalidAmountError(`cannot slash ${amount} credits of ${entry.did}: the shares add up to ${shared}`)
      moves.write()
      return undefined
    }
    default:
      throw new LedgerInvariantError(`unknown journal entry kind ${(entry as { kind: unknown }).kind}`)
  }
}

/**
 * Balance changes of one entry, gathered per DID and checked before any is
 * written, so an entry that touches one account twice (a payer paying
 * itself, a slash shared with the slashed) is still all-or-nothing.
 */
class _Moves {
  private readonly deltas = new Map<DID, { available: number, staked: number, escrowed: number }>()

  constructor (private readonly state: _State, private readonly action: string) {}

  add (did: DID, balance: keyof _Balances, credits: number): this {
    let delta = this.deltas.get(did)
    if (delta === undefined) this.deltas.set(did, delta = { available: 0, staked: 0, escrowed: 0 })
    delta[balance] += credits
    return this
  }

  write (): void {
    const next: Array<[DID, _Balances]> = []
    for (const [did, delta] of this.deltas) {
      // A zero change creates no account (a charge of 0 pays its payee nothing).
      if (delta.available === 0 && delta.staked === 0 && delta.escrowed === 0) continue
      const current = this.state.balances(did)
      const balances = { available: current.available + delta.available, staked: current.staked + delta.staked, escrowed: current.escrowed + delta.escrowed }
      if (balances.available < 0) throw new InsufficientFundsError(`cannot ${this.action}: ${did} has ${current.available} credits available, ${-delta.available} needed`)
      if (balances.staked < 0) throw new InsufficientStakeError(`cannot ${this.action}: ${did} has ${current.staked} credits staked, ${-delta.staked} needed`)
      if (balances.escrowed < 0) throw new LedgerInvariantError(`cannot ${this.action}: ${did} has ${current.escrowed} credits escrowed, ${-delta.escrowed} needed`)
      next.push([did, balances])
    }
    for (const [did, balances] of next) this.state.setBalances(did, balances)
  }
}

/** `value` as an amount of credits: a safe integer ≥ 0 (> 0 when `positive`). */
function _amount (value: number, what: string, positive: boolean): number {
  if (!Number.isSafeInteger(value) || value < (positive ? 1 : 0)) {
    throw new InvalidAmountError(`${what}: ${String(value)} is not a ${positive ? 'positive' : 'non-negative'} whole number of credits`)
  }
  return value
}

function _existing (state: _State, id: string, action: string): Escrow {
  const escrow = state.escrow(id)
  if (escrow === undefined) throw new UnknownEscrowError(`cannot ${action} escrow ${id}: no escrow has this id`)
  return escrow
}

function _open (escrow: Escrow, action: string): void {
  if (escrow.state === 'settled' || escrow.state === 'refunded') throw new AlreadySettledError(`cannot ${action} escrow ${escrow.id}: it is ${escrow.state} already`)
}

/** Ends an escrow, releasing `released` credits of its workflow's commitments. */
function _close (state: _State, escrow: Escrow, to: 'settled' | 'refunded', released: number, seq: number): Escrow {
  const next: Escrow = { ...escrow, state: to, changedAt: seq }
  state.setEscrow(next, escrow)
  if (escrow.workflow !== undefined) state.setCommitted(escrow.workflow, state.committed(escrow.workflow) - released)
  return next
}

/** Stored balances with exactly the three fields (zeros when absent). */
function _balances (value: _Balances | undefined): _Balances {
  return value === undefined ? { ...ZERO } : { available: value.available, staked: value.staked, escrowed: value.escrowed }
}

function _violated (message: string): never {
  throw new LedgerInvariantError(`ledger audit: ${message}`)
}

/** Compares stored records with replayed ones; names the first that differs, in key order. */
function _compare<K extends string, V> (what: string, stored: Iterable<{ key: K, value: V }>, replayed: Map<K, V>): void {
  const unseen = new Set(replayed.keys())
  for (const { key, value } of stored) {
    if (!unseen.delete(key)) _violated(`the ${what} ${key} is stored but no journal entry made it: ${JSON.stringify(value)}`)
    const expected = replayed.get(key)
    if (!_same(value, expected)) _violated(`the ${what} ${key} is stored as ${JSON.stringify(value)}, the journal gives ${JSON.stringify(expected)}`)
  }
  const missing = [...unseen].sort()[0]
  if (missing !== undefined) _violated(`the ${what} ${missing} is missing from the store: the journal gives ${JSON.stringify(replayed.get(missing))}`)
}

/** Equality of flat records (accounts, escrows) and numbers. */
function _same (a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return a === b
  const left = a as Record<string, unknown>
  const right = b as Record<string, unknown>
  const keys = new Set([...Object.keys(left), ...Object.keys(right)])
  for (const key of keys) if (left[key] !== right[key]) return false
  return true
}
