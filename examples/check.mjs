#!/usr/bin/env node
/**
 * Runs every example workflow directly on the built Wasm (no ipvm code) and
 * compares each task's result with `examples/workflows/expected.json`.
 *
 *   node examples/check.mjs            check (exit 1 on any mismatch)
 *   node examples/check.mjs --update   rewrite expected.json from the Wasm results
 *                                      (only if they also match the JS references)
 *
 * Run `node examples/build.mjs` first. For each rendered `workflows/*.json`,
 * tasks run in file order: `{"await/ok": {"/": InID}}` arguments are replaced
 * by the result of the earlier task with that instruction CID (recomputed here
 * from the file), `{"/": cid}` arguments are read from the module/data file
 * with that CID and passed through the bytes ABI (alloc, write, ptr + len).
 * Every Wasm result is also compared with a plain JavaScript implementation of
 * the same function, and the modules with published test vectors.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import * as dagJson from '@ipld/dag-json'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { unixfsCid } from './build.mjs'
import * as image from './src/image-png.mjs'

const EXAMPLES = fileURLToPath(new URL('.', import.meta.url))
const BUILD = join(EXAMPLES, 'build')
const DATA = join(EXAMPLES, 'data')
const WORKFLOWS = join(EXAMPLES, 'workflows')
const EXPECTED = join(WORKFLOWS, 'expected.json')

const failures = []
function _fail (message) {
  failures.push(message)
  console.error(`FAIL ${message}`)
}

// ---------------------------------------------------------------------------
// CIDs, computed here with node:crypto as a cross-check of build.mjs.

function _sha256 (bytes) {
  return Digest.create(0x12, createHash('sha256').update(bytes).digest())
}

/** InID: CIDv1(dag-cbor, sha2-256) of DAG-CBOR {rsc, op, input, nnc}. */
function _instructionCid ({ rsc, op, input, nnc }) {
  return CID.createV1(0x71, _sha256(dagCbor.encode({ rsc, op, input, nnc })))
}

/** Every module and data file by CID string. */
async function _contentByCid () {
  const byCid = new Map()
  const add = async (path, label) => {
    const bytes = new Uint8Array(await readFile(path))
    const cid = (await unixfsCid(bytes)).toString()
    // A file under one 256 KiB chunk is a single raw block: its UnixFS CID is its raw CID.
    if (bytes.length <= 262144) {
      const raw = CID.createV1(0x55, _sha256(bytes)).toString()
      if (raw !== cid) _fail(`${label}: UnixFS CID ${cid} is not the raw-leaf CID ${raw}`)
    }
    byCid.set(cid, { label, bytes })
  }
  for (const name of (await readdir(BUILD)).filter((n) => n.endsWith('.wasm')).sort()) {
    await add(join(BUILD, name), name)
  }
  for (const name of (await readdir(DATA)).sort()) await add(join(DATA, name), `data/${name}`)
  return byCid
}

// ---------------------------------------------------------------------------
// Export signatures, read from the binary (the JS API does not expose them).

const VALUE_TYPES = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64' }

/** Map of function export name -> { params, results }. */
function _exportSignatures (bytes) {
  let at = 8
  const u32 = () => {
    let result = 0
    let shift = 0
    for (;;) {
      const byte = bytes[at++]
      result += (byte & 0x7f) * 2 ** shift
      shift += 7
      if ((byte & 0x80) === 0) return result
    }
  }
  const name = () => {
    const length = u32()
    const text = new TextDecoder().decode(bytes.subarray(at, at + length))
    at += length
    return text
  }
  const valueType = () => {
    const type = VALUE_TYPES[bytes[at++]]
    if (type === undefined) throw new Error(`unsupported value type 0x${bytes[at - 1].toString(16)}`)
    return type
  }
  const types = []
  const functionTypes = []
  const exports = new Map()
  while (at < bytes.length) {
    const id = bytes[at++]
    const size = u32()
    const end = at + size
    if (id === 1) {
      for (let count = u32(); count > 0; count--) {
        if (bytes[at++] !== 0x60) throw new Error('bad function type')
        const params = Array.from({ length: u32() }, valueType)
        const results = Array.from({ length: u32() }, valueType)
        types.push({ params, results })
      }
    } else if (id === 2) {
      if (u32() > 0) throw new Error('example modules must have no imports')
    } else if (id === 3) {
      for (let count = u32(); count > 0; count--) functionTypes.push(u32())
    } else if (id === 7) {
      for (let count = u32(); count > 0; count--) {
        const exportName = name()
        const kind = bytes[at++]
        const index = u32()
        if (kind === 0) exports.set(exportName, types[functionTypes[index]])
      }
    }
    at = end
  }
  return exports
}

