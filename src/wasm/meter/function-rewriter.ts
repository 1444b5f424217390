/**
 * Second pass over a function body: copies it to the output, inserting
 *
 * - fuel charges at the start of every metered block (function entry, loop
 *   header, `if`/`else` arm, after every `end`) against a counter local;
 * - run-time charges for `memory.grow`, `table.grow` and bulk memory/table ops;
 * - the call-depth charge at entry (folded into the entry fuel charge);
 * - NaN canonicalization (at observation points, or after each op).
 *
 * The counter (fuel and remaining depth packed in one i64, see
 * {@link COUNTER_DEPTH_BITS}) is the function's extra last parameter and is
 * returned as its extra last result, so it lives in a register across calls.
 * Declared locals therefore move up by one index; every `local.*` is
 * renumbered. Layout of an instrumented function:
 *
 * ```wat
 * (func (param …original… $c i64) (result …original… i64) (local …)
 *   block $oof
 *     block $ret (result …original…)
 *       local.get $c  i64.const (C0<<16)+W  i64.sub  local.tee $c
 *       i64.const 0x8000000000008000  i64.and  i64.const 0  i64.ne  br_if $oof   ;; fuel and depth
 *       …original body: `return` becomes `br $ret`; each metered block starts with
 *       local.get $c  i64.const C<<16  i64.sub  local.tee $c  i64.const 0  i64.lt_s  br_if $oof;
 *       `call f` becomes `local.get $c  call f  local.set $c`…
 *     end
 *     local.get $c  i64.const W  i64.add      ;; give the depth back, return the counter
 *     return
 *   end
 *   …trap: OutOfFuel (fuel global := 0, reason 1) or StackOverflow (fuel global := counter
 *   before entry, reason 2), then unreachable
 * end)
 * ```
 *
 * Wrapping the body in two blocks keeps every original branch label valid:
 * a branch to the function's own label now lands on `$ret`, which falls into
 * the epilogue.
 */

import type { ByteWriter } from './bytes.js'
import { frameBytesEstimate } from './code-scanner.js'
import type { FunctionInfo } from './code-scanner.js'
import type { CostTable } from './cost-table.js'
import { COUNTER_DEPTH_BITS, FRAME_UNIT_BYTES, TrapReason } from './constants.js'
import {
  IMMEDIATES, IMM_BLOCK_TYPE, IMM_BR_TABLE, IMM_CALL_INDIRECT, IMM_F32, IMM_F64, IMM_FUNC, IMM_GLOBAL, IMM_I32,
  IMM_I64, IMM_LABEL, IMM_LOCAL, IMM_MEM_ARG, IMM_MEM_IDX, IMM_PREFIX_FC, IMM_REF_TYPE, IMM_SELECT_TYPED, IMM_TABLE,
  NAN_ABSORBS_TOP, NAN_RESULT
} from './opcodes.js'

/**
 * How NaNs are made deterministic.
 *
 * - `'boundary'` (default): canonicalize where NaN bits become observable —
 *   before `f32/f64.store`, `i32.reinterpret_f32`/`i64.reinterpret_f64`, the
 *   sign operand of `copysign`, `global.set` of a float global, float results
 *   returned to the host and float arguments passed to host imports. Inside,
 *   a NaN's payload and sign cannot influence anything (comparisons, traps,
 *   saturating conversions and arithmetic only see "is NaN"), so the observable
 *   behaviour is deterministic, at nearly no cost.
 * - `'eager'`: canonicalize the result of every op that can produce a
 *   non-deterministic NaN (arithmetic, sqrt, min/max, rounding, promote,
 *   demote), skipping results consumed at once by an op that cannot see NaN
 *   bits. Every float value is then canonical or a bit copy.
 * - `'off'`: no canonicalization (only to measure its cost).
 */
export type NaNMode = 'boundary' | 'eager' | 'off'

