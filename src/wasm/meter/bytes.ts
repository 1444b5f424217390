/**
 * LEB128 and byte-level reading and writing for the Wasm binary format.
 * The reader throws {@link InvalidModuleError} with the offset of the first
 * bad byte; it never reads past `end`.
 */

import { InvalidModuleError } from './errors.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A cursor over a byte range of a module. */
export class ByteReader {
  /** The whole module (offsets in errors are into this array). */
  readonly bytes: Uint8Array
  /** Next byte to read. */
  pos: number
  /** One past the last readable byte. */
  end: number

  constructor (bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes
    this.pos = pos
    this.end = end
  }

  /** Throws an {@link InvalidModuleError} at `offset` (the current position by default). */
  fail (message: string, offset = this.pos): never {
    throw new InvalidModuleError(message, offset)
  }

  /** True when every byte up to `end` has been read. */
  get done (): boolean {
    return this.pos >= this.end
  }

  /** Reads one byte. */
  u8 (): number {
    if (this.pos >= this.end) this.fail('unexpected end of data')
    return this.bytes[this.pos++] as number
  }

  /** Reads an unsigned 32-bit LEB128 (at most 5 bytes, no bits beyond 32). */
  u32 (): number {
    const bytes = this.bytes
    let pos = this.pos
    if (pos < this.end) {
      const first = bytes[pos] as number
      if (first < 0x80) {
        this.pos = pos + 1
        return first
      }
    }
    const start = pos
    let result = 0
    let shift = 0
    while (true) {
      if (pos >= this.end) this.fail('unexpected end of data in LEB128', pos)
      const b = bytes[pos++] as number
      if (shift === 28) {
        if ((b & 0xF0) !== 0) this.fail('u32 LEB128 too long or out of range', start)
        result = (result | (b << 28)) >>> 0
        break
      }
      result |= (b & 0x7F) << shift
      if ((b & 0x80) === 0) break
      shift += 7
    }
    this.pos = pos
    return result >>> 0
  }

  /** Reads a signed 32-bit LEB128. */
  s32 (): number {
    const bytes = this.bytes
    let pos = this.pos
    const start = pos
    let result = 0
    let shift = 0
    let b: number
    while (true) {
      if (pos >= this.end) this.fail('unexpected end of data in LEB128', pos)
      b = bytes[pos++] as number
      if (shift === 28) {
        // Last byte: 4 value bits; the 3 unused bits must be a sign extension.
        if ((b & 0x80) !== 0) this.fail('s32 LEB128 too long', start)
        const high = b & 0x78
        if (high !== 0 && high !== 0x78) this.fail('s32 LEB128 out of range', start)
        result |= b << 28
        this.pos = pos
        return result | 0
      }
      result |= (b & 0x7F) << shift
      shift += 7
      if ((b & 0x80) === 0) break
    }
    this.pos = pos
    if ((b & 0x40) !== 0) result |= (-1 << shift)
    return result | 0
  }

  /**
   * Reads a signed 33-bit LEB128 (block types). Values are within the JS
   * safe-integer range, so a plain number is returned.
   */
  s33 (): number {
    const bytes = this.bytes
    let pos = this.pos
    const start = pos
    let result = 0
    let mul = 1
    let b: number
    let count = 0
    while (true) {
      if (pos >= this.end) this.fail('unexpected end of data in LEB128', pos)
      b = bytes[pos++] as number
      count++
      if (count === 5) {
        if ((b & 0x80) !== 0) this.fail('s33 LEB128 too long', start)
        const high = b & 0x70
        if (high !== 0 && high !== 0x70) this.fail('s33 LEB128 out of range', start)
      }
      result += (b & 0x7F) * mul
      mul *= 128
      if ((b & 0x80) === 0) break
    }
    this.pos = pos
    if ((b & 0x40) !== 0) result -= mul
    return result
  }

  /** Skips a signed 64-bit LEB128 (checked for length and sign extension). */
  skipS64 (): void {
    const bytes = this.bytes
    let pos = this.pos
    const start = pos
    let count = 0
    while (true) {
      if (pos >= this.end) this.fail('unexpected end of data in LEB128', pos)
      const b = bytes[pos++] as number
      count++
      if (count === 10) {
        if ((b & 0x80) !== 0) this.fail('s64 LEB128 too long', start)
        if (b !== 0 && b !== 0x7F) this.fail('s64 LEB128 out of range', start)
        break
      }
      if ((b & 0x80) === 0) break
    }
    this.pos = pos
  }

