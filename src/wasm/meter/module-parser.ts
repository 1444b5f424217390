/**
 * Section-level parser: reads every section of a core module into a
 * {@link ParsedModule}, checks structure, rejects disallowed features and
 * records the byte ranges the rewriter needs. Function bodies are only
 * located here; `code-scanner.ts` decodes them.
 */

import { ByteReader } from './bytes.js'
import { UnsupportedFeatureError } from './errors.js'
import { ValType } from './opcodes.js'

/** A function signature; value types are raw type bytes. */
export interface FuncType {
  /** Parameter types. */
  params: Uint8Array
  /** Result types. */
  results: Uint8Array
}

/** Declared limits of a memory or table. */
export interface Limits {
  /** Initial size (pages or elements). */
  min: number
  /** Maximum size, when declared. */
  max: number | undefined
}

/** Kind of an import or export. */
export type ExternKind = 'function' | 'table' | 'memory' | 'global'

/** One import. */
export interface ImportEntry {
  /** Module name. */
  module: string
  /** Field name. */
  name: string
  /** What is imported. */
  kind: ExternKind
  /** Type index, for functions. */
  typeIndex: number
  /** Limits, for tables and memories. */
  limits: Limits | undefined
  /** Byte range of the whole entry. */
  start: number
  /** End of the entry. */
  end: number
  /** Byte range of the limits (tables, memories), for rewriting. */
  limitsStart: number
  /** End of the limits. */
  limitsEnd: number
}

/** One export. */
export interface ExportEntry {
  /** Export name. */
  name: string
  /** Kind of the exported item. */
  kind: ExternKind
  /** Index in the kind's index space. */
  index: number
}

/** One table (imported or defined). */
export interface TableEntry extends Limits {
  /** `funcref` (0x70) or `externref` (0x6F). */
  refType: number
  /** True when imported. */
  imported: boolean
  /** Byte range of the limits, for rewriting (defined tables: within the table section). */
  limitsStart: number
  /** End of the limits. */
  limitsEnd: number
}

/** The one memory (imported or defined), if any. */
export interface MemoryEntry extends Limits {
  /** True when imported. */
  imported: boolean
}

/** A section's location. */
export interface SectionRange {
  /** Section id. */
  id: number
  /** Offset of the id byte. */
  start: number
  /** Offset of the first content byte. */
  contentStart: number
  /** One past the last content byte. */
  end: number
}

/** A function body's location in the module. */
export interface BodyRange {
  /** First byte of the body (the local declarations). */
  start: number
  /** One past the body's final `end`. */
  end: number
}

/** Features the module uses, beyond the MVP. */
export interface FeatureUse {
  /** Functions or blocks with more than one result, or block types with parameters. */
  multiValue: boolean
  /** `memory.init/copy/fill`, `data.drop`, passive data/element segments. */
  bulkMemory: boolean
  /** `externref`, typed select, `ref.*`, `table.*` instructions, several tables. */
  referenceTypes: boolean
  /** `i32.extend8_s` and friends. */
  signExtension: boolean
  /** `trunc_sat` conversions. */
  saturatingConversions: boolean
  /** Mutable globals that are imported or exported. */
  mutableGlobals: boolean
}

/** Everything the validator and rewriter need to know about a module. */
export interface ParsedModule {
  /** The module bytes. */
  bytes: Uint8Array
  /** Sections in file order (custom sections included). */
  sections: SectionRange[]
  /** Names of custom sections, in order. */
  customSections: string[]
  /** The type section. */
  types: FuncType[]
  /** Imports in order. */
  imports: ImportEntry[]
  /** Type index of every function (imported first). */
  functionTypes: number[]
  /** Number of imported functions. */
  importedFunctions: number
  /** Tables (imported first). */
  tables: TableEntry[]
  /** The memory, if any. */
  memory: MemoryEntry | undefined
  /** Byte range of the limits of the defined memory, if any. */
  memoryLimitsRange: [number, number] | undefined
  /** Value type of every global (imported first). */
  globalTypes: number[]
  /** Mutability of every global. */
  globalMutable: boolean[]
  /** Number of imported globals. */
  importedGlobals: number
  /** Exports in order. */
  exports: ExportEntry[]
  /** Start function index, if any. */
  start: number | undefined
  /** Number of element segments. */
  elementSegments: number
  /** Largest number of items in one element segment. */
  largestElementSegment: number
  /** Value of the data count section, if present. */
  dataCount: number | undefined
  /** Number of data segments. */
  dataSegments: number
  /** Total bytes over all data segments. */
  dataBytes: number
  /** Function bodies, one per defined function. */
  bodies: BodyRange[]
  /** Features seen at section level (the code scanner adds the rest). */
  features: FeatureUse
}

