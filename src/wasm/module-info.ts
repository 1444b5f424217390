/**
 * Reads what the host needs to know about a core Wasm module without running
 * it: function signatures of its exports, its imports and memories. V8 gives
 * no type reflection for exports, and calling a function with the wrong number
 * of arguments silently pads them with zeros, so ipvm checks arguments itself.
 */

/** A Wasm value type. */
export type ValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref'

/** A function signature. */
export interface FuncType {
  params: ValueType[]
  results: ValueType[]
}

/** One import of the module. */
export interface ImportInfo {
  module: string
  name: string
  kind: 'func' | 'table' | 'memory' | 'global' | 'tag'
}

/** One export of the module; `type` is set for functions. */
export interface ExportInfo {
  name: string
  kind: 'func' | 'table' | 'memory' | 'global' | 'tag'
  type?: FuncType
}

/** What {@link readModuleInfo} found. */
export interface ModuleInfo {
  imports: ImportInfo[]
  exports: Map<string, ExportInfo>
  /** Names of custom sections, in order (e.g. `name`, `component-type:…`). */
  customSections: string[]
}

/** The binary is not a core Wasm module; `offset` is where reading stopped. */
export class ModuleFormatError extends Error {
  override name = 'ModuleFormatError'
  constructor (message: string, readonly offset: number) {
    super(`${message} (at byte ${offset})`)
  }
}

const VALUE_TYPES: Record<number, ValueType> = {
  0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref'
}
const EXTERNAL_KINDS = ['func', 'table', 'memory', 'global', 'tag'] as const
const textDecoder = new TextDecoder('utf-8', { fatal: true })

class Reader {
  offset = 0
  constructor (readonly bytes: Uint8Array, readonly end = bytes.byteLength) {}

  byte (): number {
    if (this.offset >= this.end) throw new ModuleFormatError('unexpected end of module', this.offset)
    return this.bytes[this.offset++] as number
  }

  u32 (): number {
    let result = 0
    let shift = 0
    for (let i = 0; i < 5; i++) {
      const b = this.byte()
      result |= (b & 0x7f) << shift
      if ((b & 0x80) === 0) return result >>> 0
      shift += 7
    }
    throw new ModuleFormatError('LEB128 integer too long', this.offset)
  }

  name (): string {
    const length = this.u32()
    if (this.offset + length > this.end) throw new ModuleFormatError('name runs past its section', this.offset)
    try {
      return textDecoder.decode(this.bytes.subarray(this.offset, this.offset += length))
    } catch {
      throw new ModuleFormatError('name is not UTF-8', this.offset)
    }
  }

  valueType (): ValueType {
    const code = this.byte()
    const type = VALUE_TYPES[code]
    if (type === undefined) throw new ModuleFormatError(`unknown value type 0x${code.toString(16)}`, this.offset - 1)
    return type
  }

  limits (): void {
    const flags = this.byte()
    this.u32()
    if ((flags & 1) !== 0) this.u32()
  }
}

/**
 * Parses the type, import, function and export sections of a core Wasm module.
 * Throws {@link ModuleFormatError} for anything that is not a core module
 * (including Wasm components, which have another version field).
 */
export function readModuleInfo (bytes: Uint8Array): ModuleInfo {
  const r = new Reader(bytes)
  if (bytes.byteLength < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new ModuleFormatError('not a WebAssembly binary (no \\0asm magic)', 0)
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    const component = bytes[6] === 1 && bytes[7] === 0
    throw new ModuleFormatError(component ? 'a WebAssembly component, not a core module (components are not supported yet)' : 'unsupported WebAssembly version', 4)
  }
  r.offset = 8
  const types: FuncType[] = []
  const funcTypeIndices: number[] = []
  const imports: ImportInfo[] = []
  const exports = new Map<string, ExportInfo>()
  const customSections: string[] = []
  let rawExports: Array<{ name: string, kind: ExportInfo['kind'], index: number }> = []

  while (r.offset < bytes.byteLength) {
    const id = r.byte()
    const size = r.u32()
    const end = r.offset + size
    if (end > bytes.byteLength) throw new ModuleFormatError(`section ${id} runs past the end of the module`, r.offset)
    const s = new Reader(bytes, end)
    s.offset = r.offset
    switch (id) {
      case 0: customSections.push(s.name()); break
      case 1: {
        for (let n = s.u32(); n > 0; n--) {
          const form = s.byte()
          if (form !== 0x60) throw new ModuleFormatError(`unsupported type form 0x${form.toString(16)}`, s.offset - 1)
          const params: ValueType[] = []
          for (let p = s.u32(); p > 0; p--) params.push(s.valueType())
          const results: ValueType[] = []
          for (let q = s.u32(); q > 0; q--) results.push(s.valueType())
          types.push({ params, results })
        }
        break
      }
      case 2: {
        for (let n = s.u32(); n > 0; n--) {
          const module = s.name()
          const name = s.name()
          const kindCode = s.byte()
          const kind = EXTERNAL_KINDS[kindCode]
          if (kind === undefined) throw new ModuleFormatError(`unknown import kind ${kindCode}`, s.offset - 1)
          if (kind === 'func') funcTypeIndices.push(s.u32())
          else if (kind === 'table') { s.byte(); s.limits() } else if (kind === 'memory') s.limits()
          else if (kind === 'global') { s.valueType(); s.byte() } else { s.byte(); s.u32() }
          imports.push({ module, name, kind })
        }
        break
      }
      case 3: for (let n = s.u32(); n > 0; n--) funcTypeIndices.push(s.u32()); break
      case 7: {
        rawExports = []
        for (let n = s.u32(); n > 0; n--) {
          const name = s.name()
          const kindCode = s.byte()
          const kind = EXTERNAL_KINDS[kindCode]
          if (kind === undefined) throw new ModuleFormatError(`unknown export kind ${kindCode}`, s.offset - 1)
          rawExports.push({ name, kind, index: s.u32() })
        }
        break
      }
      default: break
    }
    r.offset = end
  }

  for (const { name, kind, index } of rawExports) {
    const info: ExportInfo = { name, kind }
    if (kind === 'func') {
      const typeIndex = funcTypeIndices[index]
      const type = typeIndex === undefined ? undefined : types[typeIndex]
      if (type === undefined) throw new ModuleFormatError(`export ${name} names function ${index}, which has no type`, 0)
      info.type = type
    }
    exports.set(name, info)
  }
  return { imports, exports, customSections }
}

/**
 * Finds an export by the name a workflow gives, as Homestar does: the exact
 * name first, then with `_` and `-` swapped (`add_one` finds `add-one`).
 */
export function findExport (info: ModuleInfo, func: string): ExportInfo | undefined {
  return info.exports.get(func) ??
    info.exports.get(func.replaceAll('_', '-')) ??
    info.exports.get(func.replaceAll('-', '_'))
}
