/**
 * First pass over each function body: decodes every instruction, rejects
 * disallowed opcodes, checks immediates and block nesting, and gathers what
 * the rewriter needs (frame size estimate, whether the function calls,
 * which scratch locals it needs). Type checking proper is left to the
 * engine (`WebAssembly.validate`), which runs afterwards.
 */

import { ByteReader } from './bytes.js'
import { FRAME_UNIT_BYTES } from './constants.js'
import type { SandboxLimits } from './constants.js'
import { LimitExceededError, UnsupportedFeatureError } from './errors.js'
import type { CostTable } from './cost-table.js'
import type { FuncType, ParsedModule } from './module-parser.js'
import { readHeapType, readValType } from './module-parser.js'
import {
  FC_POPS, FC_PUSHES, IMMEDIATES, IMM_BLOCK_TYPE, IMM_BR_TABLE, IMM_CALL_INDIRECT, IMM_F32, IMM_F64, IMM_FUNC,
  IMM_GLOBAL, IMM_I32, IMM_I64, IMM_LABEL, IMM_LOCAL, IMM_MEM_ARG, IMM_MEM_IDX, IMM_NONE, IMM_PREFIX_FC,
  IMM_REF_TYPE, IMM_SELECT_TYPED, IMM_TABLE, IMM_UNSUPPORTED, MAX_FC_SUBOP, NAN_RESULT, OpFC, POPS, PUSHES,
  unsupportedOpcodeFeature
} from './opcodes.js'

/** What the scanner learned about one defined function. */
export interface FunctionInfo {
  /** Offset of the first instruction (just after the local declarations). */
  codeStart: number
  /** Parameters plus declared locals. */
  localCount: number
  /** Deepest operand stack seen. */
  maxStackHeight: number
  /** Estimated native frame size in call-depth units (at least 1). */
  frameUnits: number
  /** Number of parameters. */
  paramCount: number
  /** Contains `call` or `call_indirect`. */
  calls: boolean
  /** Contains `call_indirect`. */
  callsIndirect: boolean
  /** Contains `memory.grow`, `table.grow` or a bulk memory/table op (needs i32 scratch locals). */
  dynamicCosts: boolean
  /** Contains an f32 op whose NaN result is not bit-exact (eager canonicalization). */
  nanF32: boolean
  /** Contains an f64 op whose NaN result is not bit-exact (eager canonicalization). */
  nanF64: boolean
  /** Contains an f32 observation point: f32.store, i32.reinterpret_f32, f32.copysign, global.set of an f32 global. */
  observesF32: boolean
  /** Contains an f64 observation point (as {@link observesF32}). */
  observesF64: boolean
  /**
   * Fuel to charge at the start of each metered block, in the order the
   * blocks start (function entry, then after each `loop`, `if`, `else` and
   * non-final `end`). Empty when no cost table was given.
   */
  runCosts: number[]
}

/** Block type decoded to arities. */
interface BlockArity { params: number, results: number }

const EMPTY_ARITY: BlockArity = { params: 0, results: 0 }
const ONE_RESULT: BlockArity = { params: 0, results: 1 }

/** Reads a block type and returns its arities. */
export function readBlockType (reader: ByteReader, types: FuncType[], module: ParsedModule): BlockArity {
  const at = reader.pos
  if (at >= reader.end) reader.fail('unexpected end of data in block type')
  const b = reader.bytes[at] as number
  if (b === 0x40) {
    reader.pos++
    return EMPTY_ARITY
  }
  if (b >= 0x40 && b < 0x80) {
    readValType(reader)
    return ONE_RESULT
  }
  const index = reader.s33()
  const type = types[index]
  if (index < 0 || type === undefined) reader.fail(`block type index ${index} out of range`, at)
  module.features.multiValue = true
  return { params: type.params.length, results: type.results.length }
}

const controlScratch = {
  base: new Int32Array(64),
  params: new Int32Array(64),
  results: new Int32Array(64),
  isIf: new Uint8Array(64),
  preRun: new Int32Array(64),
  thenRun: new Int32Array(64),
  elseRun: new Int32Array(64)
}

/** Scans all function bodies of a parsed module; with a cost table, also computes the fuel of each metered block. */
export function scanFunctions (module: ParsedModule, limits: SandboxLimits, costs?: CostTable): FunctionInfo[] {
  const infos: FunctionInfo[] = []
  for (let i = 0; i < module.bodies.length; i++) infos.push(scanFunction(module, i, limits, costs))
  return infos
}

