/**
 * A plain JavaScript reference for the image guest (examples/src/image.ts):
 * the same four operations on the same pixels, with PNG decoding through
 * node:zlib (not the guest's inflater) and the guest's exact output format
 * (IHDR, one IDAT of stored deflate blocks of 65535 bytes, IEND; filter 0).
 * examples/check.mjs uses it to compute the image workflow's expected
 * results independently of the Wasm; see the header of image.ts for the
 * semantics both follow.
 */
import { inflateSync, crc32 as zlibCrc32 } from 'node:zlib'

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const CHANNELS = { 0: 1, 2: 3, 4: 2, 6: 4 }

export function crc32 (bytes) {
  return zlibCrc32(bytes) >>> 0
}

function adler32 (bytes) {
  let a = 1
  let b = 0
  for (const byte of bytes) {
    a = (a + byte) % 65521
    b = (b + a) % 65521
  }
  return ((b << 16) | a) >>> 0
}

export function paeth (a, b, c) {
  const p = a + b - c
  const pa = Math.abs(p - a)
  const pb = Math.abs(p - b)
  const pc = Math.abs(p - c)
  if (pa <= pb && pa <= pc) return a
  return pb <= pc ? b : c
}

/** Decodes an 8-bit, non-interlaced, non-palette PNG: {width, height, colorType, channels, pixels}. */
export function decodePng (bytes) {
  const buf = Buffer.from(bytes)
  if (buf.length < 8 || !buf.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG')
  let at = 8
  let header
  const idat = []
  for (;;) {
    const size = buf.readUInt32BE(at)
    const type = buf.toString('latin1', at + 4, at + 8)
    const data = buf.subarray(at + 8, at + 8 + size)
    if (buf.readUInt32BE(at + 8 + size) !== crc32(buf.subarray(at + 4, at + 8 + size))) throw new Error(`${type}: bad CRC`)
    at += 12 + size
    if (type === 'IHDR') {
      header = { width: data.readUInt32BE(0), height: data.readUInt32BE(4), depth: data[8], colorType: data[9], interlace: data[12] }
    } else if (type === 'IDAT') {
      idat.push(data)
    } else if (type === 'IEND') {
      break
    }
  }
  const { width, height, depth, colorType, interlace } = header
  const channels = CHANNELS[colorType]
  if (depth !== 8 || channels === undefined || interlace !== 0) throw new Error('unsupported PNG')
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  if (raw.length !== height * (stride + 1)) throw new Error('wrong decompressed size')
  const pixels = new Uint8Array(height * stride)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]
      const a = i >= channels ? pixels[y * stride + i - channels] : 0
      const b = y > 0 ? pixels[(y - 1) * stride + i] : 0
      const c = y > 0 && i >= channels ? pixels[(y - 1) * stride + i - channels] : 0
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter]
      if (predictor === undefined) throw new Error(`filter type ${filter}`)
      pixels[y * stride + i] = (x + predictor) & 255
    }
  }
  return { width, height, colorType, channels, pixels }
}

function chunk (type, data) {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'latin1')
  Buffer.from(data.buffer, data.byteOffset, data.length).copy(out, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}

/** The guest's output format, byte for byte. */
export function encodePng ({ width, height, colorType, channels, pixels }) {
  const stride = width * channels
  const raw = Buffer.alloc(height * (stride + 1))
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1)
  const parts = [Buffer.from([0x78, 0x01])]
  for (let done = 0; done < raw.length;) {
    const n = Math.min(raw.length - done, 65535)
    const head = Buffer.alloc(5)
    head[0] = done + n === raw.length ? 1 : 0
    head.writeUInt16LE(n, 1)
    head.writeUInt16LE(~n & 0xffff, 3)
    parts.push(head, raw.subarray(done, done + n))
    done += n
  }
  const tail = Buffer.alloc(4)
  tail.writeUInt32BE(adler32(raw), 0)
  parts.push(tail)
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, colorType, 0, 0, 0], 8)
  return new Uint8Array(Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', Buffer.concat(parts)), chunk('IEND', Buffer.alloc(0))]))
}

function op (bytes, fn) {
  const image = decodePng(bytes)
  return encodePng(fn(image))
}

export function crop (bytes, x, y, targetWidth, targetHeight) {
  return op(bytes, (image) => {
    const { width, height, channels: c, pixels } = image
    const x0 = Math.min(x, width)
    const y0 = Math.min(y, height)
    const w = Math.min(targetWidth, width - x0)
    const h = Math.min(targetHeight, height - y0)
    if (w === 0 || h === 0) throw new Error('the crop rectangle is empty')
    const out = new Uint8Array(w * h * c)
    for (let row = 0; row < h; row++) out.set(pixels.subarray(((y0 + row) * width + x0) * c, ((y0 + row) * width + x0 + w) * c), row * w * c)
    return { ...image, width: w, height: h, pixels: out }
  })
}

export function rotate90 (bytes) {
  return op(bytes, (image) => {
    const { width, height, channels: c, pixels } = image
    const out = new Uint8Array(pixels.length)
    // The result is height x width; its (col, row) is the input's (x = row, y = height - 1 - col).
    for (let row = 0; row < width; row++) {
      for (let col = 0; col < height; col++) {
        const src = ((height - 1 - col) * width + row) * c
        out.set(pixels.subarray(src, src + c), (row * height + col) * c)
      }
    }
    return { ...image, width: height, height: width, pixels: out }
  })
}

/** The box-blur radius for sigma (an f32): the largest r <= 64 with r (r + 1) <= sigma^2. */
export function blurRadius (sigma) {
  const s = Math.fround(sigma)
  let r = 0
  if (s > 0) while (r < 64 && (r + 1) * (r + 2) <= s * s) r++
  return r
}

export function blur (bytes, sigma) {
  return op(bytes, (image) => {
    const { width: w, height: h, channels: c } = image
    const r = blurRadius(sigma)
    let pixels = image.pixels
    const pass = (src, horizontal) => {
      const dst = new Uint8Array(src.length)
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let k = 0; k < c; k++) {
            let sum = 0
            for (let d = -r; d <= r; d++) {
              const sx = horizontal ? Math.min(Math.max(x + d, 0), w - 1) : x
              const sy = horizontal ? y : Math.min(Math.max(y + d, 0), h - 1)
              sum += src[(sy * w + sx) * c + k]
            }
            dst[(y * w + x) * c + k] = Math.floor((sum + r) / (2 * r + 1))
          }
        }
      }
      return dst
    }
    if (r > 0) for (let i = 0; i < 3; i++) pixels = pass(pass(pixels, true), false)
    return { ...image, pixels }
  })
}

export function grayscale (bytes) {
  return op(bytes, (image) => {
    const { channels: c } = image
    const pixels = Uint8Array.from(image.pixels)
    if (c >= 3) {
      for (let i = 0; i < pixels.length; i += c) {
        const y = (77 * pixels[i] + 150 * pixels[i + 1] + 29 * pixels[i + 2] + 128) >> 8
        pixels[i] = pixels[i + 1] = pixels[i + 2] = y
      }
    }
    return { ...image, pixels }
  })
}
