// Image processing over PNG bytes, as Homestar's image example, built as a WIT
// component (AssemblyScript core module following the canonical ABI by hand,
// its WIT `examples/src/image.wit` embedded and made a component with jco).
//
//   crop(data: list<u8>, x: u32, y: u32, target-width: u32, target-height: u32) -> list<u8>
//   rotate90(data: list<u8>) -> list<u8>
//   blur(data: list<u8>, sigma: f32) -> list<u8>
//   grayscale(data: list<u8>) -> list<u8>
//
// Build (examples/build.mjs does it):
//   asc examples/src/image.ts -O3 --runtime stub --use abort= -o image.core.wasm
//   then jco componentEmbed (world "image") and componentNew -> examples/build/image.wasm
//
// Input: a PNG, bit depth 8, colour type 0 (gray), 2 (RGB), 4 (gray + alpha) or
// 6 (RGBA), not interlaced; filter types 0-4; IDAT may be split over several
// chunks; every chunk's CRC-32 and the zlib stream's Adler-32 are checked;
// the inflater takes stored, fixed and dynamic Huffman blocks. Ancillary
// chunks are ignored. Anything else (palette images, 1/2/4/16-bit depths,
// interlacing, unknown critical chunks, bad CRCs, corrupt deflate data, a
// decompressed size other than height * (1 + width * channels), more than
// 2^26 bytes of pixels) is refused: the reason is logged through
// wasi:logging at level `error` (context "image") and the call traps, so the
// task's receipt is a `Trap` error with the reason in `meta.log`.
//
// Output: a PNG of the same colour type, bit depth 8, with exactly three
// chunks IHDR, IDAT, IEND; every row has filter type 0; the zlib stream is
// the header 78 01, then the raw rows in stored (uncompressed) deflate blocks
// of 65535 bytes (the last one shorter, BFINAL set on it only), then the
// Adler-32. So the output bytes are a pure function of the pixels.
//
// The operations, all in integer arithmetic (W x H input, C channels):
// - crop: x' = min(x, W), y' = min(y, H), w = min(target-width, W - x'),
//   h = min(target-height, H - y'); the w x h rectangle at (x', y'). An empty
//   rectangle (w or h = 0) is refused (a PNG has at least one pixel).
// - rotate90: a quarter turn clockwise: the result is H x W, and its pixel
//   (col, row) is the input pixel (row, H - 1 - col).
// - blur: an approximate Gaussian of standard deviation sigma as three box
//   blurs. The radius r is the largest integer with r * (r + 1) <= sigma^2
//   (sigma^2 computed in f64, exactly), at most 64; sigma NaN or <= 0 gives
//   r = 0 (the pixels are unchanged). One box blur is a horizontal pass then a
//   vertical pass; a pass replaces every sample (each channel, alpha too) by
//   floor((s + r) / (2r + 1)), s the sum of the 2r + 1 samples centred on it
//   along the pass, coordinates clamped to the image edge.
// - grayscale: for RGB and RGBA, Y = (77 R + 150 G + 29 B + 128) >> 8 and
//   R = G = B = Y (alpha kept); gray images are unchanged.
//
// Memory is never freed: each task gets a fresh instance.

@external('wasi:logging/logging@0.1.0-draft', 'log')
declare function log (level: i32, contextPtr: usize, contextLen: usize, messagePtr: usize, messageLen: usize): void

const LEVEL_ERROR = 4
const MAX_PIXEL_BYTES: u64 = 1 << 26

// ---------------------------------------------------------------------------
// Canonical ABI plumbing.

/** The canonical ABI allocator: jco writes list arguments through it. */
export function cabi_realloc (old: usize, oldSize: usize, align: usize, newSize: usize): usize {
  if (newSize == 0) return align
  const ptr = heap.alloc(newSize)
  if (old != 0) memory.copy(ptr, old, min(oldSize, newSize))
  return ptr
}

/** Writes ASCII `s` to fresh memory; returns its pointer (length s.length). */
function ascii (s: string): usize {
  const ptr = heap.alloc(<usize>max(s.length, 1))
  for (let i = 0; i < s.length; i++) store<u8>(ptr + i, <u8>s.charCodeAt(i))
  return ptr
}

