/**
 * Functions added by `instrument()` at the end of the function index space:
 *
 * - an **export wrapper** per exported function, with the original type:
 *   it builds the counter from the fuel and depth globals, calls the
 *   instrumented function, publishes the remaining fuel, and canonicalizes
 *   float results (the host sees them);
 * - an **import adapter** per imported function, with the counter-extended
 *   type: it publishes fuel and depth (a host function may call back into the
 *   module, or charge fuel itself), canonicalizes float arguments (the host
 *   sees them), calls the import and rebuilds the counter afterwards.
 */

import { ByteWriter } from './bytes.js'
import { COUNTER_DEPTH_BITS } from './constants.js'
import type { NaNMode } from './function-rewriter.js'
import { writeCanonicalize } from './function-rewriter.js'
import type { FuncType } from './module-parser.js'

/** Globals and switches the stubs need. */
export interface StubContext {
  /** Thread the counter. */
  thread: boolean
  /** NaN strategy. */
  nan: NaNMode
  /** Call-depth budget. */
  maxCallDepth: number
  /** Fuel global index. */
  fuelGlobal: number
  /** Depth global index. */
  depthGlobal: number
}

const F32 = 0x7D
const F64 = 0x7C
const DEPTH_MASK = (1 << COUNTER_DEPTH_BITS) - 1

/** Pushes the counter built from the globals: `fuel << 16 | (maxCallDepth − depth)`. */
function pushCounter (w: ByteWriter, ctx: StubContext): void {
  w.byte(0x23); w.u32(ctx.fuelGlobal)
  w.byte(0x42); w.sleb(COUNTER_DEPTH_BITS)
  w.byte(0x86) // i64.shl
  w.byte(0x42); w.sleb(ctx.maxCallDepth)
  w.byte(0x23); w.u32(ctx.depthGlobal)
  w.byte(0xAC) // i64.extend_i32_s
  w.byte(0x7D) // i64.sub
  w.byte(0x84) // i64.or
}

/**
 * Body of the export wrapper of `functionIndex` (type `type`): original
 * signature, calls the instrumented function.
 */
export function exportWrapperBody (ctx: StubContext, type: FuncType, functionIndex: number): ByteWriter {
  const w = new ByteWriter(64)
  const results = type.results
  const params = type.params.length
  const canonicalize = ctx.nan === 'boundary' && results.some(t => t === F32 || t === F64)
  // Locals: one per result when several must be spilled; else one temp of the float type.
  const spill = canonicalize && results.length > 1
  if (spill) {
    w.u32(results.length)
    for (const t of results) { w.byte(1); w.byte(t) }
  } else if (canonicalize) {
    w.u32(1); w.byte(1); w.byte(results[0] as number)
  } else {
    w.u32(0)
  }
  for (let i = 0; i < params; i++) { w.byte(0x20); w.u32(i) }
  if (ctx.thread) pushCounter(w, ctx)
  w.byte(0x10); w.u32(functionIndex)
  if (ctx.thread) {
    w.byte(0x42); w.sleb(COUNTER_DEPTH_BITS)
    w.byte(0x87) // i64.shr_s
    w.byte(0x24); w.u32(ctx.fuelGlobal)
  }
  if (spill) {
    for (let i = results.length - 1; i >= 0; i--) { w.byte(0x21); w.u32(params + i) }
    for (let i = 0; i < results.length; i++) {
      w.byte(0x20); w.u32(params + i)
      const t = results[i]
      if (t === F32 || t === F64) writeCanonicalize(w, t === F32 ? 1 : 2, params + i)
    }
  } else if (canonicalize) {
    writeCanonicalize(w, results[0] === F32 ? 1 : 2, params)
  }
  w.byte(0x0B)
  return w
}

/** Body of the adapter of import `importIndex` (type `type`): extended signature when threading. */
export function importAdapterBody (ctx: StubContext, type: FuncType, importIndex: number): ByteWriter {
  const w = new ByteWriter(64)
  const params = type.params
  const counter = params.length
  const canonicalize = ctx.nan === 'boundary'
  const hasF32 = canonicalize && params.includes(F32)
  const hasF64 = canonicalize && params.includes(F64)
  const firstTemp = counter + (ctx.thread ? 1 : 0)
  const f32Temp = firstTemp
  const f64Temp = firstTemp + (hasF32 ? 1 : 0)
  w.u32((hasF32 ? 1 : 0) + (hasF64 ? 1 : 0))
  if (hasF32) { w.byte(1); w.byte(F32) }
  if (hasF64) { w.byte(1); w.byte(F64) }
  if (ctx.thread) {
    // Publish fuel and depth for the host (and for re-entrant calls into exports).
    w.byte(0x20); w.u32(counter)
    w.byte(0x42); w.sleb(COUNTER_DEPTH_BITS)
    w.byte(0x87) // i64.shr_s
    w.byte(0x24); w.u32(ctx.fuelGlobal)
    w.byte(0x41); w.sleb(ctx.maxCallDepth)
    w.byte(0x20); w.u32(counter)
    w.byte(0xA7) // i32.wrap_i64
    w.byte(0x41); w.sleb(DEPTH_MASK >> 1)
    w.byte(0x71) // i32.and
    w.byte(0x6B) // i32.sub
    w.byte(0x24); w.u32(ctx.depthGlobal)
  }
  for (let i = 0; i < params.length; i++) {
    w.byte(0x20); w.u32(i)
    const t = params[i]
    if (canonicalize && t === F32) writeCanonicalize(w, 1, f32Temp)
    else if (canonicalize && t === F64) writeCanonicalize(w, 2, f64Temp)
  }
  w.byte(0x10); w.u32(importIndex)
  if (ctx.thread) {
    // Rebuild the counter: the host may have charged fuel; depth is unchanged.
    w.byte(0x23); w.u32(ctx.fuelGlobal)
    w.byte(0x42); w.sleb(COUNTER_DEPTH_BITS)
    w.byte(0x86) // i64.shl
    w.byte(0x20); w.u32(counter)
    w.byte(0x42); w.sleb(DEPTH_MASK)
    w.byte(0x83) // i64.and
    w.byte(0x84) // i64.or
  }
  w.byte(0x0B)
  return w
}
