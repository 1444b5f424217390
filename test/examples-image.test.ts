/**
 * The image example (examples/src/image.ts, a WIT component) through the real
 * runner: the crop → rotate90 → blur → grayscale workflow, the guest's PNG
 * decoder on other colour types and deflate block types, and bad input.
 * PNGs are decoded here with node:zlib; the guest's outputs are compared with
 * the JS reference in examples/src/image-png.mjs.
 */
import test, { before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { deflateSync, inflateSync, crc32, constants } from 'node:zlib'
import { memoryRepo } from '../src/store/memory-repo.js'
import { addFile } from '../src/store/unixfs.js'
import { LocalExecutor } from '../src/executor/local.js'
import { runWorkflowFile } from '../src/workflow/run-file.js'
import { decodeBlock } from '../src/model/block.js'
import { putModule, workflowFile } from './helpers.js'
import type { CID } from 'multiformats/cid'
import type { Receipt } from '../src/model/types.js'
import type { TaskReport } from '../src/workflow/run.js'

const examples = fileURLToPath(new URL('../../examples/', import.meta.url))
const referencePath = pathToFileURL(join(examples, 'src/image-png.mjs')).href
type Bytes = Uint8Array
const reference: {
  crop: (png: Bytes, x: number, y: number, w: number, h: number) => Bytes
  rotate90: (png: Bytes) => Bytes
  blur: (png: Bytes, sigma: number) => Bytes
  grayscale: (png: Bytes) => Bytes
} = await import(referencePath)

const repo = memoryRepo()
const executor = new LocalExecutor(repo.blocks, { threads: 1 })
let image: CID
let essay: CID
let source: Uint8Array

before(async () => {
  image = await putModule(repo.blocks, new Uint8Array(await readFile(join(examples, 'build/image.wasm'))))
  essay = (await addFile(repo.blocks, join(examples, 'data/essay.txt'))).cid
  await addFile(repo.blocks, join(examples, 'data/image.png'))
  source = new Uint8Array(await readFile(join(examples, 'data/image.png')))
})
after(async () => { await executor.stop() })

// ---------------------------------------------------------------------------
// PNG in the test, with node:zlib.

interface Image { width: number, height: number, colorType: number, channels: number, pixels: Uint8Array }
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 }

function paeth (a: number, b: number, c: number): number {
  const p = a + b - c
  const pa = Math.abs(p - a); const pb = Math.abs(p - b); const pc = Math.abs(p - c)
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c
}

/** Decodes an 8-bit non-interlaced PNG, checking every CRC. */
function decode (bytes: Uint8Array): Image {
  const buf = Buffer.from(bytes)
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature')
  let at = 8
  let header: Buffer | undefined
  const idat: Buffer[] = []
  for (;;) {
    const size = buf.readUInt32BE(at)
    const type = buf.toString('latin1', at + 4, at + 8)
    assert.equal(buf.readUInt32BE(at + 8 + size), crc32(buf.subarray(at + 4, at + 8 + size)), `${type} CRC`)
    const data = buf.subarray(at + 8, at + 8 + size)
    at += 12 + size
    if (type === 'IHDR') header = data
    if (type === 'IDAT') idat.push(data)
    if (type === 'IEND') break
  }
  assert.equal(at, buf.length, 'nothing after IEND')
  assert.ok(header !== undefined)
  const width = header.readUInt32BE(0)
  const height = header.readUInt32BE(4)
  const colorType = header[9] as number
  const channels = CHANNELS[colorType] as number
  assert.equal(header[8], 8)
  assert.equal(header[12], 0)
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  assert.equal(raw.length, height * (stride + 1))
  const pixels = new Uint8Array(height * stride)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)] as number
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? pixels[y * stride + i - channels] as number : 0
      const b = y > 0 ? pixels[(y - 1) * stride + i] as number : 0
      const c = y > 0 && i >= channels ? pixels[(y - 1) * stride + i - channels] as number : 0
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter] as number
      pixels[y * stride + i] = ((raw[y * (stride + 1) + 1 + i] as number) + predictor) & 255
    }
  }
  return { width, height, colorType, channels, pixels }
}

function chunk (type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'latin1')
  out.set(data, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}

interface EncodeOptions { depth?: number, interlace?: number, zlib?: Parameters<typeof deflateSync>[1], idatParts?: number }

