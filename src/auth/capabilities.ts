/**
 * The capabilities of the ipvm market, defined once with `@ucanto/validator`:
 *
 * - `wasm/run` — run Wasm tasks at the expense of `with` (the requester who
 *   pays). Caveats: `maxFuel` per task, `maxPrice` (credits per million
 *   fuel), `maxSpend` (most credits one task may commit: its fuel limit at its
 *   price; the scheduler keeps the total of a budget within it too),
 *   `modules` (the module CIDs that may run; absent means any).
 * - `task/bid` — place bids in the market run by `with` (a scheduler).
 *   Caveats: `task` (one InID only), `maxPrice`.
 * - `receipt/attest` — attest receipts for `with`. Caveats: `receipt` (one
 *   receipt only), `digest` (the outcome digest attested). A verifier's
 *   attestation is a `receipt/attest` delegation it issues on its own DID.
 *
 * Expiry and not-before are the UCAN's own `exp`/`nbf`, not caveats. Each
 * `derives` makes a delegation only narrow what its proof grants: an absent
 * caveat in the proof is no limit; a present one must be present and no larger
 * in the child. The same checks decide whether a task fits the chain.
 */
import { capability, Schema, DID, Failure } from '@ucanto/validator'
import { CID } from 'multiformats/cid'
import type { CaveatName } from './errors.js'

/** One caveat a claim or child delegation exceeds. */
export interface CaveatViolation {
  caveat: CaveatName
  /** What the proof (or delegation) allows. */
  limit: unknown
  /** What was asked for. */
  requested: unknown
  message: string
}

/** A ucanto failure carrying a {@link CaveatViolation}; what the `derives` functions return. */
export class CaveatViolationFailure extends Failure {
  readonly violation: CaveatViolation

  constructor (violation: CaveatViolation) {
    super()
    this.name = 'CaveatViolation'
    this.violation = violation
  }

  override describe (): string {
    return this.violation.message
  }
}

/** A numeric caveat that exceeds its limit, or `undefined`. An absent request is unbounded. */
export function exceedsLimit (requested: number | bigint | undefined, limit: number | bigint | undefined): boolean {
  if (limit === undefined) return false
  if (requested === undefined) return true
  return BigInt(requested) > BigInt(limit)
}

/** A comparable key of a CID from any multiformats version (v0 and v1 of the same DAG-PB node compare equal). */
export function cidKey (link: unknown): string | undefined {
  const cid = CID.asCID(link)
  if (cid === null) return undefined
  return cid.version === 0 ? cid.toV1().toString() : cid.toString()
}

/** What a `wasm/run` claim or grant says, whatever its origin (ucanto capability, task terms). */
export interface WasmRunTerms {
  with?: string
  maxFuel?: number | bigint
  maxPrice?: number | bigint
  maxSpend?: number | bigint
  modules?: readonly unknown[]
}

/**
 * The first caveat of `requested` that `granted` does not allow, or
 * `undefined`. Order: resource, modules, fuel, price, spend.
 */
export function checkWasmRun (requested: WasmRunTerms, granted: WasmRunTerms, subject = 'the request'): CaveatViolation | undefined {
  if (requested.with !== undefined && granted.with !== undefined && requested.with !== granted.with) {
    return { caveat: 'with', limit: granted.with, requested: requested.with, message: `${subject} is for ${requested.with} but the proof grants ${granted.with}` }
  }
  if (granted.modules !== undefined) {
    const allowed = new Set(granted.modules.map(cidKey))
    if (requested.modules === undefined) {
      return { caveat: 'modules', limit: granted.modules.map(String), requested: 'any module', message: `${subject} allows any module but the proof allows only ${granted.modules.map(String).join(', ')}` }
    }
    const outside = requested.modules.find(module => !allowed.has(cidKey(module)))
    if (outside !== undefined) {
      return { caveat: 'modules', limit: granted.modules.map(String), requested: String(outside), message: `module ${String(outside)} is not among the modules the proof allows (${granted.modules.map(String).join(', ') || 'none'})` }
    }
  }
  if (exceedsLimit(requested.maxFuel, granted.maxFuel)) {
    const asked = requested.maxFuel === undefined ? 'unbounded fuel' : `fuel ${requested.maxFuel}`
    return { caveat: 'maxFuel', limit: granted.maxFuel, requested: requested.maxFuel === undefined ? null : String(requested.maxFuel), message: `${subject} asks for ${asked} but the proof allows at most ${granted.maxFuel}` }
  }
  if (exceedsLimit(requested.maxPrice, granted.maxPrice)) {
    const asked = requested.maxPrice === undefined ? 'any price' : `price ${requested.maxPrice}`
    return { caveat: 'maxPrice', limit: granted.maxPrice, requested: requested.maxPrice === undefined ? null : String(requested.maxPrice), message: `${subject} asks for ${asked} but the proof allows at most ${granted.maxPrice}` }
  }
  if (exceedsLimit(requested.maxSpend, granted.maxSpend)) {
    const asked = requested.maxSpend === undefined ? 'unbounded spending' : `${requested.maxSpend} credits`
    return { caveat: 'maxSpend', limit: granted.maxSpend, requested: requested.maxSpend === undefined ? null : String(requested.maxSpend), message: `${subject} commits ${asked} but the proof allows at most ${granted.maxSpend}` }
  }
  return undefined
}