/** Module-wide facts the rewriter needs. */
export interface RewriteContext {
  /** Module bytes. */
  bytes: Uint8Array
  /** Cost table. */
  costs: CostTable
  /** Charge fuel. */
  fuel: boolean
  /** Charge call depth. */
  callDepth: boolean
  /** Thread the counter through calls (`fuel || callDepth`). */
  thread: boolean
  /** NaN strategy. */
  nan: NaNMode
  /** Call-depth budget, in frame units. */
  maxCallDepth: number
  /** Index of the fuel global. */
  fuelGlobal: number
  /** Index of the trap-reason global. */
  trapReasonGlobal: number
  /** Value type of every global (to find float `global.set`). */
  globalTypes: number[]
  /** Number of imported functions. */
  importedFunctions: number
  /** When ≥ 0, calls and `ref.func` of import `i` go to function `adapterBase + i` instead. */
  adapterBase: number
  /** Type index of the counter-extended version of a type. */
  extendedType: (typeIndex: number) => number
}

/** The function being rewritten. */
export interface RewriteTarget {
  /** Body range in the module: start of local declarations. */
  start: number
  /** One past the final `end`. */
  end: number
  /** Scanner output. */
  info: FunctionInfo
  /** Encoded `block` instruction for the `$ret` wrapper (the function's original results). */
  resultBlock: Uint8Array
}

const SHIFT = COUNTER_DEPTH_BITS
/** One fuel unit in counter units. */
const FUEL_UNIT = 2 ** COUNTER_DEPTH_BITS
/** Sign bit (out of fuel) and depth guard bit (out of depth) of the counter. */
const ENTRY_MASK = -(2n ** 63n) + (1n << BigInt(COUNTER_DEPTH_BITS - 1))
const GUARD = 1 << (COUNTER_DEPTH_BITS - 1)
/** `i64.const ENTRY_MASK`, encoded once. */
const ENTRY_MASK_CONST: Uint8Array = (() => {
  const bytes: number[] = [0x42]
  let v = ENTRY_MASK
  while (true) {
    const b = Number(v & 0x7Fn)
    v >>= 7n
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) { bytes.push(b); break }
    bytes.push(b | 0x80)
  }
  return new Uint8Array(bytes)
})()

const F32_CANONICAL = [0x43, 0x00, 0x00, 0xC0, 0x7F]
const F64_CANONICAL = [0x44, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF8, 0x7F]

/** Writes the canonicalization of the f32 (kind 1) or f64 (kind 2) on top of the stack, using `temp`. */
export function writeCanonicalize (w: ByteWriter, kind: number, temp: number): void {
  w.byte(0x22); w.u32(temp) // local.tee $t
  for (const b of kind === 1 ? F32_CANONICAL : F64_CANONICAL) w.byte(b)
  w.byte(0x20); w.u32(temp)
  w.byte(0x20); w.u32(temp)
  w.byte(kind === 1 ? 0x5B : 0x61) // f32.eq / f64.eq: false only for NaN
  w.byte(0x1B) // select: $t if it is not NaN, else the canonical NaN
}

/** Frame estimate of the rewritten function (two more stack slots for the charges), in call-depth units. */
export function frameUnitsOf (info: FunctionInfo, extraLocals: number): number {
  return Math.max(1, Math.ceil(frameBytesEstimate(info.localCount + extraLocals, info.maxStackHeight + 2) / FRAME_UNIT_BYTES))
}

/**
 * Rewrites one function body into `out` (without the body-size prefix).
 * The body has already been checked by the scanner.
 */