/** Logs the reason and traps. */
function fail (reason: string): void {
  log(LEVEL_ERROR, ascii('image'), 5, ascii(reason), reason.length)
  unreachable()
}

/** A list<u8> result: the canonical ABI's return area (ptr, len). */
function result (ptr: usize, len: usize): usize {
  const area = heap.alloc(8)
  store<u32>(area, <u32>ptr)
  store<u32>(area, <u32>len, 4)
  return area
}

// ---------------------------------------------------------------------------
// CRC-32 (IEEE, reflected, polynomial 0xEDB88320) and Adler-32.

let crcTable: usize = 0

function crc32 (ptr: usize, len: usize): u32 {
  if (crcTable == 0) {
    crcTable = heap.alloc(1024)
    for (let n: u32 = 0; n < 256; n++) {
      let c = n
      for (let k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      store<u32>(crcTable + (<usize>n << 2), c)
    }
  }
  let c: u32 = 0xffffffff
  for (let i: usize = 0; i < len; i++) {
    c = load<u32>(crcTable + (<usize>((c ^ <u32>load<u8>(ptr + i)) & 0xff) << 2)) ^ (c >>> 8)
  }
  return c ^ 0xffffffff
}

function adler32 (ptr: usize, len: usize): u32 {
  let a: u32 = 1
  let b: u32 = 0
  for (let i: usize = 0; i < len; i++) {
    a = (a + <u32>load<u8>(ptr + i)) % 65521
    b = (b + a) % 65521
  }
  return (b << 16) | a
}

function be32 (ptr: usize): u32 {
  return (<u32>load<u8>(ptr) << 24) | (<u32>load<u8>(ptr + 1) << 16) | (<u32>load<u8>(ptr + 2) << 8) | <u32>load<u8>(ptr + 3)
}

function putBe32 (ptr: usize, v: u32): void {
  store<u8>(ptr, <u8>(v >>> 24))
  store<u8>(ptr + 1, <u8>(v >>> 16))
  store<u8>(ptr + 2, <u8>(v >>> 8))
  store<u8>(ptr + 3, <u8>v)
}

// ---------------------------------------------------------------------------
// Inflate (RFC 1951), after Mark Adler's puff.c: canonical Huffman codes
// decoded a bit at a time.

let inAt: usize = 0
let inEnd: usize = 0
let bitBuf: u32 = 0
let bitCount: u32 = 0
let outStart: usize = 0
let outAt: usize = 0
let outEnd: usize = 0

function bits (need: u32): u32 {
  let value = bitBuf
  while (bitCount < need) {
    if (inAt >= inEnd) fail('deflate data is truncated')
    value |= <u32>load<u8>(inAt++) << bitCount
    bitCount += 8
  }
  bitBuf = need == 32 ? 0 : value >>> need
  bitCount -= need
  return need == 32 ? value : value & ((1 << need) - 1)
}

function putOut (b: u32): void {
  if (outAt >= outEnd) fail('decompressed data is longer than the image')
  store<u8>(outAt++, <u8>b)
}

// A Huffman code: counts[0..15] (u16) then symbols (u16).
const MAX_BITS = 15
let lenCode: usize = 0
let distCode: usize = 0
let fixedLen: usize = 0
let fixedDist: usize = 0
let lengths: usize = 0

function newCode (symbols: i32): usize {
  return heap.alloc(<usize>(16 + symbols) << 1)
}

/** Builds the code for `n` lengths at `lengths` (u16 each); refuses over-subscribed codes. */
function construct (code: usize, lens: usize, n: i32): void {
  for (let len = 0; len <= MAX_BITS; len++) store<u16>(code + (<usize>len << 1), 0)
  for (let s = 0; s < n; s++) {
    const len = <usize>load<u16>(lens + (<usize>s << 1))
    store<u16>(code + (len << 1), load<u16>(code + (len << 1)) + 1)
  }
  if (<i32>load<u16>(code) == n) return // no codes: decoding with it fails
  let left = 1
  for (let len = 1; len <= MAX_BITS; len++) {
    left <<= 1
    left -= <i32>load<u16>(code + (<usize>len << 1))
    if (left < 0) fail('over-subscribed Huffman code')
  }
  const offs = heap.alloc(32)
  store<u16>(offs + 2, 0)
  for (let len = 1; len < MAX_BITS; len++) {
    store<u16>(offs + (<usize>(len + 1) << 1), load<u16>(offs + (<usize>len << 1)) + load<u16>(code + (<usize>len << 1)))
  }
  const symbols = code + 32
  for (let s = 0; s < n; s++) {
    const len = <usize>load<u16>(lens + (<usize>s << 1))
    if (len != 0) {
      const o = <usize>load<u16>(offs + (len << 1))
      store<u16>(symbols + (o << 1), <u16>s)
      store<u16>(offs + (len << 1), <u16>(o + 1))
    }
  }
}

function decode (code: usize): i32 {
  let c = 0
  let first = 0
  let index = 0
  for (let len = 1; len <= MAX_BITS; len++) {
    c |= <i32>bits(1)
    const count = <i32>load<u16>(code + (<usize>len << 1))
    if (c - count < first) return <i32>load<u16>(code + 32 + (<usize>(index + (c - first)) << 1))
    index += count
    first += count
    first <<= 1
    c <<= 1
  }
  fail('invalid Huffman code in deflate data')
  return 0
}

const LBASE: StaticArray<u16> = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
const LEXT: StaticArray<u8> = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
const DBASE: StaticArray<u16> = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
const DEXT: StaticArray<u8> = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
const ORDER: StaticArray<u8> = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

function codes (lc: usize, dc: usize): void {
  for (;;) {
    let symbol = decode(lc)
    if (symbol < 256) {
      putOut(<u32>symbol)
    } else if (symbol == 256) {
      return
    } else {
      symbol -= 257
      if (symbol >= 29) fail('invalid length symbol in deflate data')
      const len = <i32>LBASE[symbol] + <i32>bits(<u32>LEXT[symbol])
      const d = decode(dc)
      if (d >= 30) fail('invalid distance symbol in deflate data')
      const dist = <usize>(<i32>DBASE[d] + <i32>bits(<u32>DEXT[d]))
      if (dist > outAt - outStart) fail('deflate distance reaches before the start of the data')
      for (let i = 0; i < len; i++) putOut(<u32>load<u8>(outAt - dist))
    }
  }
}

function stored (): void {
  bitBuf = 0
  bitCount = 0
  if (inEnd - inAt < 4) fail('deflate data is truncated')
  const len = <u32>load<u8>(inAt) | (<u32>load<u8>(inAt + 1) << 8)
  const nlen = <u32>load<u8>(inAt + 2) | (<u32>load<u8>(inAt + 3) << 8)
  if (len != (~nlen & 0xffff)) fail('stored deflate block has a bad length')
  inAt += 4
  if (inEnd - inAt < <usize>len) fail('deflate data is truncated')
  if (outEnd - outAt < <usize>len) fail('decompressed data is longer than the image')
  memory.copy(outAt, inAt, len)
  inAt += len
  outAt += len
}

function fixed (): void {
  if (fixedLen == 0) {
    fixedLen = newCode(288)
    fixedDist = newCode(30)
    const lens = heap.alloc(288 << 1)
    for (let s = 0; s < 288; s++) store<u16>(lens + (<usize>s << 1), s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8)
    construct(fixedLen, lens, 288)
    for (let s = 0; s < 30; s++) store<u16>(lens + (<usize>s << 1), 5)
    construct(fixedDist, lens, 30)
  }
  codes(fixedLen, fixedDist)
}

function dynamic (): void {
  if (lenCode == 0) {
    lenCode = newCode(288)
    distCode = newCode(30)
    lengths = heap.alloc(320 << 1)
  }
  const nlen = <i32>bits(5) + 257
  const ndist = <i32>bits(5) + 1
  const ncode = <i32>bits(4) + 4
  if (nlen > 286 || ndist > 30) fail('bad counts in a dynamic deflate block')
  let index = 0
  for (; index < ncode; index++) store<u16>(lengths + (<usize>ORDER[index] << 1), <u16>bits(3))
  for (; index < 19; index++) store<u16>(lengths + (<usize>ORDER[index] << 1), 0)
  construct(lenCode, lengths, 19)
  index = 0
  while (index < nlen + ndist) {
    let symbol = decode(lenCode)
    if (symbol < 16) {
      store<u16>(lengths + (<usize>index << 1), <u16>symbol)
      index++
    } else {
      let len: u16 = 0
      if (symbol == 16) {
        if (index == 0) fail('repeat with no previous length in a dynamic deflate block')
        len = load<u16>(lengths + (<usize>(index - 1) << 1))
        symbol = 3 + <i32>bits(2)
      } else if (symbol == 17) {
        symbol = 3 + <i32>bits(3)
      } else {
        symbol = 11 + <i32>bits(7)
      }
      if (index + symbol > nlen + ndist) fail('too many lengths in a dynamic deflate block')
      while (symbol-- > 0) {
        store<u16>(lengths + (<usize>index << 1), len)
        index++
      }
    }
  }
  if (load<u16>(lengths + (256 << 1)) == 0) fail('dynamic deflate block has no end-of-block code')
  construct(lenCode, lengths, nlen)
  construct(distCode, lengths + (<usize>nlen << 1), ndist)
  codes(lenCode, distCode)
}

/** Inflates the zlib stream [ptr, ptr + len) into exactly `size` bytes at `out`. */
function zlibInflate (ptr: usize, len: usize, out: usize, size: usize): void {
  if (len < 6) fail('zlib stream is truncated')
  const cmf = <u32>load<u8>(ptr)
  const flg = <u32>load<u8>(ptr + 1)
  if ((cmf & 15) != 8 || (cmf >> 4) > 7 || ((cmf << 8) | flg) % 31 != 0) fail('bad zlib header')
  if ((flg & 0x20) != 0) fail('zlib preset dictionaries are not supported')
  inAt = ptr + 2
  inEnd = ptr + len
  bitBuf = 0
  bitCount = 0
  outStart = out
  outAt = out
  outEnd = out + size
  let last: u32 = 0
  do {
    last = bits(1)
    const type = bits(2)
    if (type == 0) stored()
    else if (type == 1) fixed()
    else if (type == 2) dynamic()
    else fail('invalid deflate block type 3')
  } while (last == 0)
  if (outAt != outEnd) fail('decompressed data is shorter than the image')
  if (inEnd - inAt < 4) fail('zlib stream has no Adler-32')
  if (be32(inAt) != adler32(out, size)) fail('zlib Adler-32 does not match')
}

// ---------------------------------------------------------------------------
// PNG.

let width: u32 = 0
let height: u32 = 0
let channels: u32 = 0
let colorType: u32 = 0
let pixels: usize = 0

function channelsOf (type: u32): u32 {
  if (type == 0) return 1
  if (type == 2) return 3
  if (type == 4) return 2
  if (type == 6) return 4
  if (type == 3) fail('palette PNGs (colour type 3) are not supported')
  fail('unknown PNG colour type')
  return 0
}

function paeth (a: i32, b: i32, c: i32): i32 {
  const p = a + b - c
  const pa = abs(p - a)
  const pb = abs(p - b)
  const pc = abs(p - c)
  if (pa <= pb && pa <= pc) return a
  if (pb <= pc) return b
  return c
}

/** Decodes the PNG at [ptr, ptr + len) into width, height, channels, colorType and pixels. */
function decodePng (ptr: usize, len: usize): void {
  if (len < 8 || load<u64>(ptr) != 0x0a1a0a0d474e5089) fail('not a PNG (bad signature)')
  const idat = heap.alloc(max(len, 1))
  let idatLen: usize = 0
  let at = ptr + 8
  const end = ptr + len
  let sawHeader = false
  let sawEnd = false
  while (!sawEnd) {
    if (end - at < 12) fail('PNG is truncated')
    const size = <usize>be32(at)
    if (size > end - at - 12) fail('PNG is truncated: a chunk runs past the end of the file')
    const type = at + 4
    const data = at + 8
    if (be32(data + size) != crc32(type, size + 4)) fail('PNG chunk CRC does not match')
    const name = be32(type)
    if (!sawHeader && name != 0x49484452) fail('PNG does not start with IHDR')
    if (name == 0x49484452) { // IHDR
      if (sawHeader || size != 13) fail('bad IHDR chunk')
      sawHeader = true
      width = be32(data)
      height = be32(data + 4)
      if (width == 0 || height == 0 || width > 0x7fffffff || height > 0x7fffffff) fail('bad PNG dimensions')
      if (load<u8>(data + 8) != 8) fail('only 8-bit PNGs are supported')
      colorType = load<u8>(data + 9)
      channels = channelsOf(colorType)
      if (load<u8>(data + 10) != 0 || load<u8>(data + 11) != 0) fail('unknown PNG compression or filter method')
      if (load<u8>(data + 12) != 0) fail('interlaced PNGs are not supported')
      if (<u64>width * <u64>height * <u64>channels > MAX_PIXEL_BYTES) fail('PNG is too large')
    } else if (name == 0x49444154) { // IDAT
      memory.copy(idat + idatLen, data, size)
      idatLen += size
    } else if (name == 0x49454e44) { // IEND
      sawEnd = true
    } else if ((load<u8>(type) & 0x20) == 0) {
      fail('unknown critical PNG chunk')
    }
    at = data + size + 4
  }
  if (idatLen == 0) fail('PNG has no IDAT chunk')
  const stride = <usize>width * <usize>channels
  const raw = heap.alloc(<usize>height * (stride + 1))
  zlibInflate(idat, idatLen, raw, <usize>height * (stride + 1))
  pixels = heap.alloc(<usize>height * stride)
  const bpp = <usize>channels
  for (let row: usize = 0; row < <usize>height; row++) {
    const filter = load<u8>(raw + row * (stride + 1))
    const src = raw + row * (stride + 1) + 1
    const dst = pixels + row * stride
    const up = dst - stride
    if (filter > 4) fail('unknown PNG filter type')
    for (let i: usize = 0; i < stride; i++) {
      const x = <i32>load<u8>(src + i)
      const a = i >= bpp ? <i32>load<u8>(dst + i - bpp) : 0
      const b = row > 0 ? <i32>load<u8>(up + i) : 0
      const c = row > 0 && i >= bpp ? <i32>load<u8>(up + i - bpp) : 0
      let v = x
      if (filter == 1) v = x + a
      else if (filter == 2) v = x + b
      else if (filter == 3) v = x + ((a + b) >> 1)
      else if (filter == 4) v = x + paeth(a, b, c)
      store<u8>(dst + i, <u8>v)
    }
  }
}

/** Encodes width x height x channels at `pixels` as a PNG (see the header); returns the list<u8> result. */
function encodePng (): usize {
  const stride = <usize>width * <usize>channels
  const rawLen = <usize>height * (stride + 1)
  const blocks = (rawLen + 65534) / 65535
  const zlibLen = rawLen + blocks * 5 + 6
  const total = zlibLen + 57
  const out = heap.alloc(total)
  store<u64>(out, 0x0a1a0a0d474e5089)
  // IHDR
  let at = out + 8
  putBe32(at, 13)
  putBe32(at + 4, 0x49484452)
  putBe32(at + 8, width)
  putBe32(at + 12, height)
  store<u8>(at + 16, 8)
  store<u8>(at + 17, <u8>colorType)
  store<u8>(at + 18, 0)
  store<u8>(at + 19, 0)
  store<u8>(at + 20, 0)
  putBe32(at + 21, crc32(at + 4, 17))
  at += 25
  // IDAT: the raw rows (filter 0) first, at their final place after the block headers.
  putBe32(at, <u32>zlibLen)
  putBe32(at + 4, 0x49444154)
  const z = at + 8
  store<u8>(z, 0x78)
  store<u8>(z + 1, 0x01)
  const raw = heap.alloc(rawLen)
  for (let row: usize = 0; row < <usize>height; row++) {
    store<u8>(raw + row * (stride + 1), 0)
    memory.copy(raw + row * (stride + 1) + 1, pixels + row * stride, stride)
  }
  let w = z + 2
  for (let done: usize = 0; done < rawLen;) {
    const n = min(rawLen - done, 65535)
    store<u8>(w, done + n == rawLen ? 1 : 0)
    store<u8>(w + 1, <u8>(n & 0xff))
    store<u8>(w + 2, <u8>(n >> 8))
    store<u8>(w + 3, <u8>(~n & 0xff))
    store<u8>(w + 4, <u8>((~n >> 8) & 0xff))
    memory.copy(w + 5, raw + done, n)
    w += 5 + n
    done += n
  }
  putBe32(w, adler32(raw, rawLen))
  putBe32(z + zlibLen, crc32(at + 4, zlibLen + 4))
  at = z + zlibLen + 4
  // IEND
  putBe32(at, 0)
  putBe32(at + 4, 0x49454e44)
  putBe32(at + 8, crc32(at + 4, 4))
  return result(out, total)
}

// ---------------------------------------------------------------------------
// The operations.

export function crop (ptr: usize, len: usize, x: u32, y: u32, targetWidth: u32, targetHeight: u32): usize {
  decodePng(ptr, len)
  const x0 = min(x, width)
  const y0 = min(y, height)
  const w = min(targetWidth, width - x0)
  const h = min(targetHeight, height - y0)
  if (w == 0 || h == 0) fail('the crop rectangle is empty')
  const c = <usize>channels
  const out = heap.alloc(<usize>w * <usize>h * c)
  for (let row: usize = 0; row < <usize>h; row++) {
    memory.copy(out + row * <usize>w * c, pixels + ((<usize>y0 + row) * <usize>width + <usize>x0) * c, <usize>w * c)
  }
  width = w
  height = h
  pixels = out
  return encodePng()
}

export function rotate90 (ptr: usize, len: usize): usize {
  decodePng(ptr, len)
  const c = <usize>channels
  const w = <usize>height // the result's width
  const h = <usize>width
  const out = heap.alloc(w * h * c)
  for (let row: usize = 0; row < h; row++) {
    for (let col: usize = 0; col < w; col++) {
      // result (col, row) = input (x = row, y = H - 1 - col)
      const src = pixels + ((<usize>height - 1 - col) * <usize>width + row) * c
      const dst = out + (row * w + col) * c
      for (let k: usize = 0; k < c; k++) store<u8>(dst + k, load<u8>(src + k))
    }
  }
  width = <u32>w
  height = <u32>h
  pixels = out
  return encodePng()
}

/** One box-blur pass along rows (dx = channels) or columns. */
function boxPass (src: usize, dst: usize, r: i32, horizontal: bool): void {
  const c = <i32>channels
  const w = <i32>width
  const h = <i32>height
  const n = 2 * r + 1
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) {
        let sum = 0
        for (let d = -r; d <= r; d++) {
          let sx = x
          let sy = y
          if (horizontal) sx = min(max(x + d, 0), w - 1)
          else sy = min(max(y + d, 0), h - 1)
          sum += <i32>load<u8>(src + <usize>((sy * w + sx) * c + k))
        }
        store<u8>(dst + <usize>((y * w + x) * c + k), <u8>((sum + r) / n))
      }
    }
  }
}

export function blur (ptr: usize, len: usize, sigma: f32): usize {
  decodePng(ptr, len)
  let r = 0
  if (sigma > 0) {
    const s2 = <f64>sigma * <f64>sigma
    while (r < 64 && <f64>((r + 1) * (r + 2)) <= s2) r++
  }
  if (r > 0) {
    const size = <usize>width * <usize>height * <usize>channels
    const tmp = heap.alloc(size)
    for (let pass = 0; pass < 3; pass++) {
      boxPass(pixels, tmp, r, true)
      boxPass(tmp, pixels, r, false)
    }
  }
  return encodePng()
}

export function grayscale (ptr: usize, len: usize): usize {
  decodePng(ptr, len)
  if (channels >= 3) {
    const c = <usize>channels
    const count = <usize>width * <usize>height
    for (let i: usize = 0; i < count; i++) {
      const p = pixels + i * c
      const y = (77 * <u32>load<u8>(p) + 150 * <u32>load<u8>(p + 1) + 29 * <u32>load<u8>(p + 2) + 128) >> 8
      store<u8>(p, <u8>y)
      store<u8>(p + 1, <u8>y)
      store<u8>(p + 2, <u8>y)
    }
  }
  return encodePng()
}