/** Encodes pixels with rows filtered 0..4 in turn, compressed by node:zlib. */
function encode ({ width, height, colorType, channels, pixels }: Image, options: EncodeOptions = {}): Uint8Array {
  const stride = width * channels
  const raw = Buffer.alloc(height * (stride + 1))
  for (let y = 0; y < height; y++) {
    const filter = y % 5
    raw[y * (stride + 1)] = filter
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? pixels[y * stride + i - channels] as number : 0
      const b = y > 0 ? pixels[(y - 1) * stride + i] as number : 0
      const c = y > 0 && i >= channels ? pixels[(y - 1) * stride + i - channels] as number : 0
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter] as number
      raw[y * (stride + 1) + 1 + i] = ((pixels[y * stride + i] as number) - predictor) & 255
    }
  }
  const z = deflateSync(raw, options.zlib ?? {})
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([options.depth ?? 8, colorType, 0, 0, options.interlace ?? 0], 8)
  const parts = options.idatParts ?? 1
  const idat = Array.from({ length: parts }, (_, i) => chunk('IDAT', z.subarray(Math.floor(i * z.length / parts), Math.floor((i + 1) * z.length / parts))))
  return new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), ...idat, chunk('IEND', new Uint8Array(0))]))
}

/** Deterministic pixels: a hash of (x, y, channel). */
function picture (width: number, height: number, colorType: number): Image {
  const channels = CHANNELS[colorType] as number
  const pixels = new Uint8Array(width * height * channels)
  for (let i = 0; i < pixels.length; i++) pixels[i] = (Math.imul(i, 2654435761) >>> 24) ^ ((i / channels) & 0x3f)
  return { width, height, colorType, channels, pixels }
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

function imageTask (func: string, args: unknown[]): Record<string, unknown> {
  return { run: { rsc: `ipfs://${image.toString()}`, op: 'wasm/run', input: { func, args }, nnc: '' }, meta: { fuel: 1_000_000_000, memory: 67_108_864, time: 60_000 }, prf: [] }
}

function okBytes (task: TaskReport | undefined): Uint8Array {
  const out = task?.out as { ok?: unknown, error?: { name: string, message: string } } | undefined
  assert.ok(out?.ok instanceof Uint8Array, `${task?.func}: expected bytes, got ${JSON.stringify(out?.error ?? out)}`)
  return out.ok
}

async function receiptOf (task: TaskReport | undefined): Promise<Receipt> {
  assert.ok(task?.receiptCid !== undefined, `${task?.func} has a receipt`)
  return decodeBlock<Receipt>((await repo.blocks.get(task.receiptCid)) as Uint8Array)
}

// ---------------------------------------------------------------------------

test('image.json: crop, rotate90, blur and grayscale a PNG added with ipvm add', async () => {
  const bytes = new Uint8Array(await readFile(join(examples, 'workflows/image.json')))
  const report = await runWorkflowFile(bytes, 'image.json', { repo, executor })
  assert.equal(report.ok, true, JSON.stringify(report.tasks.map(t => (t.out as { error?: unknown }).error ?? 'ok')))
  const [cropped, rotated, blurred, gray] = report.tasks.map(okBytes) as [Bytes, Bytes, Bytes, Bytes]
  const input = decode(source)
  assert.deepEqual([input.width, input.height, input.colorType], [64, 48, 2])

  // crop(8, 4, 40, 32): the 40 x 32 rectangle at (8, 4).
  const c = decode(cropped)
  assert.deepEqual([c.width, c.height, c.colorType], [40, 32, 2])
  for (let y = 0; y < 32; y++) {
    assert.deepEqual(c.pixels.subarray(y * 120, (y + 1) * 120), input.pixels.subarray(((4 + y) * 64 + 8) * 3, ((4 + y) * 64 + 48) * 3), `cropped row ${y}`)
  }
  // rotate90: clockwise, so width and height swap; result (col, row) = input (row, H - 1 - col).
  const r = decode(rotated)
  assert.deepEqual([r.width, r.height], [32, 40])
  for (let row = 0; row < 40; row++) {
    for (let col = 0; col < 32; col++) {
      const src = ((31 - col) * 40 + row) * 3
      assert.deepEqual(r.pixels.subarray((row * 32 + col) * 3, (row * 32 + col) * 3 + 3), c.pixels.subarray(src, src + 3))
    }
  }
  // blur(2.5): same size, different pixels, same mean within rounding.
  const b = decode(blurred)
  assert.deepEqual([b.width, b.height], [32, 40])
  assert.notDeepEqual(b.pixels, r.pixels)
  const mean = (p: Uint8Array): number => p.reduce((s, v) => s + v, 0) / p.length
  assert.ok(Math.abs(mean(b.pixels) - mean(r.pixels)) < 2, 'a blur keeps the mean brightness')
  // grayscale: r = g = b everywhere, still RGB.
  const g = decode(gray)
  assert.deepEqual([g.width, g.height, g.colorType], [32, 40, 2])
  for (let i = 0; i < g.pixels.length; i += 3) {
    assert.ok(g.pixels[i] === g.pixels[i + 1] && g.pixels[i] === g.pixels[i + 2], `pixel ${i / 3} is gray`)
  }
  // Bit for bit what the JS reference gives.
  const want = reference.crop(source, 8, 4, 40, 32)
  const chain = [want, reference.rotate90(want)]
  chain.push(reference.blur(chain[1] as Bytes, 2.5))
  chain.push(reference.grayscale(chain[2] as Bytes))
  assert.deepEqual([cropped, rotated, blurred, gray].map(sha256), chain.map(sha256))

  const again = await runWorkflowFile(bytes, 'image.json', { repo, executor })
  assert.equal(again.executed, 0, 'a second run is answered from the receipts')
})

test('the guest decodes RGBA, gray and gray+alpha PNGs with stored, fixed and dynamic deflate blocks', async () => {
  const inputs = [
    // 200 x 100 RGBA: 80,100 bytes of rows, so more than one stored block in and out.
    encode(picture(200, 100, 6), { zlib: { level: 0 } }),
    encode(picture(33, 17, 0), { zlib: { strategy: constants.Z_FIXED } }),
    encode(picture(21, 30, 4), { zlib: { level: 9 }, idatParts: 3 }),
    encode(picture(7, 5, 2), { zlib: { level: 1 } })
  ]
  const calls: Array<[string, unknown[], Bytes]> = []
  for (const png of inputs) {
    calls.push(['grayscale', [png], reference.grayscale(png)])
    calls.push(['rotate90', [png], reference.rotate90(png)])
    calls.push(['blur', [png, 1.5], reference.blur(png, 1.5)])
    calls.push(['crop', [png, 3, 2, 1000, 4], reference.crop(png, 3, 2, 1000, 4)])
  }
  // A negative sigma leaves the pixels; a large one is capped at radius 64.
  calls.push(['blur', [inputs[3], -1.5], reference.blur(inputs[3] as Bytes, -1.5)])
  calls.push(['blur', [inputs[3], 100.5], reference.blur(inputs[3] as Bytes, 100.5)])
  const report = await runWorkflowFile(workflowFile(calls.map(([func, args]) => imageTask(func, args))), 'decoders', { repo, executor })
  for (const [index, [func, args, want]] of calls.entries()) {
    const got = okBytes(report.tasks[index])
    assert.equal(sha256(got), sha256(want), `task ${index}: ${func}(${args.length} args) matches the JS reference`)
  }
  const rgba = decode(okBytes(report.tasks[0]))
  assert.deepEqual([rgba.width, rgba.height, rgba.colorType], [200, 100, 6])
  const input = decode(inputs[0] as Bytes)
  for (let i = 0; i < rgba.pixels.length; i += 4) {
    assert.ok(rgba.pixels[i] === rgba.pixels[i + 1] && rgba.pixels[i] === rgba.pixels[i + 2], 'gray')
    assert.equal(rgba.pixels[i + 3], input.pixels[i + 3], 'alpha is kept')
  }
  const cropped = decode(okBytes(report.tasks[3]))
  assert.deepEqual([cropped.width, cropped.height], [197, 4], 'the crop is clamped to the image')
  const unblurred = decode(okBytes(report.tasks[16]))
  assert.deepEqual(unblurred.pixels, decode(inputs[3] as Bytes).pixels, 'a negative sigma leaves the pixels')
})

test('bad input is a named error receipt with the reason in its log, and the worker carries on', async () => {
  const good = encode(picture(8, 8, 2))
  const corrupt = Uint8Array.from(good)
  corrupt[20] = (corrupt[20] as number) ^ 1 // inside IHDR: its CRC no longer matches
  const cases: Array<[string, unknown[], RegExp]> = [
    ['grayscale', [essay], /not a PNG/], // a UnixFS file that is not a PNG, as a link
    ['grayscale', [new TextEncoder().encode('not a png at all')], /not a PNG/],
    ['grayscale', [new Uint8Array(0)], /not a PNG/],
    ['rotate90', [encode(picture(8, 8, 2), { interlace: 1 })], /interlaced/],
    ['rotate90', [encode(picture(8, 8, 0), { depth: 16 })], /8-bit/],
    ['rotate90', [encode({ ...picture(8, 8, 0), colorType: 3 })], /palette/],
    ['blur', [corrupt, 1.5], /CRC/],
    ['blur', [good.subarray(0, good.length - 20), 1.5], /truncated/],
    ['crop', [good, 8, 0, 4, 4], /empty/]
  ]
  const tasks = cases.map(([func, args]) => imageTask(func, args))
  tasks.push(imageTask('grayscale', [good]))
  const report = await runWorkflowFile(workflowFile(tasks), 'bad-input', { repo, executor })
  assert.equal(report.ok, false)
  for (const [index, [func, , reason]] of cases.entries()) {
    const task = report.tasks[index]
    const error = (task?.out as { error?: { name: string, message: string } }).error
    assert.equal(error?.name, 'Trap', `${func} case ${index}: ${JSON.stringify(task?.out)}`)
    const receipt = await receiptOf(task)
    const log = ((receipt as unknown as { meta: { log?: string[] } }).meta.log ?? []).join('\n')
    assert.match(log, reason, `case ${index}: the reason is logged`)
    assert.match(log, /^error image: /)
  }
  assert.equal(decode(okBytes(report.tasks.at(-1))).width, 8, 'a good call after the bad ones still works')
})