/** Rank of each known section id in the required order; custom sections (0) may appear anywhere. */
const SECTION_ORDER: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 }

const KIND_NAMES: ExternKind[] = ['function', 'table', 'memory', 'global']

/** Reads a value type byte, rejecting SIMD and the GC/typed-reference types. */
export function readValType (reader: ByteReader): number {
  const at = reader.pos
  const type = reader.u8()
  switch (type) {
    case ValType.i32: case ValType.i64: case ValType.f32: case ValType.f64:
    case ValType.funcref: case ValType.externref:
      return type
    case ValType.v128:
      throw new UnsupportedFeatureError('simd', at, 'v128 value type')
    case 0x64: case 0x63: case 0x6E: case 0x6D: case 0x6C: case 0x6B: case 0x6A: case 0x71: case 0x72: case 0x73:
      throw new UnsupportedFeatureError('gc', at, 'typed reference value type')
    case 0x69: case 0x74:
      throw new UnsupportedFeatureError('exceptions', at, 'exnref value type')
    default:
      return reader.fail(`unknown value type 0x${type.toString(16)}`, at)
  }
}

/** Reads a reference type (table element type, element segment type). */
function readRefType (reader: ByteReader): number {
  const at = reader.pos
  const type = readValType(reader)
  if (type !== ValType.funcref && type !== ValType.externref) reader.fail('expected a reference type', at)
  return type
}

function readLimits (reader: ByteReader, what: 'memory' | 'table'): Limits {
  const at = reader.pos
  const flags = reader.u8()
  if ((flags & 0x02) !== 0) {
    if (what === 'memory') throw new UnsupportedFeatureError('shared-memory', at, 'shared memory (threads)')
    reader.fail('invalid table limits flags', at)
  }
  if ((flags & 0x04) !== 0) throw new UnsupportedFeatureError(what === 'memory' ? 'memory64' : 'table64', at)
  if ((flags & 0x08) !== 0) throw new UnsupportedFeatureError('custom-page-sizes', at)
  if (flags > 1) reader.fail(`invalid limits flags 0x${flags.toString(16)}`, at)
  const min = reader.u32()
  const max = flags === 1 ? reader.u32() : undefined
  if (max !== undefined && max < min) reader.fail('limits maximum is below minimum', at)
  return { min, max }
}

/**
 * Skips a constant expression up to and including its `end`, allowing only
 * the constant instructions (plus the extended-constant arithmetic, which the
 * engine accepts or rejects itself).
 */
export function skipConstExpr (reader: ByteReader): void {
  while (true) {
    const at = reader.pos
    const op = reader.u8()
    switch (op) {
      case 0x0B: return
      case 0x41: reader.s32(); break
      case 0x42: reader.skipS64(); break
      case 0x43: reader.skip(4); break
      case 0x44: reader.skip(8); break
      case 0x23: reader.u32(); break // global.get
      case 0xD0: readHeapType(reader); break // ref.null
      case 0xD2: reader.u32(); break // ref.func
      case 0x6A: case 0x6B: case 0x6C: case 0x7C: case 0x7D: case 0x7E: break // extended-const
      case 0xFD: throw new UnsupportedFeatureError('simd', at, 'v128 constant')
      case 0xFB: throw new UnsupportedFeatureError('gc', at)
      default: reader.fail(`opcode 0x${op.toString(16)} is not allowed in a constant expression`, at)
    }
  }
}

