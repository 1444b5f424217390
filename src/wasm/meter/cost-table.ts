/**
 * The fuel cost table: what each Wasm instruction costs.
 *
 * One fuel unit is roughly one simple machine operation (an ALU op, a
 * register move, a predicted branch). The weights follow what V8's
 * optimizing tier emits on x86-64, rounded to small integers so a reader can
 * check them by hand:
 *
 * | instructions | cost | why |
 * |---|---|---|
 * | `nop`, `block`, `loop`, `else`, `end` | 0 | no machine code of their own |
 * | constants, `local.*`, `global.*`, `drop`, `select`, integer add/sub/logic/shift/compare, `eqz`, `clz`/`ctz`/`popcnt`, wrap/extend, sign extension, float `abs`/`neg`/`copysign`/compare, reinterpretations, `ref.*`, `memory.size`, `table.size`, `br`, `br_if`, `if`, `return`, `unreachable`, `data.drop`, `elem.drop` | 1 | one or two machine instructions |
 * | integer `mul`, float `add`/`sub`/`mul`, `ceil`/`floor`/`trunc`/`nearest`, int↔float conversions, `promote`/`demote`, `br_table`, loads, stores, `table.get`/`table.set` | 2 | multi-cycle latency, or an address computation with bounds check |
 * | float `min`/`max`, trapping and saturating float→int truncations | 3 | V8 emits a short sequence for NaN/±0/range handling |
 * | float `div`, `sqrt` | 8 | 10–20 cycles of latency |
 * | integer `div`/`rem` | 10 | 20–40 cycles, plus zero/overflow checks |
 * | `call` | 5 | frame setup and teardown |
 * | `call_indirect` | 8 | table bounds and signature checks on top of a call |
 * | `memory.grow` | 10 + 1024 per page actually granted | the page is mapped and will be zero-filled (1 unit per 64 bytes) |
 * | `memory.fill`/`copy`/`init` | 5 + ⌊n / 8⌋ | charged at run time from the byte count n (1 unit per 8 bytes moved) |
 * | `table.fill`/`copy`/`init` | 5 + n | charged at run time, 1 unit per element |
 * | `table.grow` | 5 + n per element actually granted | as memory.grow |
 *
 * The instrumentation's own instructions are not charged: fuel measures the
 * guest's work. Costs are charged per metered block (see `instrument.ts`),
 * so a block left early by `br_if`, `br_table`, `return` or a trap has still
 * paid for all of its instructions: a bounded, deterministic overcharge.
 */

/** The weights the instrumentation uses. Part of the determinism contract: two nodes must use equal tables. */
export interface CostTable {
  /** Cost of each single-byte opcode, indexed by opcode (256 entries). */
  readonly opcodes: ArrayLike<number>
  /** Cost of each 0xFC-prefixed opcode, indexed by sub-opcode (18 entries, 0–17). */
  readonly prefixedFC: ArrayLike<number>
  /** Extra fuel per 64 KiB page granted by `memory.grow`. */
  readonly memoryGrowPerPage: number
  /** Bulk memory ops charge 1 unit per `2 ** bulkMemoryShift` bytes. Must be 0–31. */
  readonly bulkMemoryShift: number
  /** Extra fuel per table element filled, copied, initialized or granted. */
  readonly tableElementCost: number
}

function buildOpcodeCosts (): Uint32Array {
  const costs = new Uint32Array(256).fill(1)
  const setCost = (cost: number, ...ops: number[]): void => {
    for (const op of ops) costs[op] = cost
  }
  const range = (from: number, to: number): number[] => {
    const ops: number[] = []
    for (let op = from; op <= to; op++) ops.push(op)
    return ops
  }
  setCost(0, 0x01, 0x02, 0x03, 0x05, 0x0B) // nop block loop else end
  setCost(2, 0x0E) // br_table
  setCost(5, 0x10) // call
  setCost(8, 0x11) // call_indirect
  setCost(2, 0x25, 0x26) // table.get/set
  setCost(2, ...range(0x28, 0x3E)) // loads and stores
  setCost(10, 0x40) // memory.grow base
  setCost(2, 0x6C, 0x7E) // i32.mul, i64.mul
  setCost(10, 0x6D, 0x6E, 0x6F, 0x70, 0x7F, 0x80, 0x81, 0x82) // integer div/rem
  setCost(2, 0x8D, 0x8E, 0x8F, 0x90, 0x9B, 0x9C, 0x9D, 0x9E) // ceil floor trunc nearest
  setCost(8, 0x91, 0x9F, 0x95, 0xA3) // sqrt, div
  setCost(2, 0x92, 0x93, 0x94, 0xA0, 0xA1, 0xA2) // float add sub mul
  setCost(3, 0x96, 0x97, 0xA4, 0xA5) // float min max
  setCost(3, 0xA8, 0xA9, 0xAA, 0xAB, 0xAE, 0xAF, 0xB0, 0xB1) // trapping truncations
  setCost(2, ...range(0xB2, 0xBB)) // int→float conversions, demote, promote
  return costs
}

/** The default cost table (see the module documentation for the reasoning). */
export const DEFAULT_COST_TABLE: CostTable = Object.freeze({
  opcodes: buildOpcodeCosts(),
  // trunc_sat ×8, memory.init, data.drop, memory.copy, memory.fill,
  // table.init, elem.drop, table.copy, table.grow, table.size, table.fill
  prefixedFC: new Uint32Array([3, 3, 3, 3, 3, 3, 3, 3, 5, 1, 5, 5, 5, 1, 5, 5, 1, 5]),
  memoryGrowPerPage: 1024,
  bulkMemoryShift: 3,
  tableElementCost: 1
})

/** Checks a cost table's shape; throws a `RangeError` naming the bad field. */
export function checkCostTable (table: CostTable): void {
  if (table.opcodes.length !== 256) throw new RangeError('costTable.opcodes must have 256 entries')
  if (table.prefixedFC.length !== 18) throw new RangeError('costTable.prefixedFC must have 18 entries')
  const integer = (value: number, field: string, max = 2 ** 24): void => {
    if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`costTable.${field} must be an integer in [0, ${max}]`)
  }
  for (let i = 0; i < 256; i++) integer(table.opcodes[i] as number, `opcodes[${i}]`)
  for (let i = 0; i < 18; i++) integer(table.prefixedFC[i] as number, `prefixedFC[${i}]`)
  integer(table.memoryGrowPerPage, 'memoryGrowPerPage')
  integer(table.bulkMemoryShift, 'bulkMemoryShift', 31)
  integer(table.tableElementCost, 'tableElementCost')
}
