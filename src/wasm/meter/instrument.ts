/**
 * {@link instrument}: rewrites a validated module so that running it in V8
 * is bounded (fuel, call depth, memory) and bit-for-bit reproducible (NaN
 * canonicalization).
 *
 * What changes, and why indices stay valid:
 *
 * - Every defined function gets one extra i64 parameter and result, the
 *   *counter* (remaining fuel and call depth, see {@link COUNTER_DEPTH_BITS}),
 *   so metering state stays in registers. Its type becomes a new
 *   "extended" type appended to the type section; `call_indirect` uses the
 *   extended types too. Function indices do not change.
 * - Added functions go at the end of the function index space: one adapter
 *   per imported function (calls and `ref.func` of imports go through it) and
 *   one wrapper per exported function (exports point to it, with the
 *   original signature). See `stubs.ts`.
 * - Three globals are appended at the end of the global index space and
 *   exported: {@link FUEL_EXPORT} (mut i64, remaining fuel),
 *   {@link TRAP_REASON_EXPORT} (mut i32) and {@link DEPTH_EXPORT} (mut i32,
 *   depth in use; 0 at a call from the host).
 * - The start section is removed and the start function's wrapper exported
 *   as {@link START_EXPORT}, so the host can set the fuel first.
 * - Memory and table maxima are clamped to the limits; the `name` section's
 *   local names follow the renumbered locals; other custom sections are
 *   copied unchanged.
 *
 * Hosts must call functions only through exports: a function reached
 * through an exported table or returned as a `funcref` has the extended
 * signature.
 */

import { ByteWriter } from './bytes.js'
import { DEPTH_EXPORT, FUEL_EXPORT, START_EXPORT, TRAP_REASON_EXPORT } from './constants.js'
import type { SandboxLimits } from './constants.js'
import { DEFAULT_COST_TABLE, checkCostTable } from './cost-table.js'
import type { CostTable } from './cost-table.js'
import { rewriteFunction } from './function-rewriter.js'
import type { NaNMode, RewriteContext } from './function-rewriter.js'
import type { FuncType, Limits, SectionRange } from './module-parser.js'
import { declarativeSegment, rewriteElements, rewriteGlobals, rewriteNameSection } from './sections.js'
import { exportWrapperBody, importAdapterBody } from './stubs.js'
import type { StubContext } from './stubs.js'
import type { ModuleSummary } from './summary.js'
import { analyzeModule, resolveLimits } from './validate.js'

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Overrides of the default {@link SandboxLimits}; `maxMemoryPages` and `maxTableElements` become the declared maxima, `maxCallDepth` the depth budget. */
  limits?: Partial<SandboxLimits>
  /** Imports the host provides (`"module.name"` or `"module.*"`). @default none */
  allowedImports?: ReadonlySet<string>
  /** Charge fuel. Turn off only to measure overheads. @default true */
  fuel?: boolean
  /** Enforce the call-depth limit. Turn off only to measure overheads. @default true */
  callDepth?: boolean
  /** NaN canonicalization strategy (see {@link NaNMode}). `'off'` only to measure overheads. @default 'boundary' */
  nanCanonicalization?: NaNMode
  /** Fuel weights. @default {@link DEFAULT_COST_TABLE} */
  costTable?: CostTable
  /** Also run `WebAssembly.validate` on the input (typing rules our decoder does not check). @default true */
  engineValidation?: boolean
}

/** Where the instrumentation put its handles. */
export interface InstrumentationExports {
  /** Export name of the fuel global (mut i64, remaining fuel). */
  fuel: string
  /** Export name of the trap-reason global (mut i32, a `TrapReason`). */
  trapReason: string
  /** Export name of the call-depth global (mut i32, set to 0 before each call from the host). */
  depth: string
  /** Export name of the former start function, if the module had one. */
  start: string | undefined
}

/** Result of {@link instrument}. */
export interface InstrumentResult {
  /** The instrumented module. */
  bytes: Uint8Array
  /** Summary of the original module. */
  summary: ModuleSummary
  /** Names of the exports added by the instrumentation. */
  exports: InstrumentationExports
}