/** Reads the heap type of `ref.null`. */
export function readHeapType (reader: ByteReader): number {
  const at = reader.pos
  const type = reader.u8()
  if (type === ValType.funcref || type === ValType.externref) return type
  if (type === 0x69 || type === 0x74) throw new UnsupportedFeatureError('exceptions', at, 'exn heap type')
  throw new UnsupportedFeatureError('gc', at, `heap type 0x${type.toString(16)}`)
}

/**
 * Parses the sections of a core module. Throws `InvalidModule` for
 * malformed input and `UnsupportedFeature` for rejected features met at
 * section level.
 */
export function parseModule (bytes: Uint8Array): ParsedModule {
  const reader: ByteReader = new ByteReader(bytes)
  if (bytes.length < 8) reader.fail('too short to be a WebAssembly module', 0)
  if (bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6D) reader.fail('bad magic number (not a WebAssembly module)', 0)
  if (bytes[4] === 0x0D && bytes[6] === 0x01 && bytes[7] === 0x00) throw new UnsupportedFeatureError('component-model', 4, 'a component, not a core module')
  if (bytes[4] !== 0x01 || bytes[5] !== 0x00 || bytes[6] !== 0x00 || bytes[7] !== 0x00) reader.fail('unsupported binary version', 4)
  reader.pos = 8

  const module: ParsedModule = {
    bytes,
    sections: [],
    customSections: [],
    types: [],
    imports: [],
    functionTypes: [],
    importedFunctions: 0,
    tables: [],
    memory: undefined,
    memoryLimitsRange: undefined,
    globalTypes: [],
    globalMutable: [],
    importedGlobals: 0,
    exports: [],
    start: undefined,
    elementSegments: 0,
    largestElementSegment: 0,
    dataCount: undefined,
    dataSegments: 0,
    dataBytes: 0,
    bodies: [],
    features: { multiValue: false, bulkMemory: false, referenceTypes: false, signExtension: false, saturatingConversions: false, mutableGlobals: false }
  }

  let lastRank = 0
  let definedFunctionCount: number | undefined
  while (!reader.done) {
    const start = reader.pos
    const id = reader.u8()
    const size = reader.u32()
    const contentStart = reader.pos
    if (size > bytes.length - contentStart) reader.fail(`section ${id} runs past the end of the module (truncated?)`, start)
    const end = contentStart + size
    if (id !== 0) {
      const rank = SECTION_ORDER[id]
      if (rank === undefined) reader.fail(`unknown section id ${id}`, start)
      if (rank <= lastRank) reader.fail(`section ${id} is out of order or duplicated`, start)
      lastRank = rank
    }
    module.sections.push({ id, start, contentStart, end })
    const section: ByteReader = new ByteReader(bytes, contentStart, end)
    switch (id) {
      case 0: module.customSections.push(section.name()); section.pos = end; break
      case 1: parseTypes(section, module); break
      case 2: parseImports(section, module); break
      case 3: {
        const count = section.u32()
        if (count > section.end - section.pos) section.fail('function count larger than the section')
        for (let i = 0; i < count; i++) module.functionTypes.push(section.u32())
        definedFunctionCount = count
        break
      }
      case 4: {
        const count = section.u32()
        for (let i = 0; i < count; i++) {
          const at = section.pos
          if (bytes[at] === 0x40) throw new UnsupportedFeatureError('function-references', at, 'table with an initializer')
          const refType = readRefType(section)
          const limitsStart = section.pos
          const limits = readLimits(section, 'table')
          module.tables.push({ ...limits, refType, imported: false, limitsStart, limitsEnd: section.pos })
          if (refType === ValType.externref) module.features.referenceTypes = true
        }
        break
      }
      case 5: {
        const count = section.u32()
        for (let i = 0; i < count; i++) {
          const limitsStart = section.pos
          const limits = readLimits(section, 'memory')
          if (module.memory !== undefined) throw new UnsupportedFeatureError('multi-memory', limitsStart, 'more than one memory')
          module.memory = { ...limits, imported: false }
          module.memoryLimitsRange = [limitsStart, section.pos]
        }
        break
      }
      case 6: {
        const count = section.u32()
        for (let i = 0; i < count; i++) {
          module.globalTypes.push(readValType(section))
          const mutAt = section.pos
          const mutability = section.u8()
          if (mutability > 1) section.fail('invalid global mutability', mutAt)
          module.globalMutable.push(mutability === 1)
          skipConstExpr(section)
        }
        break
      }
      case 7: parseExports(section, module); break
      case 8: module.start = section.u32(); break
      case 9: parseElements(section, module); break
      case 10: {
        const count = section.u32()
        if (definedFunctionCount === undefined ? count !== 0 : count !== definedFunctionCount) section.fail(`code section has ${count} bodies for ${definedFunctionCount ?? 0} declared functions`, contentStart)
        for (let i = 0; i < count; i++) {
          const bodySize = section.u32()
          const bodyStart = section.pos
          section.skip(bodySize)
          module.bodies.push({ start: bodyStart, end: section.pos })
        }
        break
      }
      case 11: parseData(section, module); break
      case 12: module.dataCount = section.u32(); break
      case 13: throw new UnsupportedFeatureError('exceptions', start, 'tag section')
    }
    if (section.pos !== end) section.fail(`section ${id} has ${end - section.pos} unexpected trailing bytes`, section.pos)
    reader.pos = end
  }

  if ((definedFunctionCount ?? 0) !== module.bodies.length) reader.fail(`${definedFunctionCount ?? 0} functions declared but ${module.bodies.length} bodies present`, bytes.length)
  if (module.dataCount !== undefined && module.dataCount !== module.dataSegments) reader.fail('data count section disagrees with the data section', bytes.length)
  for (const typeIndex of module.functionTypes) {
    if (typeIndex >= module.types.length) reader.fail(`function type index ${typeIndex} out of range`, bytes.length)
  }
  if (module.start !== undefined) {
    const typeIndex = module.functionTypes[module.start]
    if (typeIndex === undefined) reader.fail(`start function ${module.start} out of range`, bytes.length)
    const type = module.types[typeIndex] as FuncType
    if (type.params.length !== 0 || type.results.length !== 0) reader.fail('start function must have type [] -> []', bytes.length)
  }
  if (module.tables.length > 1) module.features.referenceTypes = true
  return module
}