/**
 * Scans the body of defined function `definedIndex`.
 *
 * Metered blocks ("runs") are straight-line stretches: one starts at the
 * function entry and after every `loop`, `if`, `else` and `end`. A run's
 * cost is the sum of its instructions' costs, up to an unconditional branch
 * (`br`, `br_table`, `return`, `unreachable`) after which the rest is dead.
 * For an `if` with an `else`, the cheaper arm's first run is moved into the
 * run that holds the `if` (and taken off both arms): exactly one arm runs,
 * so the total is unchanged, and one arm needs no check at all.
 */
export function scanFunction (module: ParsedModule, definedIndex: number, limits: SandboxLimits, costs?: CostTable): FunctionInfo {
  const body = module.bodies[definedIndex]
  if (body === undefined) throw new RangeError(`no body ${definedIndex}`)
  const reader: ByteReader = new ByteReader(module.bytes, body.start, body.end)
  const functionIndex = module.importedFunctions + definedIndex
  const bodySize = body.end - body.start
  if (bodySize > limits.maxFunctionBodyBytes) throw new LimitExceededError('maxFunctionBodyBytes', bodySize, limits.maxFunctionBodyBytes, `function ${functionIndex} body size`)
  const types = module.types
  const ownType = types[module.functionTypes[functionIndex] as number] as FuncType

  // Local declarations.
  let localCount = ownType.params.length
  const groups = reader.u32()
  for (let g = 0; g < groups; g++) {
    const n = reader.u32()
    readValType(reader)
    localCount += n
    if (localCount > limits.maxLocalsPerFunction) throw new LimitExceededError('maxLocalsPerFunction', localCount, limits.maxLocalsPerFunction, `function ${functionIndex} locals`)
  }
  const codeStart = reader.pos

  const functionCount = module.functionTypes.length
  const globalCount = module.globalTypes.length
  const tableCount = module.tables.length
  const features = module.features

  // Control stack: base height and arities of each open block (reused across calls).
  let ctlBase = controlScratch.base
  let ctlParams = controlScratch.params
  let ctlResults = controlScratch.results
  let ctlIsIf = controlScratch.isIf // 1 for an `if` still waiting for its `else`
  let depth = 1
  ctlBase[0] = 0
  ctlParams[0] = 0
  ctlResults[0] = ownType.results.length
  let height = 0
  let maxHeight = 0

  let calls = false
  let callsIndirect = false
  let observesF32 = false
  let observesF64 = false
  let dynamicCosts = false
  let nanF32 = false
  let nanF64 = false

  // Metered blocks.
  const opCosts = costs?.opcodes
  const runCosts: number[] = [0]
  let run = 0
  let dead = false
  const startRun = (): void => {
    runCosts.push(0)
    run++
    dead = false
  }
  let ctlPreRun = controlScratch.preRun // run holding the `if` (-1: dead there, no hoisting)
  let ctlThenRun = controlScratch.thenRun
  let ctlElseRun = controlScratch.elseRun

  const bytes = module.bytes
  const end = body.end
  while (true) {
    if (reader.pos >= end) reader.fail(`function ${functionIndex} body ends without its final end`)
    const at = reader.pos
    const op = bytes[reader.pos++] as number
    const imm = IMMEDIATES[op] as number
    if (opCosts !== undefined && !dead && op !== 0xFC) runCosts[run] = (runCosts[run] as number) + (opCosts[op] as number)
    let pops = POPS[op] as number
    let pushes = PUSHES[op] as number
    switch (imm) {
      case IMM_NONE:
        switch (op) {
          case 0x00:
          case 0x0F:
            height = ctlBase[depth - 1] as number
            dead = true
            continue
          case 0x05: {
            if (ctlIsIf[depth - 1] !== 1) reader.fail('else without matching if', at)
            height = (ctlBase[depth - 1] as number) + (ctlParams[depth - 1] as number)
            ctlIsIf[depth - 1] = 0
            startRun()
            ctlElseRun[depth - 1] = run
            continue
          }
          case 0x0B: {
            depth--
            if (depth === 0) {
              if (reader.pos !== end) reader.fail(`function ${functionIndex} has bytes after its final end`, reader.pos)
              const frameBytes = frameBytesEstimate(localCount, maxHeight)
              return {
                codeStart,
                localCount,
                maxStackHeight: maxHeight,
                frameUnits: Math.max(1, Math.ceil(frameBytes / FRAME_UNIT_BYTES)),
                paramCount: ownType.params.length,
                calls,
                callsIndirect,
                observesF32,
                observesF64,
                runCosts: opCosts === undefined ? [] : runCosts,
                dynamicCosts,
                nanF32,
                nanF64
              }
            }
            height = (ctlBase[depth] as number) + (ctlResults[depth] as number)
            const elseRun = ctlElseRun[depth] as number
            const preRun = ctlPreRun[depth] as number
            if (opCosts !== undefined && elseRun >= 0 && preRun >= 0) {
              const thenRun = ctlThenRun[depth] as number
              const hoisted = Math.min(runCosts[thenRun] as number, runCosts[elseRun] as number)
              runCosts[preRun] = (runCosts[preRun] as number) + hoisted
              runCosts[thenRun] = (runCosts[thenRun] as number) - hoisted
              runCosts[elseRun] = (runCosts[elseRun] as number) - hoisted
            }
            startRun()
            continue
          }
          default:
            if (op >= 0xC0 && op <= 0xC4) features.signExtension = true
            else if (op === 0xD1) features.referenceTypes = true
            else if (NAN_RESULT[op] === 1) nanF32 = true
            else if (NAN_RESULT[op] === 2) nanF64 = true
            else if (op === 0xBC || op === 0x98) observesF32 = true // i32.reinterpret_f32, f32.copysign
            else if (op === 0xBD || op === 0xA6) observesF64 = true // i64.reinterpret_f64, f64.copysign
        }
        break
      case IMM_BLOCK_TYPE: {
        const arity = readBlockType(reader, types, module)
        if (arity.params > 0) features.multiValue = true
        if (op === 0x04) height--
        height -= arity.params
        if (height < (ctlBase[depth - 1] as number)) height = ctlBase[depth - 1] as number
        if (depth === ctlBase.length) {
          ctlBase = grow(ctlBase)
          ctlParams = grow(ctlParams)
          ctlResults = grow(ctlResults)
          const isIf = new Uint8Array(ctlIsIf.length * 2)
          isIf.set(ctlIsIf)
          ctlIsIf = isIf
          ctlPreRun = grow(ctlPreRun)
          ctlThenRun = grow(ctlThenRun)
          ctlElseRun = grow(ctlElseRun)
          controlScratch.base = ctlBase
          controlScratch.params = ctlParams
          controlScratch.results = ctlResults
          controlScratch.isIf = ctlIsIf
          controlScratch.preRun = ctlPreRun
          controlScratch.thenRun = ctlThenRun
          controlScratch.elseRun = ctlElseRun
        }
        ctlBase[depth] = height
        ctlParams[depth] = arity.params
        ctlResults[depth] = arity.results
        ctlIsIf[depth] = op === 0x04 ? 1 : 0
        ctlPreRun[depth] = dead ? -1 : run
        ctlElseRun[depth] = -1
        if (op !== 0x02) {
          startRun()
          ctlThenRun[depth] = run
        }
        depth++
        height += arity.params
        if (height > maxHeight) maxHeight = height
        continue
      }
      case IMM_LABEL: {
        const label = reader.u32()
        if (label >= depth) reader.fail(`branch label ${label} out of range`, at)
        if (op === 0x0C) {
          height = ctlBase[depth - 1] as number
          dead = true
          continue
        }
        pops = 1
        pushes = 0
        break
      }
      case IMM_BR_TABLE: {
        const count = reader.u32()
        if (count > reader.end - reader.pos) reader.fail('br_table larger than the function body', at)
        for (let t = 0; t <= count; t++) {
          const label = reader.u32()
          if (label >= depth) reader.fail(`br_table label ${label} out of range`, at)
        }
        height = ctlBase[depth - 1] as number
        dead = true
        continue
      }
      case IMM_FUNC: {
        const index = reader.u32()
        if (index >= functionCount) reader.fail(`function index ${index} out of range`, at)
        if (op === 0x10) {
          const type = types[module.functionTypes[index] as number] as FuncType
          pops = type.params.length
          pushes = type.results.length
          calls = true
        } else {
          features.referenceTypes = true
        }
        break
      }
      case IMM_CALL_INDIRECT: {
        const typeIndex = reader.u32()
        const type = types[typeIndex]
        if (type === undefined) reader.fail(`type index ${typeIndex} out of range`, at)
        const tableIndex = reader.u32()
        if (tableIndex >= tableCount) reader.fail(`table index ${tableIndex} out of range`, at)
        if (tableIndex !== 0) features.referenceTypes = true
        pops = type.params.length + 1
        pushes = type.results.length
        calls = true
        callsIndirect = true
        break
      }
      case IMM_LOCAL: {
        const index = reader.u32()
        if (index >= localCount) reader.fail(`local index ${index} out of range`, at)
        break
      }
      case IMM_GLOBAL: {
        const index = reader.u32()
        if (index >= globalCount) reader.fail(`global index ${index} out of range`, at)
        if (op === 0x24) {
          const type = module.globalTypes[index]
          if (type === 0x7D) observesF32 = true
          else if (type === 0x7C) observesF64 = true
        }
        break
      }
      case IMM_TABLE: {
        const index = reader.u32()
        if (index >= tableCount) reader.fail(`table index ${index} out of range`, at)
        features.referenceTypes = true
        break
      }
      case IMM_MEM_ARG: {
        const alignAt = reader.pos
        const align = reader.u32()
        if ((align & 0x40) !== 0) throw new UnsupportedFeatureError('multi-memory', alignAt, 'memory index in memarg')
        reader.u32()
        if (op === 0x38) observesF32 = true // f32.store
        else if (op === 0x39) observesF64 = true // f64.store
        break
      }
      case IMM_MEM_IDX: {
        const memAt = reader.pos
        if (reader.u32() !== 0) throw new UnsupportedFeatureError('multi-memory', memAt, 'memory index other than 0')
        if (op === 0x40) dynamicCosts = true
        break
      }
      case IMM_I32: reader.s32(); break
      case IMM_I64: reader.skipS64(); break
      case IMM_F32: reader.skip(4); break
      case IMM_F64: reader.skip(8); break
      case IMM_SELECT_TYPED: {
        const count = reader.u32()
        if (count !== 1) reader.fail('typed select must have exactly one type', at)
        readValType(reader)
        features.referenceTypes = true
        break
      }
      case IMM_REF_TYPE:
        readHeapType(reader)
        features.referenceTypes = true
        break
      case IMM_PREFIX_FC: {
        const sub = reader.u32()
        if (sub > MAX_FC_SUBOP) reader.fail(`unknown 0xFC opcode ${sub}`, at)
        pops = FC_POPS[sub] as number
        pushes = FC_PUSHES[sub] as number
        if (costs !== undefined && !dead) runCosts[run] = (runCosts[run] as number) + (costs.prefixedFC[sub] as number)
        if (sub < OpFC.memoryInit) {
          features.saturatingConversions = true
          break
        }
        switch (sub) {
          case OpFC.memoryInit: case OpFC.dataDrop: {
            const dataIndex = reader.u32()
            if (module.dataCount === undefined) reader.fail('memory.init and data.drop need a data count section', at)
            if (dataIndex >= module.dataCount) reader.fail(`data segment index ${dataIndex} out of range`, at)
            if (sub === OpFC.memoryInit) readMemoryZero(reader)
            features.bulkMemory = true
            break
          }
          case OpFC.memoryCopy: readMemoryZero(reader); readMemoryZero(reader); features.bulkMemory = true; break
          case OpFC.memoryFill: readMemoryZero(reader); features.bulkMemory = true; break
          case OpFC.tableInit: case OpFC.elemDrop: {
            const elemIndex = reader.u32()
            if (elemIndex >= module.elementSegments) reader.fail(`element segment index ${elemIndex} out of range`, at)
            if (sub === OpFC.tableInit) readTableIndex(reader, tableCount)
            features.bulkMemory = true
            break
          }
          case OpFC.tableCopy: readTableIndex(reader, tableCount); readTableIndex(reader, tableCount); features.bulkMemory = true; break
          default: readTableIndex(reader, tableCount); features.referenceTypes = true; break
        }
        if (sub !== OpFC.dataDrop && sub !== OpFC.elemDrop && sub !== OpFC.tableSize) dynamicCosts = true
        break
      }
      case IMM_UNSUPPORTED:
        throw new UnsupportedFeatureError(unsupportedOpcodeFeature(op), at, `opcode 0x${op.toString(16)}`)
      default:
        reader.fail(`unknown opcode 0x${op.toString(16)}`, at)
    }
    height -= pops
    if (height < (ctlBase[depth - 1] as number)) {
      // Only legal in unreachable code (polymorphic stack); the engine checks the rest.
      height = ctlBase[depth - 1] as number
    }
    height += pushes
    if (height > maxHeight) maxHeight = height
  }
}

/**
 * Estimated native frame size: V8's baseline compiler (Liftoff, the larger
 * frames) was measured at 48 bytes plus 8 per parameter or local; operand
 * stack values are spilled at calls, so count the deepest stack too.
 */
export function frameBytesEstimate (locals: number, maxStackHeight: number): number {
  return 48 + 8 * (locals + maxStackHeight)
}

function readMemoryZero (reader: ByteReader): void {
  const at = reader.pos
  if (reader.u32() !== 0) throw new UnsupportedFeatureError('multi-memory', at, 'memory index other than 0')
}

function readTableIndex (reader: ByteReader, tableCount: number): void {
  const at = reader.pos
  const index = reader.u32()
  if (index >= tableCount) reader.fail(`table index ${index} out of range`, at)
}

function grow (array: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const next = new Int32Array(array.length * 2)
  next.set(array)
  return next
}
