/**
 * {@link ModuleSummary}: what a validated module declares, in plain data
 * (safe to log, to store in a receipt's meta, or to compare).
 */

import type { ExternKind, FeatureUse, ParsedModule } from './module-parser.js'
import { ValType } from './opcodes.js'

/** An import, as declared. */
export interface ImportSummary {
  /** Module name. */
  module: string
  /** Field name. */
  name: string
  /** What is imported. */
  kind: ExternKind
}

/** An export, as declared. */
/** A Wasm value type by name. */
export type ValueTypeName = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref'

/** A function signature by value-type names. */
export interface SignatureSummary {
  params: ValueTypeName[]
  results: ValueTypeName[]
}

export interface ExportSummary {
  /** Export name. */
  name: string
  /** What is exported. */
  kind: ExternKind
  /** Index in that kind's index space. */
  index: number
  /** The signature of an exported function (as the original module declares it). */
  type?: SignatureSummary
}

/** A table, as declared (before clamping). */
export interface TableSummary {
  /** Element type. */
  refType: 'funcref' | 'externref'
  /** Initial size. */
  min: number
  /** Declared maximum, if any. */
  max?: number
  /** True when imported. */
  imported: boolean
}

/** The memory, as declared (before clamping). */
export interface MemorySummary {
  /** Initial size in 64 KiB pages. */
  min: number
  /** Declared maximum in pages, if any. */
  max?: number
  /** True when imported. */
  imported: boolean
}

/** What a module declares, as found by {@link validateModule}. */
export interface ModuleSummary {
  /** Module size in bytes. */
  byteLength: number
  /** Entries in the type section. */
  types: number
  /** Imports in order. */
  imports: ImportSummary[]
  /** Exports in order (of the original module: the reserved `__ipvm_*` exports are not listed). */
  exports: ExportSummary[]
  /** Imported functions. */
  importedFunctions: number
  /** Functions defined by the module. */
  definedFunctions: number
  /** Imported globals. */
  importedGlobals: number
  /** Globals defined by the module. */
  definedGlobals: number
  /** Tables (imported first). */
  tables: TableSummary[]
  /** The memory, if any. */
  memory?: MemorySummary
  /** Start function index, if any. After instrumentation it is exported as `__ipvm_start`. */
  startFunction?: number
  /** Element segments. */
  elementSegments: number
  /** Data segments. */
  dataSegments: number
  /** Bytes over all data segments. */
  dataBytes: number
  /** Bytes of the code section's bodies. */
  codeBytes: number
  /** Names of custom sections, in order. */
  customSections: string[]
  /** Post-MVP features the module uses. */
  features: FeatureUse
  /** Largest estimated frame of one function, in call-depth units. */
  maxFrameUnits: number
}

const TYPE_NAMES = new Map<number, ValueTypeName>(Object.entries(ValType).map(([name, code]) => [code, name as ValueTypeName]))

function typeName (code: number): ValueTypeName {
  const name = TYPE_NAMES.get(code)
  if (name === undefined) throw new Error(`internal: unknown value type 0x${code.toString(16)}`)
  return name
}

/** Builds the summary of a parsed and scanned module. */
export function summarize (module: ParsedModule, maxFrameUnits: number): ModuleSummary {
  let codeBytes = 0
  for (const body of module.bodies) codeBytes += body.end - body.start
  const summary: ModuleSummary = {
    byteLength: module.bytes.length,
    types: module.types.length,
    imports: module.imports.map(entry => ({ module: entry.module, name: entry.name, kind: entry.kind })),
    exports: module.exports.map(entry => {
      const exported: ExportSummary = { name: entry.name, kind: entry.kind, index: entry.index }
      if (entry.kind === 'function') {
        const type = module.types[module.functionTypes[entry.index] ?? -1]
        if (type !== undefined) exported.type = { params: [...type.params].map(typeName), results: [...type.results].map(typeName) }
      }
      return exported
    }),
    importedFunctions: module.importedFunctions,
    definedFunctions: module.bodies.length,
    importedGlobals: module.importedGlobals,
    definedGlobals: module.globalTypes.length - module.importedGlobals,
    tables: module.tables.map(table => {
      const entry: TableSummary = { refType: table.refType === ValType.externref ? 'externref' : 'funcref', min: table.min, imported: table.imported }
      if (table.max !== undefined) entry.max = table.max
      return entry
    }),
    elementSegments: module.elementSegments,
    dataSegments: module.dataSegments,
    dataBytes: module.dataBytes,
    codeBytes,
    customSections: [...module.customSections],
    features: { ...module.features },
    maxFrameUnits
  }
  if (module.memory !== undefined) {
    summary.memory = { min: module.memory.min, imported: module.memory.imported }
    if (module.memory.max !== undefined) summary.memory.max = module.memory.max
  }
  if (module.start !== undefined) summary.startFunction = module.start
  return summary
}