function parseTypes (section: ByteReader, module: ParsedModule): void {
  const count = section.u32()
  for (let i = 0; i < count; i++) {
    const at = section.pos
    const form = section.u8()
    if (form === 0x4E || form === 0x50 || form === 0x4F || form === 0x5F || form === 0x5E) throw new UnsupportedFeatureError('gc', at, 'GC type definitions')
    if (form !== 0x60) section.fail(`expected a function type (0x60), got 0x${form.toString(16)}`, at)
    const paramCount = section.u32()
    if (paramCount > section.end - section.pos) section.fail('parameter count larger than the section')
    const params = new Uint8Array(paramCount)
    for (let p = 0; p < paramCount; p++) params[p] = readValType(section)
    const resultCount = section.u32()
    if (resultCount > section.end - section.pos) section.fail('result count larger than the section')
    const results = new Uint8Array(resultCount)
    for (let r = 0; r < resultCount; r++) results[r] = readValType(section)
    if (resultCount > 1) module.features.multiValue = true
    module.types.push({ params, results })
  }
}

function parseImports (section: ByteReader, module: ParsedModule): void {
  const count = section.u32()
  for (let i = 0; i < count; i++) {
    const start = section.pos
    const moduleName = section.name()
    const name = section.name()
    const kindAt = section.pos
    const kindByte = section.u8()
    let typeIndex = 0
    let limits: Limits | undefined
    let limitsStart = 0
    let limitsEnd = 0
    switch (kindByte) {
      case 0:
        typeIndex = section.u32()
        module.functionTypes.push(typeIndex)
        module.importedFunctions++
        break
      case 1: {
        const refType = readRefType(section)
        limitsStart = section.pos
        limits = readLimits(section, 'table')
        limitsEnd = section.pos
        module.tables.push({ ...limits, refType, imported: true, limitsStart, limitsEnd })
        if (refType === ValType.externref) module.features.referenceTypes = true
        break
      }
      case 2:
        limitsStart = section.pos
        limits = readLimits(section, 'memory')
        limitsEnd = section.pos
        if (module.memory !== undefined) throw new UnsupportedFeatureError('multi-memory', limitsStart, 'more than one memory')
        module.memory = { ...limits, imported: true }
        break
      case 3: {
        module.globalTypes.push(readValType(section))
        const mutAt = section.pos
        const mutability = section.u8()
        if (mutability > 1) section.fail('invalid global mutability', mutAt)
        module.globalMutable.push(mutability === 1)
        if (mutability === 1) module.features.mutableGlobals = true
        module.importedGlobals++
        break
      }
      case 4: throw new UnsupportedFeatureError('exceptions', kindAt, 'tag import')
      default: section.fail(`unknown import kind ${kindByte}`, kindAt)
    }
    module.imports.push({ module: moduleName, name, kind: KIND_NAMES[kindByte] as ExternKind, typeIndex, limits, start, end: section.pos, limitsStart, limitsEnd })
  }
}