const SECTION_RANK: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 }
const GLOBAL_RANK = 7
const EXPORT_RANK = 8
const ELEMENT_RANK = 10
const CODE_RANK = 12
const I64 = 0x7E

function writeSection (out: ByteWriter, id: number, content: ByteWriter): void {
  out.byte(id)
  out.u32(content.length)
  out.copy(content.buf, 0, content.length)
}

function writeClampedLimits (w: ByteWriter, limits: Limits, cap: number): void {
  w.byte(0x01)
  w.u32(limits.min)
  w.u32(limits.max === undefined ? cap : Math.min(limits.max, cap))
}

function encodeFuncType (params: ArrayLike<number>, results: ArrayLike<number>): Uint8Array {
  const w = new ByteWriter(8 + params.length + results.length)
  w.byte(0x60)
  w.u32(params.length)
  for (let i = 0; i < params.length; i++) w.byte(params[i] as number)
  w.u32(results.length)
  for (let i = 0; i < results.length; i++) w.byte(results[i] as number)
  return w.toBytes()
}

/** Reads a vector section's count; `pos` is the first entry. */
function vectorStart (bytes: Uint8Array, range: SectionRange): { count: number, pos: number } {
  let pos = range.contentStart
  let count = 0
  let shift = 0
  while (true) {
    const b = bytes[pos++] as number
    count += (b & 0x7F) * 2 ** shift
    if ((b & 0x80) === 0) break
    shift += 7
  }
  return { count, pos }
}

/**
 * Instruments a module for deterministic, bounded execution.
 *
 * The module is validated first exactly as by `validateModule` (same named
 * errors). Host protocol (done by `MeteredInstance` in `host.ts`): before a
 * call from outside, set the fuel global to the remaining budget (a
 * `bigint`), the depth and trap-reason globals to 0; call `__ipvm_start` once
 * first if it exists. After a call, `fuelUsed = limit − remaining`. A trap
 * with trap reason 1 is OutOfFuel (remaining fuel is then 0), 2 is
 * StackOverflow, 0 a trap of the guest's own.
 *
 * @example
 * ```ts
 * const { bytes: metered } = instrument(original, { limits: { maxMemoryPages: 256 } })
 * const instance = new WebAssembly.Instance(new WebAssembly.Module(metered))
 * const run = new MeteredInstance(instance, 1_000_000n)
 * console.log(run.call('main'), run.fuelUsed)
 * ```
 */