export function rewriteFunction (ctx: RewriteContext, target: RewriteTarget, out: ByteWriter): void {
  const bytes = ctx.bytes
  const info = target.info
  const thread = ctx.thread
  const fuel = ctx.fuel
  const nan = ctx.nan
  const paramCount = info.paramCount
  const imported = ctx.importedFunctions
  const adapterBase = ctx.adapterBase

  // Locals: the counter is a new last parameter, so declared locals move up by one.
  const localShift = thread ? 1 : 0
  const counter = paramCount
  let nextLocal = info.localCount + localShift
  const needTemps = (fuel && info.dynamicCosts) || (thread && info.callsIndirect)
  const tempA = needTemps ? nextLocal++ : -1
  const tempB = needTemps ? nextLocal++ : -1
  const useF32 = (nan === 'eager' && info.nanF32) || (nan === 'boundary' && info.observesF32)
  const useF64 = (nan === 'eager' && info.nanF64) || (nan === 'boundary' && info.observesF64)
  const f32Local = useF32 ? nextLocal++ : -1
  const f64Local = useF64 ? nextLocal++ : -1
  const addedLocals = nextLocal - info.localCount
  // A frame larger than the whole budget always overflows; clamping keeps the guard-bit test exact.
  const units = Math.min(frameUnitsOf(info, addedLocals), ctx.maxCallDepth + 1)
  const depthUnits = ctx.callDepth && (info.calls || units > 1) ? units : 0

  let pos = target.start
  let groups = 0
  let shift = 0
  while (true) {
    const b = bytes[pos++] as number
    groups |= (b & 0x7F) << shift
    if ((b & 0x80) === 0) break
    shift += 7
  }
  const extraGroups = (needTemps ? 1 : 0) + (useF32 ? 1 : 0) + (useF64 ? 1 : 0)
  out.u32(groups + extraGroups)
  out.copy(bytes, pos, info.codeStart)
  if (needTemps) { out.byte(2); out.byte(0x7F) }
  if (useF32) { out.byte(1); out.byte(0x7D) }
  if (useF64) { out.byte(1); out.byte(0x7C) }
  pos = info.codeStart

  if (thread) {
    out.byte(0x02); out.byte(0x40) // block $oof
    out.bytes(target.resultBlock) // block $ret (result …)
  }

  const end = target.end
  const runCosts = info.runCosts

  // Run (metered block) state.
  let depth = 0 // open blocks of the original code
  let run = 0
  let copyFrom = pos
  let pendingNaN = 0
  /** Charges the next metered block, whose code starts at `at`: copies the original bytes up to there first. */
  const chargeNextRun = (at: number): void => {
    const cost = runCosts[++run] ?? 0
    if (cost > 0) {
      out.copy(bytes, copyFrom, at)
      copyFrom = at
      writeCharge(out, counter, cost, depth)
    }
  }
  const entryDecrement = (fuel ? (runCosts[0] ?? 0) : 0) * FUEL_UNIT + depthUnits

  if (thread && entryDecrement > 0) {
    if (depthUnits > 0) {
      // Fuel and depth in one subtraction; the mask catches both the sign (fuel) and the guard bit (depth).
      out.byte(0x20); out.u32(counter)
      out.byte(0x42); out.sleb(entryDecrement)
      out.byte(0x7D)
      out.byte(0x22); out.u32(counter)
      out.bytes(ENTRY_MASK_CONST)
      out.byte(0x83) // i64.and
      out.byte(0x50) // i64.eqz
      out.byte(0x45) // i32.eqz
      out.byte(0x0D); out.u32(1) // br_if $oof
    } else {
      writeCharge(out, counter, runCosts[0] ?? 0, 0)
    }
  }
  const chargeBlocks = thread && fuel

  while (true) {
    const at = pos
    const op = bytes[pos++] as number
    let absorbs = NAN_ABSORBS_TOP[op] as number
    let sub = -1
    let imm0 = 0
    switch (IMMEDIATES[op]) {
      case IMM_BLOCK_TYPE: {
        const b = bytes[pos] as number
        if (b >= 0x40 && b < 0x80) pos++
        else { while (((bytes[pos++] as number) & 0x80) !== 0) { /* s33 */ } }
        break
      }
      case IMM_LOCAL: case IMM_FUNC: case IMM_GLOBAL: {
        let s = 0
        while (true) {
          const b = bytes[pos++] as number
          imm0 |= (b & 0x7F) << s
          if ((b & 0x80) === 0) break
          s += 7
        }
        imm0 >>>= 0
        break
      }
      case IMM_LABEL: case IMM_TABLE: case IMM_MEM_IDX: case IMM_I32: case IMM_I64:
        while (((bytes[pos++] as number) & 0x80) !== 0) { /* LEB */ }
        break
      case IMM_CALL_INDIRECT: {
        let s = 0
        while (true) {
          const b = bytes[pos++] as number
          imm0 |= (b & 0x7F) << s
          if ((b & 0x80) === 0) break
          s += 7
        }
        imm0 >>>= 0
        while (((bytes[pos++] as number) & 0x80) !== 0) { /* table index */ }
        break
      }
      case IMM_MEM_ARG:
        while (((bytes[pos++] as number) & 0x80) !== 0) { /* align */ }
        while (((bytes[pos++] as number) & 0x80) !== 0) { /* offset */ }
        break
      case IMM_BR_TABLE: {
        let count = 0
        let s = 0
        while (true) {
          const b = bytes[pos++] as number
          count |= (b & 0x7F) << s
          if ((b & 0x80) === 0) break
          s += 7
        }
        for (let i = 0; i <= count; i++) { while (((bytes[pos++] as number) & 0x80) !== 0) { /* LEB */ } }
        break
      }
      case IMM_F32: pos += 4; break
      case IMM_F64: pos += 8; break
      case IMM_SELECT_TYPED: {
        // A type count (1, checked by the scanner, possibly padded) and single-byte value types.
        let count = 0
        let s = 0
        while (true) {
          const b = bytes[pos++] as number
          count |= (b & 0x7F) << s
          if ((b & 0x80) === 0) break
          s += 7
        }
        pos += count
        break
      }
      case IMM_REF_TYPE: pos += 1; break
      case IMM_PREFIX_FC: {
        sub = 0
        let s = 0
        while (true) {
          const b = bytes[pos++] as number
          sub |= (b & 0x7F) << s
          if ((b & 0x80) === 0) break
          s += 7
        }
        absorbs = sub < 8 ? 1 : 0
        // 8 memory.init, 10 memory.copy, 12 table.init, 14 table.copy: two immediates; 9, 11, 13, 15–17: one; 0–7: none.
        const immCount = sub < 8 ? 0 : (sub === 8 || sub === 10 || sub === 12 || sub === 14) ? 2 : 1
        for (let i = 0; i < immCount; i++) { while (((bytes[pos++] as number) & 0x80) !== 0) { /* LEB */ } }
        break
      }
      default: break
    }

    if (pendingNaN !== 0) {
      if (absorbs === 0) {
        out.copy(bytes, copyFrom, at)
        copyFrom = at
        writeCanonicalize(out, pendingNaN, pendingNaN === 1 ? f32Local : f64Local)
      }
      pendingNaN = 0
    }

    switch (op) {
      case 0x02: // block
        depth++
        break
      case 0x03: // loop
      case 0x04: // if
      case 0x05: // else
        if (op !== 0x05) depth++
        // A metered block starts: copy up to here, then charge it.
        if (chargeBlocks) chargeNextRun(pos)
        break
      case 0x0B: // end
        if (depth === 0) {
          out.copy(bytes, copyFrom, at)
          if (pos !== end) throw new Error('internal: function end mismatch')
          if (thread) writeEpilogue(ctx, out, counter, depthUnits, entryDecrement)
          out.byte(0x0B) // the function's end
          return
        }
        depth--
        if (chargeBlocks) chargeNextRun(pos)
        break
      case 0x0F: // return
        if (thread) {
          out.copy(bytes, copyFrom, at)
          out.byte(0x0C); out.u32(depth) // br $ret
          copyFrom = pos
        }
        break
      case 0x20: case 0x21: case 0x22: // local.get/set/tee
        if (thread && imm0 >= paramCount) {
          out.copy(bytes, copyFrom, at)
          out.byte(op); out.u32(imm0 + 1)
          copyFrom = pos
        }
        break
      case 0x10: { // call
        const callee = adapterBase >= 0 && imm0 < imported ? adapterBase + imm0 : imm0
        if (thread) {
          out.copy(bytes, copyFrom, at)
          out.byte(0x20); out.u32(counter)
          out.byte(0x10); out.u32(callee)
          out.byte(0x21); out.u32(counter)
          copyFrom = pos
        } else if (callee !== imm0) {
          out.copy(bytes, copyFrom, at)
          out.byte(0x10); out.u32(callee)
          copyFrom = pos
        }
        break
      }
      case 0x11: // call_indirect
        if (thread) {
          out.copy(bytes, copyFrom, at)
          out.byte(0x21); out.u32(tempA) // the table slot
          out.byte(0x20); out.u32(counter)
          out.byte(0x20); out.u32(tempA)
          out.byte(0x11); out.u32(ctx.extendedType(imm0))
          out.copy(bytes, skipLeb(bytes, at + 1), pos) // table index
          out.byte(0x21); out.u32(counter)
          copyFrom = pos
        }
        break
      case 0xD2: // ref.func
        if (adapterBase >= 0 && imm0 < imported) {
          out.copy(bytes, copyFrom, at)
          out.byte(0xD2); out.u32(adapterBase + imm0)
          copyFrom = pos
        }
        break
      case 0x40: // memory.grow
        if (chargeBlocks) {
          out.copy(bytes, copyFrom, at)
          writeChargeAfterGrow(out, bytes, at, pos, counter, tempA, tempB, ctx.costs.memoryGrowPerPage, depth)
          copyFrom = pos
        }
        break
      case 0xFC:
        if (chargeBlocks && sub >= 8) {
          let unit = -1
          let shiftBits = 0
          if (sub === 8 || sub === 10 || sub === 11) { unit = 1; shiftBits = ctx.costs.bulkMemoryShift } // memory.init/copy/fill
          else if (sub === 12 || sub === 14 || sub === 17) unit = ctx.costs.tableElementCost // table.init/copy/fill
          if (unit >= 0) {
            out.copy(bytes, copyFrom, at)
            copyFrom = at
            writeChargeBefore(out, counter, tempA, unit, shiftBits, depth)
          } else if (sub === 15) { // table.grow
            out.copy(bytes, copyFrom, at)
            writeChargeAfterGrow(out, bytes, at, pos, counter, tempA, tempB, ctx.costs.tableElementCost, depth)
            copyFrom = pos
          }
        }
        break
      case 0x38: case 0xBC: case 0x98: // f32.store, i32.reinterpret_f32, f32.copysign (sign operand on top)
      case 0x39: case 0xBD: case 0xA6: // the f64 versions
        if (nan === 'boundary') {
          out.copy(bytes, copyFrom, at)
          copyFrom = at
          const kind = op === 0x38 || op === 0xBC || op === 0x98 ? 1 : 2
          writeCanonicalize(out, kind, kind === 1 ? f32Local : f64Local)
        }
        break
      case 0x24: { // global.set
        if (nan === 'boundary') {
          const type = ctx.globalTypes[imm0]
          if (type === 0x7D || type === 0x7C) {
            out.copy(bytes, copyFrom, at)
            copyFrom = at
            writeCanonicalize(out, type === 0x7D ? 1 : 2, type === 0x7D ? f32Local : f64Local)
          }
        }
        break
      }
      default:
        if (nan === 'eager' && NAN_RESULT[op] !== 0) pendingNaN = NAN_RESULT[op] as number
    }
  }
}