function parseExports (section: ByteReader, module: ParsedModule): void {
  const count = section.u32()
  const seen = new Set<string>()
  for (let i = 0; i < count; i++) {
    const at = section.pos
    const name = section.name()
    if (seen.has(name)) section.fail(`duplicate export name "${name}"`, at)
    seen.add(name)
    const kindAt = section.pos
    const kindByte = section.u8()
    if (kindByte === 4) throw new UnsupportedFeatureError('exceptions', kindAt, 'tag export')
    if (kindByte > 3) section.fail(`unknown export kind ${kindByte}`, kindAt)
    const index = section.u32()
    module.exports.push({ name, kind: KIND_NAMES[kindByte] as ExternKind, index })
  }
}

function parseElements (section: ByteReader, module: ParsedModule): void {
  const count = section.u32()
  module.elementSegments = count
  for (let i = 0; i < count; i++) {
    const at = section.pos
    const flags = section.u32()
    if (flags > 7) section.fail(`invalid element segment flags ${flags}`, at)
    if (flags !== 0) module.features.bulkMemory = true
    const usesExprs = (flags & 4) !== 0
    const passiveOrDeclarative = (flags & 1) !== 0
    const explicitTable = (flags & 2) !== 0 && !passiveOrDeclarative
    if (explicitTable) {
      const tableIndex = section.u32()
      if (tableIndex !== 0) module.features.referenceTypes = true
    }
    if (!passiveOrDeclarative) skipConstExpr(section)
    if ((flags & 3) !== 0) {
      // elemkind (0x00 = funcref) or reftype
      if (usesExprs) {
        if (readRefType(section) === ValType.externref) module.features.referenceTypes = true
      } else {
        const kindAt = section.pos
        if (section.u8() !== 0) section.fail('invalid element kind', kindAt)
      }
    }
    const items = section.u32()
    if (items > section.end - section.pos) section.fail('element count larger than the section')
    module.largestElementSegment = Math.max(module.largestElementSegment, items)
    for (let j = 0; j < items; j++) {
      if (usesExprs) skipConstExpr(section)
      else section.u32()
    }
  }
}

function parseData (section: ByteReader, module: ParsedModule): void {
  const count = section.u32()
  module.dataSegments = count
  for (let i = 0; i < count; i++) {
    const at = section.pos
    const flags = section.u32()
    if (flags > 2) section.fail(`invalid data segment flags ${flags}`, at)
    if (flags === 1) module.features.bulkMemory = true
    if (flags === 2) {
      const memAt = section.pos
      if (section.u32() !== 0) throw new UnsupportedFeatureError('multi-memory', memAt, 'data segment for memory other than 0')
    }
    if (flags !== 1) skipConstExpr(section)
    const length = section.u32()
    section.skip(length)
    module.dataBytes += length
  }
}
