/**
 * Opcode numbers and per-opcode facts used by the decoder: how immediates
 * are encoded, fixed stack effects, and how an operator treats NaNs.
 * Covered: MVP, sign extension, saturating conversions (0xFC 0–7), bulk
 * memory and reference types (0xFC 8–17, 0x25/0x26, 0x1C, 0xD0–0xD2),
 * multi-value block types. Everything else is rejected by the decoder.
 */

/** Sub-opcodes after the 0xFC prefix. */
export const OpFC = Object.freeze({
  memoryInit: 8,
  dataDrop: 9,
  memoryCopy: 10,
  memoryFill: 11,
  tableInit: 12,
  elemDrop: 13,
  tableCopy: 14,
  tableGrow: 15,
  tableSize: 16,
  tableFill: 17
} as const)

/** Highest 0xFC sub-opcode supported. */
export const MAX_FC_SUBOP = 17

/** Value type bytes. */
export const ValType = Object.freeze({
  i32: 0x7F,
  i64: 0x7E,
  f32: 0x7D,
  f64: 0x7C,
  v128: 0x7B,
  funcref: 0x70,
  externref: 0x6F
} as const)

// How the immediates of an opcode are encoded (values of IMMEDIATES).
/** Not a valid opcode in the supported feature set. */
export const IMM_INVALID = 0
/** Immediate kind `none`. */
export const IMM_NONE = 1
/** Immediate kind `block_type`. */
export const IMM_BLOCK_TYPE = 2
/** Immediate kind `label`. */
export const IMM_LABEL = 3
/** Immediate kind `br_table`. */
export const IMM_BR_TABLE = 4
/** Immediate kind `func`. */
export const IMM_FUNC = 5
/** Immediate kind `call_indirect`. */
export const IMM_CALL_INDIRECT = 6
/** Immediate kind `local`. */
export const IMM_LOCAL = 7
/** Immediate kind `global`. */
export const IMM_GLOBAL = 8
/** Immediate kind `table`. */
export const IMM_TABLE = 9
/** Immediate kind `mem_arg`. */
export const IMM_MEM_ARG = 10
/** Immediate kind `mem_idx`. */
export const IMM_MEM_IDX = 11
/** Immediate kind `i32`. */
export const IMM_I32 = 12
/** Immediate kind `i64`. */
export const IMM_I64 = 13
/** Immediate kind `f32`. */
export const IMM_F32 = 14
/** Immediate kind `f64`. */
export const IMM_F64 = 15
/** Immediate kind `select_typed`. */
export const IMM_SELECT_TYPED = 16
/** Immediate kind `ref_type`. */
export const IMM_REF_TYPE = 17
/** 0xFC-prefixed. */
export const IMM_PREFIX_FC = 18
/** Prefix or opcode of a rejected feature (see {@link unsupportedOpcodeFeature}). */
export const IMM_UNSUPPORTED = 19

/** Immediate encoding per single-byte opcode. */
export const IMMEDIATES = new Uint8Array(256)
/** Operands popped by fixed-arity opcodes (255 = computed by the decoder). */
export const POPS = new Uint8Array(256)
/** Results pushed by fixed-arity opcodes. */
export const PUSHES = new Uint8Array(256)
/**
 * NaN behaviour of the result: 0 = no float NaN can come out that is not a
 * bit copy of an input; 1 = may produce a non-deterministic f32 NaN;
 * 2 = may produce a non-deterministic f64 NaN.
 */
export const NAN_RESULT = new Uint8Array(256)
/**
 * 1 when the opcode consumes the top of the stack in a way that cannot
 * observe the bits of a NaN there: its result is a canonicalized float, an
 * i32 comparison outcome, a trap, or nothing (drop).
 */
export const NAN_ABSORBS_TOP = new Uint8Array(256)

/** 0xFC sub-opcode pops (index = sub-opcode). */
export const FC_POPS = new Uint8Array([1, 1, 1, 1, 1, 1, 1, 1, 3, 0, 3, 3, 3, 0, 3, 2, 0, 3])
/** 0xFC sub-opcode pushes. */
export const FC_PUSHES = new Uint8Array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0])

function set (from: number, to: number, imm: number, pops: number, pushes: number): void {
  for (let op = from; op <= to; op++) {
    IMMEDIATES[op] = imm
    POPS[op] = pops
    PUSHES[op] = pushes
  }
}