/** The charge at the start of a metered block: the counter drops by the block's fuel; below zero, out of fuel. */
function writeCharge (out: ByteWriter, counter: number, cost: number, depth: number): void {
  out.byte(0x20); out.u32(counter) // local.get $c
  out.byte(0x42); out.sleb(cost * FUEL_UNIT) // i64.const
  out.byte(0x7D) // i64.sub
  out.byte(0x22); out.u32(counter) // local.tee $c
  out.byte(0x42); out.byte(0x00) // i64.const 0
  out.byte(0x53) // i64.lt_s
  out.byte(0x0D); out.u32(depth + 1) // br_if $oof
}

/** Charges `(count >> shiftBits) × unit` fuel, the count in `local`; `labelDepth` is the depth of `$oof` minus one. */
function writeDynamicCharge (out: ByteWriter, counter: number, local: number, unit: number, shiftBits: number, labelDepth: number): void {
  out.byte(0x20); out.u32(counter)
  out.byte(0x20); out.u32(local)
  out.byte(0xAD) // i64.extend_i32_u
  if (shiftBits > 0) { out.byte(0x42); out.sleb(shiftBits); out.byte(0x88) } // i64.shr_u
  out.byte(0x42); out.sleb(unit * FUEL_UNIT)
  out.byte(0x7E) // i64.mul
  out.byte(0x7D) // i64.sub
  out.byte(0x22); out.u32(counter)
  out.byte(0x42); out.byte(0x00)
  out.byte(0x53)
  out.byte(0x0D); out.u32(labelDepth + 1)
}

