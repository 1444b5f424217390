/**
 * The ledger: who holds how many credits, what executors have staked, and
 * what is held in escrow for each awarded task. A types-only seam: the
 * scheduler uses {@link Ledger}; `LmdbLedger` (an append-only journal in LMDB)
 * implements it here, and a chain-backed ledger can replace it.
 *
 * Units: amounts are whole **credits** (non-negative safe integers). Prices
 * are credits per million fuel; a task's cost is `ceil(fuel × price / 10⁶)`
 * (`costOf` in src/model/price.ts).
 *
 * Conservation: credits enter only through `deposit`. Every other operation
 * moves credits between an account's `available` and `staked` balances and
 * escrows, never creating or destroying any, so at every moment
 *
 *     Σ available + Σ staked + Σ held in escrow = Σ deposits
 *
 * and replaying the journal from its first entry gives the stored balances
 * (`audit()` checks both).
 *
 * Escrow life: `openEscrow` (payer's available → escrow, at award) →
 * `charge` (the receipt came: how much the payee earns, final after the
 * challenge window) → `settle` (payee gets the charge, payer the rest), or
 * `refund` (everything back to the payer: the executor failed or was silent).
 * Settling or refunding twice is `AlreadySettled`.
 */
import { IpvmError } from '../src/errors.js'
import type { DID } from '../src/auth/types.js'

/** Base of the ledger's named errors. */
export class LedgerError extends IpvmError {
  override name = 'LedgerError'
}

/** An amount that is not a non-negative safe integer (or zero where a transfer needs more). */
export { InvalidAmountError } from '../src/model/price.js'

/** The payer's available balance is smaller than the amount. */
export class InsufficientFundsError extends LedgerError {
  override name = 'InsufficientFunds'
}

/** The account's stake is smaller than the amount (unstake, slash) or than a required minimum. */
export class InsufficientStakeError extends LedgerError {
  override name = 'InsufficientStake'
}

/** Opening this escrow would take a workflow's commitments past its budget. */
export class BudgetExceededError extends LedgerError {
  override name = 'BudgetExceeded'
}

/** No escrow has this id. */
export class UnknownEscrowError extends LedgerError {
  override name = 'UnknownEscrow'
}

/** The escrow was already settled or refunded (or charged, for `charge`), or an escrow with this id exists already. */
export class AlreadySettledError extends LedgerError {
  override name = 'AlreadySettled'
}

/** `settle` of an escrow that is still `held`: no receipt has charged it yet. */
export class NotChargedError extends LedgerError {
  override name = 'NotCharged'
}

/** The escrow's payee is not who claims it (a receipt for a task the executor was not awarded). */
export class NotAwardedError extends LedgerError {
  override name = 'NotAwarded'
}

/** The stored balances disagree with the journal, or credits were created or destroyed. */
export class LedgerInvariantError extends LedgerError {
  override name = 'LedgerInvariantViolated'
}

/** One account's balances. */
export interface Account {
  did: DID
  /** Spendable credits. */
  available: number
  /** Credits staked (an executor's or a verifier's bond; slashed on proven fraud). */
  staked: number
  /** Credits this account paid into escrows that are still open. */
  escrowed: number
}

/** `held`: taken at award; `charged`: the receipt came, the charge is known; then settled or refunded. */
export type EscrowState = 'held' | 'charged' | 'settled' | 'refunded'

/** Credits held for one award. */
export interface Escrow {
  /** Unique id, e.g. `<workflow>/<task index>/<attempt>`. */
  id: string
  payer: DID
  /** The executor awarded the task: the only account that can earn it. */
  payee: DID
  /** Credits held: fuel limit × price. */
  amount: number
  /** The workflow it is committed for (budgets are per workflow). */
  workflow?: string
  /** The task, e.g. its InID. */
  task?: string
  state: EscrowState
  /** What the payee earns (≤ amount); set by `charge`. */
  charge?: number
  /** When a charged escrow becomes final (ms since the epoch): `settleDue` lists it from then on. */
  finalAt?: number
  /** Journal sequence number of its opening. */
  openedAt: number
  /** Journal sequence number of its last change (its opening, charge, settlement or refund). */
  changedAt?: number
}