const COMPUTED = 255
set(0x00, 0x01, IMM_NONE, 0, 0) // unreachable, nop
set(0x02, 0x04, IMM_BLOCK_TYPE, COMPUTED, COMPUTED) // block loop if
set(0x05, 0x05, IMM_NONE, COMPUTED, COMPUTED) // else
set(0x06, 0x0A, IMM_UNSUPPORTED, 0, 0) // try catch throw rethrow throw_ref
set(0x0B, 0x0B, IMM_NONE, COMPUTED, COMPUTED) // end
set(0x0C, 0x0D, IMM_LABEL, COMPUTED, COMPUTED) // br br_if
set(0x0E, 0x0E, IMM_BR_TABLE, COMPUTED, COMPUTED)
set(0x0F, 0x0F, IMM_NONE, COMPUTED, COMPUTED) // return
set(0x10, 0x10, IMM_FUNC, COMPUTED, COMPUTED)
set(0x11, 0x11, IMM_CALL_INDIRECT, COMPUTED, COMPUTED)
set(0x12, 0x15, IMM_UNSUPPORTED, 0, 0) // return_call, return_call_indirect, call_ref, return_call_ref
set(0x18, 0x19, IMM_UNSUPPORTED, 0, 0) // delegate, catch_all
set(0x1A, 0x1A, IMM_NONE, 1, 0) // drop
set(0x1B, 0x1B, IMM_NONE, 3, 1) // select
set(0x1C, 0x1C, IMM_SELECT_TYPED, 3, 1)
set(0x1F, 0x1F, IMM_UNSUPPORTED, 0, 0) // try_table
set(0x20, 0x20, IMM_LOCAL, 0, 1)
set(0x21, 0x21, IMM_LOCAL, 1, 0)
set(0x22, 0x22, IMM_LOCAL, 1, 1)
set(0x23, 0x23, IMM_GLOBAL, 0, 1)
set(0x24, 0x24, IMM_GLOBAL, 1, 0)
set(0x25, 0x25, IMM_TABLE, 1, 1) // table.get
set(0x26, 0x26, IMM_TABLE, 2, 0) // table.set
set(0x28, 0x35, IMM_MEM_ARG, 1, 1) // loads
set(0x36, 0x3E, IMM_MEM_ARG, 2, 0) // stores
set(0x3F, 0x3F, IMM_MEM_IDX, 0, 1) // memory.size
set(0x40, 0x40, IMM_MEM_IDX, 1, 1) // memory.grow
set(0x41, 0x41, IMM_I32, 0, 1)
set(0x42, 0x42, IMM_I64, 0, 1)
set(0x43, 0x43, IMM_F32, 0, 1)
set(0x44, 0x44, IMM_F64, 0, 1)
set(0x45, 0x45, IMM_NONE, 1, 1) // i32.eqz
set(0x46, 0x4F, IMM_NONE, 2, 1) // i32 comparisons
set(0x50, 0x50, IMM_NONE, 1, 1) // i64.eqz
set(0x51, 0x66, IMM_NONE, 2, 1) // i64, f32, f64 comparisons
set(0x67, 0x69, IMM_NONE, 1, 1) // i32 clz ctz popcnt
set(0x6A, 0x78, IMM_NONE, 2, 1) // i32 binary
set(0x79, 0x7B, IMM_NONE, 1, 1) // i64 clz ctz popcnt
set(0x7C, 0x8A, IMM_NONE, 2, 1) // i64 binary
set(0x8B, 0x91, IMM_NONE, 1, 1) // f32 unary
set(0x92, 0x98, IMM_NONE, 2, 1) // f32 binary
set(0x99, 0x9F, IMM_NONE, 1, 1) // f64 unary
set(0xA0, 0xA6, IMM_NONE, 2, 1) // f64 binary
set(0xA7, 0xC4, IMM_NONE, 1, 1) // conversions, reinterpretations, sign extension
set(0xD0, 0xD0, IMM_REF_TYPE, 0, 1) // ref.null
set(0xD1, 0xD1, IMM_NONE, 1, 1) // ref.is_null
set(0xD2, 0xD2, IMM_FUNC, 0, 1) // ref.func
set(0xD3, 0xD6, IMM_UNSUPPORTED, 0, 0) // ref.eq, ref.as_non_null, br_on_null, br_on_non_null
set(0xFB, 0xFB, IMM_UNSUPPORTED, 0, 0) // GC prefix
set(0xFC, 0xFC, IMM_PREFIX_FC, COMPUTED, COMPUTED)
set(0xFD, 0xFE, IMM_UNSUPPORTED, 0, 0) // SIMD, atomics

// f32 ops whose NaN result is not specified bit-for-bit: ceil floor trunc nearest sqrt, add sub mul div min max, demote.
for (const op of [0x8D, 0x8E, 0x8F, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0xB6]) NAN_RESULT[op] = 1
// The same for f64, and promote.
for (const op of [0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xBB]) NAN_RESULT[op] = 2
// Consumers that cannot observe NaN bits on top of the stack: the canonicalized
// ops themselves, float comparisons, trapping truncations, drop.
for (let op = 0; op < 256; op++) if (NAN_RESULT[op] !== 0) NAN_ABSORBS_TOP[op] = 1
for (let op = 0x5B; op <= 0x66; op++) NAN_ABSORBS_TOP[op] = 1
for (const op of [0xA8, 0xA9, 0xAA, 0xAB, 0xAE, 0xAF, 0xB0, 0xB1, 0x1A]) NAN_ABSORBS_TOP[op] = 1

/** The feature name reported for a rejected opcode or prefix. */
export function unsupportedOpcodeFeature (op: number): string {
  switch (op) {
    case 0xFD: return 'simd'
    case 0xFE: return 'threads'
    case 0xFB: return 'gc'
    case 0x12: case 0x13: return 'tail-call'
    case 0x14: case 0x15: case 0xD3: case 0xD4: case 0xD5: case 0xD6: return 'function-references'
    default: return 'exceptions'
  }
}