// ---------------------------------------------------------------------------
// Plain JavaScript versions of every guest function.

const I64 = (value) => BigInt.asIntN(64, value)
const U64 = (value) => BigInt.asUintN(64, value)

function _mandelbrotTile (x0, y0, step, size, maxIter) {
  let total = 0
  for (let row = 0; row < size; row++) {
    const cy = y0 + row * step
    for (let col = 0; col < size; col++) {
      const cx = x0 + col * step
      let zx = 0; let zy = 0; let zx2 = 0; let zy2 = 0; let n = 0
      while (n < maxIter && !(zx2 + zy2 > 4)) {
        zy = (zx + zx) * zy + cy
        zx = zx2 - zy2 + cx
        zx2 = zx * zx
        zy2 = zy * zy
        n++
      }
      total += n
    }
  }
  return BigInt(total)
}

function _splitmix (x) {
  let z = U64(x + 0x9E3779B97F4A7C15n)
  z = U64((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n)
  z = U64((z ^ (z >> 27n)) * 0x94D049BB133111EBn)
  return z ^ (z >> 31n)
}

function _chain (seed, rounds) {
  let x = U64(seed)
  for (let i = 0; i < rounds; i++) x = _splitmix(x)
  return I64(x)
}

function _fnv1a64 (bytes) {
  let hash = 0xcbf29ce484222325n
  for (const byte of bytes) hash = U64((hash ^ BigInt(byte)) * 0x100000001b3n)
  return I64(hash)
}

const isSpace = (byte) => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d

/** Reference implementations; `null` means "too slow in JS, checked on a prefix instead". */
const REFERENCE = {
  add: (a, b) => (a + b) | 0,
  sub: (a, b) => (a - b) | 0,
  mul: (a, b) => Math.imul(a, b),
  'add-one': (a) => (a + 1) | 0,
  add64: (a, b) => I64(a + b),
  tile: _mandelbrotTile,
  sum4: (a, b, c, d) => I64(a + b + c + d),
  mix: (x) => _chain(x, 1),
  chain: null,
  lines: (bytes) => bytes.filter((byte) => byte === 0x0a).length,
  words: (bytes) => bytes.filter((byte, i) => !isSpace(byte) && (i === 0 || isSpace(bytes[i - 1]))).length,
  fnv1a64: _fnv1a64
}

/**
 * WIT components are not run here: their workflows are computed by a JS
 * reference instead (examples/src/image-png.mjs decodes PNGs with node:zlib),
 * and test/examples.test.ts checks the Wasm, through ipvm, against the same
 * expected.json.
 */
const COMPONENT_REFERENCES = {
  'image.wasm': { crop: image.crop, rotate90: image.rotate90, blur: image.blur, grayscale: image.grayscale }
}

const _isComponent = (bytes) => bytes[4] === 0x0d && bytes[5] === 0x00 && bytes[6] === 0x01 && bytes[7] === 0x00

class _ReferenceGuest {
  constructor (functions) {
    this.functions = functions
  }

  call (func, args) {
    const fn = this.functions[func]
    if (fn === undefined) throw new Error(`no reference for ${func}`)
    const started = performance.now()
    const result = fn(...args)
    return { name: func, result, values: args, ms: performance.now() - started }
  }
}

// ---------------------------------------------------------------------------
// Running a task.

/** The ok value as expected.json holds it: numbers, decimal strings for i64 beyond 2^53, "sha256:…" for bytes. */
function _toExpected (value) {
  if (value instanceof Uint8Array) return `sha256:${createHash('sha256').update(value).digest('hex')}`
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  return value
}

function _toParam (value, type, label) {
  if (type === 'i64') return BigInt(value)
  const number = Number(value)
  if (type === 'i32' && (!Number.isInteger(number) || number < -(2 ** 31) || number >= 2 ** 32)) {
    throw new Error(`${label}: ${value} does not fit an i32`)
  }
  return number
}

class _Guest {
  constructor (module, signatures) {
    this.module = module
    this.signatures = signatures
  }

  /** Resolves `func` the way Homestar does: exact name, else snake_case -> kebab-case. */
  resolve (func) {
    if (this.signatures.has(func)) return func
    const kebab = func.replaceAll('_', '-')
    if (this.signatures.has(kebab)) return kebab
    throw new Error(`no export named ${func}`)
  }

  /** A fresh instance per call, as a task gets; args are JS numbers, bigints or Uint8Arrays. */
  call (func, args) {
    const name = this.resolve(func)
    const { params } = this.signatures.get(name)
    const { exports } = new WebAssembly.Instance(this.module)
    const lowered = []
    const values = []
    for (const arg of args) {
      if (arg instanceof Uint8Array) {
        // Bytes ABI: ptr = alloc(len); memory[ptr..ptr+len) = bytes; pass (ptr, len).
        const ptr = exports.alloc(arg.length) >>> 0
        new Uint8Array(exports.memory.buffer, ptr, arg.length).set(arg)
        lowered.push(ptr, arg.length)
        values.push(arg)
      } else {
        const value = _toParam(arg, params[lowered.length], `${func} argument ${lowered.length}`)
        lowered.push(value)
        values.push(value)
      }
    }
    if (lowered.length !== params.length) {
      throw new Error(`${func} takes ${params.length} Wasm parameters, the task gives ${lowered.length}`)
    }
    const started = performance.now()
    const result = exports[name](...lowered)
    return { name, result, values, ms: performance.now() - started }
  }
}

async function _loadGuest (bytes) {
  return new _Guest(await WebAssembly.compile(bytes), _exportSignatures(bytes))
}

/** Published test vectors, so the guests are checked against more than this file. */
async function _checkVectors (guests) {
  const text = guests.get('text.wasm')
  const hashchain = guests.get('hashchain.wasm')
  const encode = (s) => new TextEncoder().encode(s)
  const vectors = [
    // FNV-1a 64 (Fowler, Noll, Vo reference test suite)
    [text, 'fnv1a64', [encode('')], 0xcbf29ce484222325n],
    [text, 'fnv1a64', [encode('a')], 0xaf63dc4c8601ec8cn],
    [text, 'fnv1a64', [encode('foobar')], 0x85944171f73967e8n],
    // splitmix64: the first output of a generator seeded with 0
    [hashchain, 'mix', [0n], 0xe220a8397b1dcdafn],
    [hashchain, 'chain', [0n, 1], 0xe220a8397b1dcdafn],
    [hashchain, 'chain', [12345n, 0], 12345n],
    [text, 'lines', [encode('a\nb\n\nc')], 3],
    [text, 'words', [encode(' \t one  two\r\nthree\n')], 3],
    [text, 'words', [encode('')], 0]
  ]
  for (const [guest, func, args, expected] of vectors) {
    const { result } = guest.call(func, args)
    const want = typeof expected === 'bigint' ? I64(expected) : expected
    if (result !== want) _fail(`vector ${func}(${args.map(String).join(', ')}) = ${result}, want ${want}`)
  }
  // The allocator: repeated calls give disjoint aligned regions, and memory grows.
  const { exports } = new WebAssembly.Instance(text.module)
  const a = exports.alloc(10) >>> 0
  const b = exports.alloc(200000) >>> 0
  const c = exports.alloc(1) >>> 0
  const bytes = exports.memory.buffer.byteLength
  if (a === 0 || a % 8 !== 0 || b < a + 10 || b % 8 !== 0 || c < b + 200000 || bytes < c + 1) {
    _fail(`alloc gave ${a}, ${b}, ${c} with ${bytes} bytes of memory`)
  }
  // chain is too slow as BigInt JS for 3e7 rounds: check a prefix of it instead.
  const { result } = hashchain.call('chain', [0x0123456789abcdefn, 100000])
  const want = _chain(0x0123456789abcdefn, 100000)
  if (result !== want) _fail(`chain(0x0123456789abcdef, 100000) = ${result}, JS gives ${want}`)
}

async function main () {
  const update = process.argv.includes('--update')
  const content = await _contentByCid()
  const guests = new Map()
  const guestsByCid = new Map()
  // Guests of the IPLD-bytes and WASI ABIs are checked through ipvm itself
  // (test/examples.test.ts); this script runs core-ABI guests directly.
  const otherAbi = new Set()
  for (const [cid, { label, bytes }] of content) {
    if (!label.endsWith('.wasm')) continue
    if (_isComponent(bytes)) {
      if (COMPONENT_REFERENCES[label] !== undefined) guestsByCid.set(cid, new _ReferenceGuest(COMPONENT_REFERENCES[label]))
      else otherAbi.add(cid)
      continue
    }
    const module = new WebAssembly.Module(bytes)
    if (WebAssembly.Module.imports(module).length > 0 || WebAssembly.Module.exports(module).some((e) => e.name === 'ipvm_alloc')) {
      otherAbi.add(cid)
      continue
    }
    const guest = await _loadGuest(bytes)
    guests.set(label, guest)
    guestsByCid.set(cid, guest)
  }
  await _checkVectors(guests)

  const expected = JSON.parse(await readFile(EXPECTED, 'utf8').catch(() => '{}'))
  const actual = {}
  const files = (await readdir(WORKFLOWS))
    .filter((name) => name.endsWith('.json') && !name.endsWith('.template.json') && name !== 'expected.json')
    .sort()
  const skipped = []
  for (const file of files) {
    const workflow = dagJson.decode(await readFile(join(WORKFLOWS, file)))
    if (workflow.tasks.some((task) => otherAbi.has(task.run.rsc.replace(/^ipfs:\/\//, '')))) {
      skipped.push(file)
      console.log(`skip ${file.padEnd(16)} (IPLD-bytes or WASI guest: checked through ipvm by test/examples.test.ts)`)
      continue
    }
    const results = new Map()
    actual[file] = []
    for (const [index, task] of workflow.tasks.entries()) {
      const label = `${file} task ${index}`
      const keys = Object.keys(task).sort().join(',')
      if (keys !== 'meta,prf,run') _fail(`${label}: keys are ${keys}, Homestar tasks have meta, prf, run`)
      const { rsc, op, input } = task.run
      if (op !== 'wasm/run') _fail(`${label}: op ${op}`)
      const guest = guestsByCid.get(rsc.replace(/^ipfs:\/\//, ''))
      if (guest === undefined) {
        _fail(`${label}: no built module has the CID in ${rsc}`)
        actual[file].push(null)
        continue
      }
      const args = input.args.map((arg, position) => {
        const awaited = arg?.['await/ok']
        if (awaited !== undefined) {
          const key = CID.asCID(awaited)?.toString()
          if (!results.has(key)) throw new Error(`${label}: argument ${position} awaits ${awaited}, which no earlier task is`)
          return results.get(key)
        }
        const link = CID.asCID(arg)
        if (link !== null) {
          const file = content.get(link.toString())
          if (file === undefined) throw new Error(`${label}: argument ${position} links ${link}, which is no known file`)
          return file.bytes
        }
        if (typeof arg === 'string') return new TextEncoder().encode(arg)
        return arg
      })
      const { name, result, values, ms } = guest.call(input.func, args)
      results.set(_instructionCid(task.run).toString(), result)
      actual[file].push(_toExpected(result))

      const reference = REFERENCE[name]
      if (guest instanceof _ReferenceGuest) { /* the result is the JS reference's */ } else if (reference === undefined) _fail(`${label}: no JS reference for ${name}`)
      else if (reference !== null) {
        const want = reference(...values)
        if (want !== result) _fail(`${label}: ${name} gave ${result}, the JS reference gives ${want}`)
      }
      const shown = _toExpected(result)
      const want = expected[file]?.[index]
      const status = update ? 'ran ' : want !== undefined && String(want) === String(shown) ? 'ok  ' : 'FAIL'
      if (!update && status === 'FAIL') _fail(`${label}: ${input.func} gave ${shown}, expected ${want}`)
      console.log(`${status} ${file.padEnd(16)} #${index} ${input.func.padEnd(8)} = ${String(shown).padEnd(21)} ${ms.toFixed(1).padStart(7)} ms`)
    }
    if (!update && expected[file]?.length !== actual[file].length) {
      _fail(`${file}: ${actual[file].length} tasks, expected.json lists ${expected[file]?.length ?? 0}`)
    }
  }
  for (const file of Object.keys(expected)) {
    if (!(file in actual) && !skipped.includes(file)) _fail(`expected.json lists ${file}, which is not a rendered workflow`)
  }

  if (failures.length > 0) {
    console.error(`examples/check.mjs: ${failures.length} failure(s)`)
    process.exitCode = 1
  } else if (update) {
    for (const file of skipped) actual[file] = expected[file]
    const lines = Object.entries(actual).map(([file, values]) => `  ${JSON.stringify(file)}: ${JSON.stringify(values)}`)
    await writeFile(EXPECTED, `{\n${lines.join(',\n')}\n}\n`)
    console.log('wrote examples/workflows/expected.json')
  } else {
    console.log('examples/check.mjs: all tasks match expected.json')
  }
}

main().catch((err) => {
  console.error(`examples/check.mjs: ${err.stack}`)
  process.exitCode = 1
})