export function instrument (bytes: Uint8Array, options: InstrumentOptions = {}): InstrumentResult {
  const costs = options.costTable ?? DEFAULT_COST_TABLE
  if (options.costTable !== undefined) checkCostTable(costs)
  const nan: NaNMode = options.nanCanonicalization ?? 'boundary'
  if (nan !== 'boundary' && nan !== 'eager' && nan !== 'off') throw new RangeError(`nanCanonicalization must be 'boundary', 'eager' or 'off', got ${String(nan)}`)
  const limits = resolveLimits(options.limits)
  const fuel = options.fuel ?? true
  const analyzed = analyzeModule(bytes, {
    limits,
    allowedImports: options.allowedImports ?? new Set(),
    engineValidation: options.engineValidation ?? true,
    costs: fuel ? costs : undefined
  })
  const module = analyzed.module
  const callDepth = options.callDepth ?? true
  const thread = fuel || callDepth
  const stubs = thread || nan === 'boundary'

  const importedCount = module.importedFunctions
  const functionCount = module.functionTypes.length
  const definedCount = functionCount - importedCount
  const fuelGlobal = module.globalTypes.length

  // Types appended after the original ones, deduplicated by encoding.
  const extraTypes: Uint8Array[] = []
  const typeIndexByKey = new Map<string, number>()
  const addType = (params: ArrayLike<number>, results: ArrayLike<number>): number => {
    const encoded = encodeFuncType(params, results)
    const key = encoded.join(',')
    let index = typeIndexByKey.get(key)
    if (index === undefined) {
      index = module.types.length + extraTypes.length
      extraTypes.push(encoded)
      typeIndexByKey.set(key, index)
    }
    return index
  }
  const extendedTypes = new Map<number, number>()
  const extendedType = (typeIndex: number): number => {
    if (!thread) return typeIndex
    let index = extendedTypes.get(typeIndex)
    if (index === undefined) {
      const type = module.types[typeIndex] as FuncType
      index = addType([...type.params, I64], [...type.results, I64])
      extendedTypes.set(typeIndex, index)
    }
    return index
  }
  const resultBlocks = new Map<number, Uint8Array>()
  const resultBlock = (typeIndex: number): Uint8Array => {
    let encoded = resultBlocks.get(typeIndex)
    if (encoded !== undefined) return encoded
    const results = (module.types[typeIndex] as FuncType).results
    const w = new ByteWriter(8)
    w.byte(0x02)
    if (results.length === 0) w.byte(0x40)
    else if (results.length === 1) w.byte(results[0] as number)
    else {
      let found = module.types.findIndex(t => t.params.length === 0 && sameTypes(t.results, results))
      if (found < 0) found = addType([], results)
      w.sleb(found)
    }
    encoded = w.toBytes()
    resultBlocks.set(typeIndex, encoded)
    return encoded
  }

  // Added functions: adapters (one per import), then export wrappers.
  const adapterBase = stubs ? functionCount : -1
  const wrapperIndex = new Map<number, number>()
  let nextFunction = functionCount + (stubs ? importedCount : 0)
  const wrapperFor = (functionIndex: number): number => {
    let index = wrapperIndex.get(functionIndex)
    if (index === undefined) {
      index = nextFunction++
      wrapperIndex.set(functionIndex, index)
    }
    return index
  }
  const exportTarget = (functionIndex: number): number => stubs && functionIndex >= importedCount ? wrapperFor(functionIndex) : functionIndex
  for (const entry of module.exports) if (entry.kind === 'function') exportTarget(entry.index)
  const startTarget = module.start === undefined ? undefined : exportTarget(module.start)
  const mapFunction = (index: number): number => stubs && index < importedCount ? adapterBase + index : index

  const ctx: RewriteContext = {
    bytes,
    costs,
    fuel,
    callDepth,
    thread,
    nan,
    maxCallDepth: limits.maxCallDepth,
    fuelGlobal,
    trapReasonGlobal: fuelGlobal + 1,
    globalTypes: module.globalTypes,
    importedFunctions: importedCount,
    adapterBase,
    extendedType
  }
  const stubCtx: StubContext = { thread, nan, maxCallDepth: limits.maxCallDepth, fuelGlobal, depthGlobal: fuelGlobal + 2 }

  // Function section entries.
  const functionTypeEntries: number[] = []
  for (let i = importedCount; i < functionCount; i++) functionTypeEntries.push(extendedType(module.functionTypes[i] as number))
  if (stubs) for (let i = 0; i < importedCount; i++) functionTypeEntries.push(extendedType(module.functionTypes[i] as number))
  const wrappers = [...wrapperIndex.entries()].sort((a, b) => a[1] - b[1])
  for (const [original] of wrappers) functionTypeEntries.push(module.functionTypes[original] as number)

  // Code section.
  const code = new ByteWriter(Math.ceil(bytes.length * 2.3) + 1024) // bodies grow about 2×
  const body = new ByteWriter(4096)
  code.u32(functionTypeEntries.length)
  for (let i = 0; i < definedCount; i++) {
    const range = module.bodies[i] as { start: number, end: number }
    const info = analyzed.functions[i]
    if (info === undefined) throw new Error('internal: missing function info')
    body.length = 0
    rewriteFunction(ctx, { start: range.start, end: range.end, info, resultBlock: resultBlock(module.functionTypes[importedCount + i] as number) }, body)
    code.u32(body.length)
    code.copy(body.buf, 0, body.length)
  }
  const appendBody = (w: ByteWriter): void => {
    code.u32(w.length)
    code.copy(w.buf, 0, w.length)
  }
  if (stubs) for (let i = 0; i < importedCount; i++) appendBody(importAdapterBody(stubCtx, module.types[module.functionTypes[i] as number] as FuncType, i))
  for (const [original] of wrappers) appendBody(exportWrapperBody(stubCtx, module.types[module.functionTypes[original] as number] as FuncType, original))

  // Assemble, section by section.
  const out = new ByteWriter(code.length + bytes.length + 256)
  out.copy(bytes, 0, 8)
  let typesDone = false
  let functionsDone = false
  let globalsDone = false
  let exportsDone = false
  let elementsDone = false
  // Adapters replace imports in `ref.func`; declare them, in case an import was declared only by
  // being exported (exports of imports are kept as they are).
  const adapterDeclarations = stubs && importedCount > 0 ? [declarativeSegment(Array.from({ length: importedCount }, (_x, i) => adapterBase + i))] : []
  const emitElements = (range: SectionRange | undefined): void => {
    elementsDone = true
    if (range === undefined && adapterDeclarations.length === 0) return
    if (range !== undefined && adapterDeclarations.length === 0) { out.copy(bytes, range.start, range.end); return }
    writeSection(out, 9, rewriteElements(bytes, range, mapFunction, adapterDeclarations))
  }
  let codeDone = false
  const emitCode = (): void => {
    codeDone = true
    if (functionTypeEntries.length > 0) writeSection(out, 10, code)
  }
  const newGlobals = [
    new Uint8Array([0x7E, 0x01, 0x42, 0x00, 0x0B]), // fuel: mut i64 = 0
    new Uint8Array([0x7F, 0x01, 0x41, 0x00, 0x0B]), // trap reason: mut i32 = 0
    new Uint8Array([0x7F, 0x01, 0x41, 0x00, 0x0B]) // depth: mut i32 = 0
  ]
  const emitTypes = (range: SectionRange | undefined): void => {
    typesDone = true
    if (range !== undefined && extraTypes.length === 0) { out.copy(bytes, range.start, range.end); return }
    if (range === undefined && extraTypes.length === 0) return
    const w = new ByteWriter(256)
    if (range === undefined) w.u32(extraTypes.length)
    else {
      const v = vectorStart(bytes, range)
      w.u32(v.count + extraTypes.length)
      w.copy(bytes, v.pos, range.end)
    }
    for (const entry of extraTypes) w.bytes(entry)
    writeSection(out, 1, w)
  }
  const emitFunctions = (): void => {
    functionsDone = true
    if (functionTypeEntries.length === 0) return
    const w = new ByteWriter(functionTypeEntries.length * 2 + 8)
    w.u32(functionTypeEntries.length)
    for (const typeIndex of functionTypeEntries) w.u32(typeIndex)
    writeSection(out, 3, w)
  }
  const emitGlobals = (range: SectionRange | undefined): void => {
    globalsDone = true
    writeSection(out, 6, rewriteGlobals(bytes, range, mapFunction, newGlobals))
  }
  const emitExports = (range: SectionRange | undefined): void => {
    exportsDone = true
    const w = new ByteWriter(256)
    w.u32(module.exports.length + 3 + (startTarget !== undefined ? 1 : 0))
    if (range !== undefined) {
      let pos = vectorStart(bytes, range).pos
      for (const entry of module.exports) {
        // Name bytes are copied as they are; the kind and index re-encoded.
        let nameLength = 0
        let shift = 0
        const nameStart = pos
        while (true) {
          const b = bytes[pos++] as number
          nameLength += (b & 0x7F) * 2 ** shift
          if ((b & 0x80) === 0) break
          shift += 7
        }
        pos += nameLength
        w.copy(bytes, nameStart, pos)
        pos++ // kind
        while (((bytes[pos++] as number) & 0x80) !== 0) { /* index */ }
        const kindByte = ['function', 'table', 'memory', 'global'].indexOf(entry.kind)
        w.byte(kindByte)
        w.u32(entry.kind === 'function' ? exportTarget(entry.index) : entry.index)
      }
    }
    w.name(FUEL_EXPORT); w.byte(0x03); w.u32(fuelGlobal)
    w.name(TRAP_REASON_EXPORT); w.byte(0x03); w.u32(fuelGlobal + 1)
    w.name(DEPTH_EXPORT); w.byte(0x03); w.u32(fuelGlobal + 2)
    if (startTarget !== undefined) { w.name(START_EXPORT); w.byte(0x00); w.u32(startTarget) }
    writeSection(out, 7, w)
  }

  for (const range of module.sections) {
    const rank = SECTION_RANK[range.id] ?? 0
    if (rank > 1 && !typesDone) emitTypes(undefined)
    if (rank > 3 && !functionsDone) emitFunctions()
    if (rank > GLOBAL_RANK && !globalsDone) emitGlobals(undefined)
    if (rank > EXPORT_RANK && !exportsDone) emitExports(undefined)
    if (rank > ELEMENT_RANK && !elementsDone) emitElements(undefined)
    if (rank > CODE_RANK && !codeDone) emitCode()
    switch (range.id) {
      case 0: {
        const name = module.customSections[module.sections.filter(s => s.id === 0).indexOf(range)]
        if (name === 'name' && thread) {
          const nameEnd = nameContentStart(bytes, range)
          const rewritten = rewriteNameSection(bytes, nameEnd, range.end, importedCount, index => module.types[module.functionTypes[index] as number]?.params.length)
          if (rewritten !== undefined) {
            const w = new ByteWriter(rewritten.length + 8)
            w.copy(bytes, range.contentStart, nameEnd)
            w.copy(rewritten.buf, 0, rewritten.length)
            writeSection(out, 0, w)
            break
          }
        }
        out.copy(bytes, range.start, range.end)
        break
      }
      case 1: emitTypes(range); break
      case 2: { // imports: clamp imported memory and table maxima
        const v = vectorStart(bytes, range)
        const w = new ByteWriter(range.end - range.start + 16)
        w.u32(v.count)
        for (const entry of module.imports) {
          if (entry.kind === 'memory' || entry.kind === 'table') {
            w.copy(bytes, entry.start, entry.limitsStart)
            writeClampedLimits(w, entry.limits as Limits, entry.kind === 'memory' ? limits.maxMemoryPages : limits.maxTableElements)
          } else {
            w.copy(bytes, entry.start, entry.end)
          }
        }
        writeSection(out, 2, w)
        break
      }
      case 3: emitFunctions(); break
      case 4: { // tables: clamp maxima
        const v = vectorStart(bytes, range)
        const w = new ByteWriter(range.end - range.start + 16)
        w.u32(v.count)
        let at = v.pos
        for (const table of module.tables) {
          if (table.imported) continue
          w.copy(bytes, at, table.limitsStart)
          writeClampedLimits(w, table, limits.maxTableElements)
          at = table.limitsEnd
        }
        w.copy(bytes, at, range.end)
        writeSection(out, 4, w)
        break
      }
      case 5: { // memory: clamp the maximum
        const memory = module.memory
        if (memory === undefined || memory.imported) { out.copy(bytes, range.start, range.end); break }
        const w = new ByteWriter(16)
        w.u32(1)
        writeClampedLimits(w, memory, limits.maxMemoryPages)
        writeSection(out, 5, w)
        break
      }
      case 6: emitGlobals(range); break
      case 7: emitExports(range); break
      case 8: break // start: exported instead
      case 9: emitElements(range); break
      case 10: emitCode(); break
      default: out.copy(bytes, range.start, range.end)
    }
  }
  if (!typesDone) emitTypes(undefined)
  if (!functionsDone) emitFunctions()
  if (!globalsDone) emitGlobals(undefined)
  if (!exportsDone) emitExports(undefined)
  if (!elementsDone) emitElements(undefined)
  if (!codeDone) emitCode()

  return {
    bytes: out.toBytes(),
    summary: analyzed.summary,
    exports: { fuel: FUEL_EXPORT, trapReason: TRAP_REASON_EXPORT, depth: DEPTH_EXPORT, start: startTarget === undefined ? undefined : START_EXPORT }
  }
}

function sameTypes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Offset just after a custom section's name. */
function nameContentStart (bytes: Uint8Array, range: SectionRange): number {
  let pos = range.contentStart
  let length = 0
  let shift = 0
  while (true) {
    const b = bytes[pos++] as number
    length += (b & 0x7F) * 2 ** shift
    if ((b & 0x80) === 0) break
    shift += 7
  }
  return pos + length
}