/** Bulk ops: charge from the count on top of the stack, before the op. */
function writeChargeBefore (out: ByteWriter, counter: number, temp: number, unit: number, shiftBits: number, depth: number): void {
  out.byte(0x21); out.u32(temp) // local.set $a
  writeDynamicCharge(out, counter, temp, unit, shiftBits, depth)
  out.byte(0x20); out.u32(temp) // local.get $a
}

/** memory.grow / table.grow (at `[at, end)` in `bytes`): charge per unit granted, after the grow succeeded. */
function writeChargeAfterGrow (out: ByteWriter, bytes: Uint8Array, at: number, end: number, counter: number, tempA: number, tempB: number, unit: number, depth: number): void {
  out.byte(0x22); out.u32(tempA) // local.tee $a (the requested delta)
  out.copy(bytes, at, end) // the grow instruction itself
  out.byte(0x22); out.u32(tempB) // local.tee $b (old size or -1)
  out.byte(0x41); out.byte(0x7F) // i32.const -1
  out.byte(0x47) // i32.ne
  out.byte(0x04); out.byte(0x40) // if
  writeDynamicCharge(out, counter, tempA, unit, 0, depth + 1)
  out.byte(0x0B) // end
  out.byte(0x20); out.u32(tempB) // local.get $b
}

