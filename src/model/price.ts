/**
 * Prices and costs. Amounts are whole credits; a price is credits per million
 * fuel. A task's cost is its fuel at its price, rounded up to a whole credit.
 */
import { IpvmError } from '../errors.js'

/** Fuel per unit of price: prices are credits per million fuel. */
export const FUEL_PER_PRICE_UNIT = 1_000_000n

/** A price or amount that is not a non-negative safe integer, or a cost too large to count. */
export class InvalidAmountError extends IpvmError {
  override name = 'InvalidAmount'
}

/** True for a whole, non-negative, safe number of credits (or credits per million fuel). */
export function isAmount (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/**
 * What `fuel` costs at `price` credits per million fuel, rounded up to a
 * whole credit (a task that burned any fuel at a non-zero price costs ≥ 1).
 *
 * @example
 * ```ts
 * costOf(30_000_000, 2) // 60
 * costOf(150, 2)        // 1
 * ```
 */
export function costOf (fuel: number | bigint, price: number | bigint): number {
  const product = BigInt(fuel) * BigInt(price)
  const cost = (product + FUEL_PER_PRICE_UNIT - 1n) / FUEL_PER_PRICE_UNIT
  if (cost > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidAmountError(`fuel ${fuel} at price ${price} costs more than ${Number.MAX_SAFE_INTEGER} credits`)
  return Number(cost)
}