/** One journal entry. `seq` counts from 1 without gaps; `at` is ms since the epoch. */
export type JournalEntry =
  | { seq: number, at: number, kind: 'deposit', to: DID, amount: number, stake: boolean, memo?: string }
  | { seq: number, at: number, kind: 'stake', did: DID, amount: number }
  | { seq: number, at: number, kind: 'unstake', did: DID, amount: number }
  | { seq: number, at: number, kind: 'escrow', escrow: string, payer: DID, payee: DID, amount: number, workflow?: string, task?: string }
  | { seq: number, at: number, kind: 'charge', escrow: string, amount: number, finalAt: number }
  | { seq: number, at: number, kind: 'settle', escrow: string, paid: number, refunded: number }
  | { seq: number, at: number, kind: 'refund', escrow: string, amount: number, reason?: string }
  | { seq: number, at: number, kind: 'slash', did: DID, amount: number, shares: Array<{ to: DID, amount: number }>, reason: string }

/** What {@link Ledger.audit} found. */
export interface AuditReport {
  entries: number
  deposited: number
  available: number
  staked: number
  held: number
}

/** What {@link Ledger.openEscrow} needs. */
export interface OpenEscrow {
  id: string
  payer: DID
  payee: DID
  amount: number
  workflow?: string
  task?: string
  /** Most credits `workflow` may have committed (open escrows + paid charges) after this one. */
  budget?: number
  /** Least stake the payee must have (`InsufficientStake` otherwise). */
  minPayeeStake?: number
}

/**
 * The scheduler's ledger. Every mutating method appends exactly one journal
 * entry and updates the balances in one atomic step, or throws a named
 * {@link LedgerError} and changes nothing.
 */
export interface Ledger {
  /** Credits enter here and only here (a faucet on a devnet, a bridge on a chain). `stake`: straight into the stake. */
  deposit (to: DID, amount: number, options?: { stake?: boolean, memo?: string }): Promise<JournalEntry>
  /** Available → staked. */
  stake (did: DID, amount: number): Promise<JournalEntry>
  /** Staked → available. */
  unstake (did: DID, amount: number): Promise<JournalEntry>
  /** Payer's available → a new escrow (at award). */
  openEscrow (init: OpenEscrow): Promise<Escrow>
  /** Records what the payee earns (≤ the amount held) and when it becomes final. The escrow must be `held`. */
  charge (id: string, amount: number, finalAt: number): Promise<Escrow>
  /** Pays a `charged` escrow's charge to its payee and refunds the rest to the payer. `payee`, when given, must be the escrow's. */
  settle (id: string, payee?: DID): Promise<Escrow>
  /** Everything held back to the payer (a `held` or `charged` escrow). */
  refund (id: string, reason?: string): Promise<Escrow>
  /** Takes `amount` from `did`'s stake and gives it to `shares` (their sum must equal `amount`). */
  slash (did: DID, amount: number, shares: Array<{ to: DID, amount: number }>, reason: string): Promise<JournalEntry>

  /** Balances of `did` (zeros when unknown). */
  account (did: DID): Account
  /** Every account with a non-zero balance ever, sorted by DID. */
  accounts (): Account[]
  escrow (id: string): Escrow | undefined
  /** Escrows in state `held` (opened, no receipt yet): a restarted scheduler refunds them. */
  heldEscrows (): Escrow[]
  /** Charged escrows whose `finalAt` ≤ `now`: ready to settle. */
  settleDue (now: number): Escrow[]
  /** Credits committed for `workflow`: open escrows plus charges paid. */
  committed (workflow: string): number
  /** Journal entries with `seq` ≥ `from` (default 1), at most `limit`. */
  journal (options?: { from?: number, limit?: number }): JournalEntry[]
  /** Replays the journal and checks conservation and the stored balances; throws `LedgerInvariantViolated`. */
  audit (): AuditReport
  close (): Promise<void>
}

export { costOf, FUEL_PER_PRICE_UNIT } from '../src/model/price.js'
