#!/usr/bin/env node
/**
 * Writes examples/data/image.png, the input of examples/workflows/image.json:
 * a 64 x 48 RGB picture (colour gradients, a disc, a checkered band), 8-bit,
 * not interlaced. Deterministic: rows use filter types 0, 1, 2, 3, 4 in turn
 * (so a decoder meets all five), the zlib stream is node:zlib at level 9
 * (dynamic Huffman blocks), split over two IDAT chunks, with a tEXt chunk
 * between IHDR and IDAT (ancillary, to be skipped).
 *
 *   node examples/src/image-data.mjs          rewrite examples/data/image.png
 *
 * The committed file is the output of this script; it is a data file, so
 * build.mjs does not run it.
 */
import { deflateSync } from 'node:zlib'
import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { crc32, paeth } from './image-png.mjs'

const WIDTH = 64
const HEIGHT = 48

function pixel (x, y) {
  const dx = x - 40
  const dy = y - 20
  if (dx * dx + dy * dy <= 144) return [250, 210, 40] // a disc
  if (y >= 36 && y < 42) return ((x >> 2) + (y >> 1)) % 2 === 0 ? [20, 20, 20] : [235, 235, 235]
  return [x * 4, y * 5, ((x ^ y) * 7) & 255]
}

function chunk (type, data) {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'latin1')
  Buffer.from(data).copy(out, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}

export function makeImage () {
  const stride = WIDTH * 3
  const pixels = Buffer.alloc(HEIGHT * stride)
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) pixels.set(pixel(x, y), y * stride + x * 3)
  }
  const raw = Buffer.alloc(HEIGHT * (stride + 1))
  for (let y = 0; y < HEIGHT; y++) {
    const filter = y % 5
    raw[y * (stride + 1)] = filter
    for (let i = 0; i < stride; i++) {
      const x = pixels[y * stride + i]
      const a = i >= 3 ? pixels[y * stride + i - 3] : 0
      const b = y > 0 ? pixels[(y - 1) * stride + i] : 0
      const c = y > 0 && i >= 3 ? pixels[(y - 1) * stride + i - 3] : 0
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter]
      raw[y * (stride + 1) + 1 + i] = (x - predictor) & 255
    }
  }
  const z = deflateSync(raw, { level: 9 })
  const header = Buffer.alloc(13)
  header.writeUInt32BE(WIDTH, 0)
  header.writeUInt32BE(HEIGHT, 4)
  header.set([8, 2, 0, 0, 0], 8)
  const half = z.length >> 1
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('tEXt', Buffer.from('Comment\0ipvm image example', 'latin1')),
    chunk('IDAT', z.subarray(0, half)),
    chunk('IDAT', z.subarray(half)),
    chunk('IEND', Buffer.alloc(0))
  ])
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = fileURLToPath(new URL('../data/image.png', import.meta.url))
  const bytes = makeImage()
  await writeFile(path, bytes)
  console.log(`wrote ${path} (${bytes.length} bytes)`)
}