  /** Skips `n` bytes. */
  skip (n: number): void {
    if (n > this.end - this.pos) this.fail(`unexpected end of data (need ${n} bytes)`)
    this.pos += n
  }

  /** Reads a length-prefixed UTF-8 name. */
  name (): string {
    const length = this.u32()
    const start = this.pos
    this.skip(length)
    try {
      return utf8.decode(this.bytes.subarray(start, start + length))
    } catch {
      return this.fail('name is not valid UTF-8', start)
    }
  }
}

/** A growable byte buffer. */
export class ByteWriter {
  /** Backing storage; only `[0, length)` is meaningful. */
  buf: Uint8Array
  /** Number of bytes written. */
  length = 0

  constructor (capacity = 1024) {
    this.buf = new Uint8Array(capacity)
  }

  /** Makes room for `n` more bytes. */
  reserve (n: number): void {
    const needed = this.length + n
    if (needed <= this.buf.length) return
    let capacity = this.buf.length * 2
    while (capacity < needed) capacity *= 2
    const next = new Uint8Array(capacity)
    next.set(this.buf.subarray(0, this.length))
    this.buf = next
  }

  /** Appends one byte. */
  byte (b: number): void {
    if (this.length >= this.buf.length) this.reserve(1)
    this.buf[this.length++] = b
  }

  /** Appends `src[start, end)`. */
  copy (src: Uint8Array, start: number, end: number): void {
    const n = end - start
    if (n <= 0) return
    this.reserve(n)
    if (n < 16) {
      const buf = this.buf
      let at = this.length
      for (let i = start; i < end; i++) buf[at++] = src[i] as number
    } else {
      this.buf.set(src.subarray(start, end), this.length)
    }
    this.length += n
  }

  /** Appends all of `src`. */
  bytes (src: Uint8Array): void {
    this.copy(src, 0, src.length)
  }

  /** Appends an unsigned LEB128 (any safe non-negative integer). */
  u32 (value: number): void {
    if (value < 0x80) {
      if (this.length >= this.buf.length) this.reserve(1)
      this.buf[this.length++] = value
      return
    }
    this.reserve(10)
    const buf = this.buf
    let at = this.length
    let v = value
    do {
      let b = v % 128
      v = Math.floor(v / 128)
      if (v !== 0) b |= 0x80
      buf[at++] = b
    } while (v !== 0)
    this.length = at
  }

  /** Appends a signed LEB128 of a safe integer (used for i32/i64 constants). */
  sleb (value: number): void {
    if (value >= 0 && value < 0x40) {
      if (this.length >= this.buf.length) this.reserve(1)
      this.buf[this.length++] = value
      return
    }
    this.reserve(10)
    if (value >= 0 && value < 0x80000000) {
      const buf = this.buf
      let at = this.length
      let v = value
      while (v >= 0x40) {
        buf[at++] = (v & 0x7F) | 0x80
        v >>>= 7
      }
      buf[at++] = v
      this.length = at
      return
    }
    const buf = this.buf
    let at = this.length
    let v = value
    while (true) {
      const b = ((v % 128) + 128) % 128
      v = Math.floor(v / 128)
      const signClear = (b & 0x40) === 0
      if ((v === 0 && signClear) || (v === -1 && !signClear)) {
        buf[at++] = b
        break
      }
      buf[at++] = b | 0x80
    }
    this.length = at
  }

  /** Appends a length-prefixed UTF-8 name. */
  name (text: string): void {
    const encoded = new TextEncoder().encode(text)
    this.u32(encoded.length)
    this.bytes(encoded)
  }

  /** Inserts `src[start,end)` at `at`, moving the bytes after it. */
  insert (at: number, src: Uint8Array, start: number, end: number): void {
    const n = end - start
    if (n <= 0) return
    this.reserve(n)
    this.buf.copyWithin(at + n, at, this.length)
    this.buf.set(src.subarray(start, end), at)
    this.length += n
  }

  /** A copy of the written bytes. */
  toBytes (): Uint8Array {
    return this.buf.slice(0, this.length)
  }
}

/** Number of bytes of the unsigned LEB128 encoding of `value`. */
export function u32Size (value: number): number {
  let size = 1
  let v = value
  while (v >= 128) {
    v = Math.floor(v / 128)
    size++
  }
  return size
}
