/** LEB128 reading and writing. */

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ByteReader, ByteWriter, u32Size } from '../../../src/wasm/meter/bytes.js'

function reader (...bytes: number[]): ByteReader {
  return new ByteReader(new Uint8Array(bytes))
}

function errorOf (fn: () => unknown): Error & { offset?: number } {
  try {
    fn()
  } catch (err) {
    return err as Error & { offset?: number }
  }
  throw new Error('expected an error')
}

describe('ByteReader', () => {
  it('reads u32 LEB128, including padded encodings and the maximum', () => {
    assert.equal(reader(0x00).u32(), 0)
    assert.equal(reader(0x7F).u32(), 127)
    assert.equal(reader(0x80, 0x01).u32(), 128)
    assert.equal(reader(0xE5, 0x8E, 0x26).u32(), 624485)
    assert.equal(reader(0x80, 0x80, 0x80, 0x00).u32(), 0)
    assert.equal(reader(0xFF, 0xFF, 0xFF, 0xFF, 0x0F).u32(), 0xFFFFFFFF)
  })

  it('rejects u32 LEB128 that is too long, out of range or truncated, with the offset', () => {
    const tooLong = errorOf(() => reader(0x80, 0x80, 0x80, 0x80, 0x80, 0x00).u32())
    assert.equal(tooLong.name, 'InvalidModule')
    assert.equal(tooLong.offset, 0)
    assert.equal(errorOf(() => reader(0xFF, 0xFF, 0xFF, 0xFF, 0x1F).u32()).name, 'InvalidModule')
    const truncated = errorOf(() => reader(0x80, 0x80).u32())
    assert.equal(truncated.name, 'InvalidModule')
    assert.equal(truncated.offset, 2)
  })

  it('reads s32 LEB128 with sign extension', () => {
    assert.equal(reader(0x7F).s32(), -1)
    assert.equal(reader(0x3F).s32(), 63)
    assert.equal(reader(0x40).s32(), -64)
    assert.equal(reader(0xC0, 0xBB, 0x78).s32(), -123456)
    assert.equal(reader(0xFF, 0xFF, 0xFF, 0xFF, 0x07).s32(), 0x7FFFFFFF)
    assert.equal(reader(0x80, 0x80, 0x80, 0x80, 0x78).s32(), -0x80000000)
    assert.equal(errorOf(() => reader(0x80, 0x80, 0x80, 0x80, 0x08).s32()).name, 'InvalidModule')
    assert.equal(errorOf(() => reader(0xFF, 0xFF, 0xFF, 0xFF, 0x4F).s32()).name, 'InvalidModule')
  })

  it('reads s33 block types and skips s64', () => {
    assert.equal(reader(0x40).s33(), -64)
    assert.equal(reader(0x05).s33(), 5)
    assert.equal(reader(0xFF, 0xFF, 0xFF, 0xFF, 0x0F).s33(), 0xFFFFFFFF)
    const r = reader(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F, 0x01)
    r.skipS64()
    assert.equal(r.pos, 10)
    assert.equal(errorOf(() => reader(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00).skipS64()).name, 'InvalidModule')
  })

  it('reads UTF-8 names and rejects invalid ones', () => {
    assert.equal(reader(3, 0x61, 0x62, 0x63).name(), 'abc')
    assert.equal(errorOf(() => reader(2, 0xC3, 0x28).name()).name, 'InvalidModule')
    assert.equal(errorOf(() => reader(5, 0x61).name()).name, 'InvalidModule')
  })
})

describe('ByteWriter', () => {
  it('writes unsigned and signed LEB128 that read back the same', () => {
    const values = [0, 1, 63, 64, 127, 128, 255, 16383, 16384, 624485, 0x7FFFFFFF, 0xFFFFFFFF, 2 ** 40, 2 ** 52]
    for (const value of values) {
      const w = new ByteWriter(1)
      w.u32(value)
      assert.equal(w.length, u32Size(value))
      if (value <= 0xFFFFFFFF) assert.equal(new ByteReader(w.toBytes()).u32(), value)
    }
    for (const value of [0, 1, -1, 63, 64, -64, -65, 127, 128, 0x7FFFFFFF, -0x80000000]) {
      const w = new ByteWriter(1)
      w.sleb(value)
      assert.equal(new ByteReader(w.toBytes()).s32(), value, `sleb ${value}`)
    }
    for (const value of [2 ** 31, 2 ** 40 + 3, 2 ** 52, -(2 ** 45)]) {
      const w = new ByteWriter(1)
      w.sleb(value)
      const bytes = w.toBytes()
      let result = 0n
      let shift = 0n
      for (const b of bytes) {
        result |= BigInt(b & 0x7F) << shift
        shift += 7n
      }
      if (((bytes[bytes.length - 1] as number) & 0x40) !== 0) result -= 1n << shift
      assert.equal(result, BigInt(value))
    }
  })

  it('grows, copies and inserts', () => {
    const w = new ByteWriter(2)
    w.bytes(new Uint8Array([1, 2, 3, 4, 5]))
    w.insert(2, new Uint8Array([9, 9]), 0, 2)
    assert.deepEqual([...w.toBytes()], [1, 2, 9, 9, 3, 4, 5])
    w.name('é')
    assert.deepEqual([...w.toBytes()].slice(7), [2, 0xC3, 0xA9])
  })
})