function skipLeb (bytes: Uint8Array, pos: number): number {
  while (((bytes[pos++] as number) & 0x80) !== 0) { /* LEB */ }
  return pos
}

/** Out of fuel: publish 0 fuel and reason 1, then trap. */
function writeOutOfFuel (ctx: RewriteContext, out: ByteWriter): void {
  out.byte(0x42); out.byte(0x00)
  out.byte(0x24); out.u32(ctx.fuelGlobal)
  out.byte(0x41); out.sleb(TrapReason.OutOfFuel)
  out.byte(0x24); out.u32(ctx.trapReasonGlobal)
  out.byte(0x00)
}

/** After `end $ret`: return the counter (depth given back), then the shared trap code. */
function writeEpilogue (ctx: RewriteContext, out: ByteWriter, counter: number, depthUnits: number, entryDecrement: number): void {
  out.byte(0x0B) // end $ret
  out.byte(0x20); out.u32(counter)
  if (depthUnits > 0) { out.byte(0x42); out.sleb(depthUnits); out.byte(0x7C) } // i64.add
  out.byte(0x0F) // return
  out.byte(0x0B) // end $oof
  if (depthUnits > 0) {
    // The guard bit tells a depth underflow (only possible at entry) from an exhausted fuel.
    out.byte(0x20); out.u32(counter)
    out.byte(0x42); out.sleb(GUARD)
    out.byte(0x83) // i64.and
    out.byte(0x50) // i64.eqz
    out.byte(0x04); out.byte(0x40) // if
    writeOutOfFuel(ctx, out)
    out.byte(0x0B)
    // StackOverflow: publish the fuel as it was before this function's entry charge.
    out.byte(0x20); out.u32(counter)
    out.byte(0x42); out.sleb(entryDecrement)
    out.byte(0x7C) // i64.add
    out.byte(0x42); out.sleb(SHIFT)
    out.byte(0x87) // i64.shr_s
    out.byte(0x24); out.u32(ctx.fuelGlobal)
    out.byte(0x41); out.sleb(TrapReason.StackOverflow)
    out.byte(0x24); out.u32(ctx.trapReasonGlobal)
    out.byte(0x00)
  } else {
    writeOutOfFuel(ctx, out)
  }
}
