/**
 * Section rewriters used by `instrument()` for the sections that refer to
 * functions or locals by index: element segments and global initializers
 * (`ref.func` of an import becomes its adapter) and the `name` section
 * (local indices move up by one when the counter parameter is added).
 */

import { ByteReader, ByteWriter } from './bytes.js'

/** Maps a function index (imports to their adapters); identity for others. */
export type FunctionMap = (index: number) => number

/** Copies one constant expression (through its `end`), mapping `ref.func` indices. */
export function copyConstExpr (reader: ByteReader, out: ByteWriter, map: FunctionMap): void {
  while (true) {
    const start = reader.pos
    const op = reader.u8()
    switch (op) {
      case 0x0B: out.byte(0x0B); return
      case 0x41: reader.s32(); break
      case 0x42: reader.skipS64(); break
      case 0x43: reader.skip(4); break
      case 0x44: reader.skip(8); break
      case 0x23: reader.u32(); break
      case 0xD0: reader.u8(); break
      case 0xD2: {
        const index = reader.u32()
        out.byte(0xD2)
        out.u32(map(index))
        continue
      }
      default: break // extended-const arithmetic: no immediates
    }
    out.copy(reader.bytes, start, reader.pos)
  }
}

/** Encodes a declarative element segment (flags 3) that declares `functions` for `ref.func`. */
export function declarativeSegment (functions: number[]): Uint8Array {
  const w = new ByteWriter(8 + functions.length * 3)
  w.u32(3)
  w.byte(0x00) // elemkind funcref
  w.u32(functions.length)
  for (const index of functions) w.u32(index)
  return w.toBytes()
}

/**
 * Rewrites the content of an element section (or makes one, when `range`
 * is undefined), mapping function indices and appending `extra` segments.
 */
export function rewriteElements (bytes: Uint8Array, range: { contentStart: number, end: number } | undefined, map: FunctionMap, extra: Uint8Array[]): ByteWriter {
  const out = new ByteWriter((range === undefined ? 0 : range.end - range.contentStart) + 64)
  if (range === undefined) {
    out.u32(extra.length)
    for (const segment of extra) out.bytes(segment)
    return out
  }
  const reader = new ByteReader(bytes, range.contentStart, range.end)
  const count = reader.u32()
  out.u32(count + extra.length)
  for (let i = 0; i < count; i++) {
    const flags = reader.u32()
    out.u32(flags)
    const usesExprs = (flags & 4) !== 0
    const passiveOrDeclarative = (flags & 1) !== 0
    if ((flags & 2) !== 0 && !passiveOrDeclarative) out.u32(reader.u32()) // table index
    if (!passiveOrDeclarative) copyConstExpr(reader, out, map)
    if ((flags & 3) !== 0) out.byte(reader.u8()) // element kind or reference type
    const items = reader.u32()
    out.u32(items)
    for (let j = 0; j < items; j++) {
      if (usesExprs) copyConstExpr(reader, out, map)
      else out.u32(map(reader.u32()))
    }
  }
  for (const segment of extra) out.bytes(segment)
  return out
}

/** Rewrites the content of a global section (mapping `ref.func`) and appends `extra` encoded globals. */
export function rewriteGlobals (bytes: Uint8Array, range: { contentStart: number, end: number } | undefined, map: FunctionMap, extra: Uint8Array[]): ByteWriter {
  const out = new ByteWriter(64)
  if (range === undefined) {
    out.u32(extra.length)
  } else {
    const reader = new ByteReader(bytes, range.contentStart, range.end)
    const count = reader.u32()
    out.u32(count + extra.length)
    for (let i = 0; i < count; i++) {
      out.byte(reader.u8()) // value type
      out.byte(reader.u8()) // mutability
      copyConstExpr(reader, out, map)
    }
  }
  for (const entry of extra) out.bytes(entry)
  return out
}

/**
 * Rewrites a `name` custom section (content after the section name): local
 * names of defined functions at or above their parameter count move up by
 * one. Returns `undefined` if the section does not parse, in which case the
 * caller keeps it as it was (engines ignore a malformed name section).
 */
export function rewriteNameSection (bytes: Uint8Array, start: number, end: number, importedFunctions: number, paramCount: (functionIndex: number) => number | undefined): ByteWriter | undefined {
  try {
    const reader = new ByteReader(bytes, start, end)
    const out = new ByteWriter(end - start + 16)
    while (!reader.done) {
      const subsectionStart = reader.pos
      const id = reader.u8()
      const size = reader.u32()
      const contentStart = reader.pos
      reader.skip(size)
      if (id !== 2) {
        out.copy(bytes, subsectionStart, reader.pos)
        continue
      }
      const sub = new ByteReader(bytes, contentStart, contentStart + size)
      const content = new ByteWriter(size + 16)
      const functions = sub.u32()
      content.u32(functions)
      for (let f = 0; f < functions; f++) {
        const functionIndex = sub.u32()
        content.u32(functionIndex)
        const params = functionIndex >= importedFunctions ? paramCount(functionIndex) : undefined
        const locals = sub.u32()
        content.u32(locals)
        for (let l = 0; l < locals; l++) {
          const localIndex = sub.u32()
          content.u32(params !== undefined && localIndex >= params ? localIndex + 1 : localIndex)
          const nameStart = sub.pos
          const length = sub.u32()
          sub.skip(length)
          content.copy(bytes, nameStart, sub.pos)
        }
      }
      if (!sub.done) return undefined
      out.byte(2)
      out.u32(content.length)
      out.copy(content.buf, 0, content.length)
    }
    return out
  } catch {
    return undefined
  }
}