interface ParsedWasmRun { can: string, with: string, nb: { maxFuel?: number, maxPrice?: number, maxSpend?: number, modules?: readonly unknown[] } }

/** `wasm/run`: run Wasm tasks paid by `with`, within fuel, price, spend and module caveats. */
export const WasmRun = capability({
  can: 'wasm/run',
  with: DID.match({}),
  nb: Schema.struct({
    maxFuel: Schema.integer().greaterThan(-1).optional(),
    maxPrice: Schema.integer().greaterThan(-1).optional(),
    maxSpend: Schema.integer().greaterThan(-1).optional(),
    modules: Schema.link().array().optional()
  }),
  derives: (claimed, delegated) => {
    const child = claimed as unknown as ParsedWasmRun
    const parent = delegated as unknown as ParsedWasmRun
    const violation = checkWasmRun({ with: child.with, ...child.nb }, { with: parent.with, ...parent.nb }, 'the delegation')
    return violation === undefined ? { ok: {} } : { error: new CaveatViolationFailure(violation) }
  }
})

interface ParsedTaskBid { with: string, nb: { task?: unknown, maxPrice?: number } }

/** `task/bid`: bid in the market run by `with`; optionally for one task only and up to a price. */
export const TaskBid = capability({
  can: 'task/bid',
  with: DID.match({}),
  nb: Schema.struct({
    task: Schema.link().optional(),
    maxPrice: Schema.integer().greaterThan(-1).optional()
  }),
  derives: (claimed, delegated) => {
    const child = claimed as unknown as ParsedTaskBid
    const parent = delegated as unknown as ParsedTaskBid
    if (child.with !== parent.with) return { error: new CaveatViolationFailure({ caveat: 'with', limit: parent.with, requested: child.with, message: `bids in ${child.with} are not covered by a delegation for ${parent.with}` }) }
    if (parent.nb.task !== undefined && cidKey(child.nb.task) !== cidKey(parent.nb.task)) {
      return { error: new CaveatViolationFailure({ caveat: 'task', limit: String(parent.nb.task), requested: String(child.nb.task ?? 'any task'), message: `the proof allows bids on task ${String(parent.nb.task)} only` }) }
    }
    if (exceedsLimit(child.nb.maxPrice, parent.nb.maxPrice)) {
      return { error: new CaveatViolationFailure({ caveat: 'maxPrice', limit: parent.nb.maxPrice, requested: child.nb.maxPrice ?? null, message: `bids up to ${child.nb.maxPrice ?? 'any price'} exceed the proof's ${parent.nb.maxPrice}` }) }
    }
    return { ok: {} }
  }
})

interface ParsedReceiptAttest { with: string, nb: { receipt?: unknown } }

/** `receipt/attest`: attest receipts on behalf of `with`; optionally one receipt only. */
export const ReceiptAttest = capability({
  can: 'receipt/attest',
  with: DID.match({}),
  nb: Schema.struct({
    receipt: Schema.link().optional(),
    digest: Schema.link().optional()
  }),
  derives: (claimed, delegated) => {
    const child = claimed as unknown as ParsedReceiptAttest
    const parent = delegated as unknown as ParsedReceiptAttest
    if (child.with !== parent.with) return { error: new CaveatViolationFailure({ caveat: 'with', limit: parent.with, requested: child.with, message: `attestations for ${child.with} are not covered by a delegation for ${parent.with}` }) }
    if (parent.nb.receipt !== undefined && cidKey(child.nb.receipt) !== cidKey(parent.nb.receipt)) {
      return { error: new CaveatViolationFailure({ caveat: 'receipt', limit: String(parent.nb.receipt), requested: String(child.nb.receipt ?? 'any receipt'), message: `the proof allows attesting receipt ${String(parent.nb.receipt)} only` }) }
    }
    return { ok: {} }
  }
})

/** The abilities ipvm defines, by name. */
export const abilities = {
  'wasm/run': WasmRun,
  'task/bid': TaskBid,
  'receipt/attest': ReceiptAttest
} as const

/** An ability ipvm defines. */
export type Ability = keyof typeof abilities
