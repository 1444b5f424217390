import test from 'node:test'
import assert from 'node:assert/strict'
import { WasmPool } from '../../src/wasm/pool.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { wat, MATH_WAT } from '../helpers.js'
import type { WasmArgument } from '../../src/wasm/abi.js'
import type { WasmOutcome } from '../../src/wasm/pool.js'

const math = await wat(MATH_WAT)
const mathCid = cidOf(math, codecs.raw)
const pool = new WasmPool({ threads: 2 })
test.after(async () => { await pool.stop() })

let loads = 0
async function call (func: string, args: WasmArgument[], timeoutMs = 5000, bytes = math): Promise<WasmOutcome> {
  return await pool.run({ moduleCid: bytes === math ? mathCid : cidOf(bytes, codecs.raw), loadModule: async () => { loads++; return bytes }, func, args, timeoutMs })
}

function okOf (outcome: WasmOutcome): unknown {
  return 'ok' in outcome ? outcome.ok : outcome.error
}

function errorName (outcome: WasmOutcome): string | undefined {
  return 'error' in outcome ? outcome.error.name : undefined
}

test('numbers: i32, i64 (exact beyond 2^53), f64, multi-value and no result', async () => {
  assert.deepEqual(okOf(await call('add', [2, 3])), 5)
  assert.deepEqual(okOf(await call('add', [-7, 4294967295])), -8, 'u32 inputs are accepted and wrap as i32 does')
  assert.equal(okOf(await call('add64', [9007199254740993n, 1])), 9007199254740994n)
  assert.equal(okOf(await call('add64', [1, 2])), 3, 'small i64 results are plain numbers')
  assert.equal(okOf(await call('add64', [18446744073709551615n, 1n])), 0, 'u64 max + 1 wraps to 0')
  assert.equal(okOf(await call('half', [3])), 1.5)
  assert.deepEqual(okOf(await call('pair', [41])), [41, 42])
  assert.equal(okOf(await call('nothing', [])), null)
})

test('strings and bytes pass as (ptr, len) through the guest\'s alloc', async () => {
  assert.equal(okOf(await call('sum', [new Uint8Array([1, 2, 3, 250])])), 256)
  assert.equal(okOf(await call('sum', ['AB'])), 65 + 66)
  assert.equal(okOf(await call('sum', [new Uint8Array(0)])), 0)
})

test('function names match in snake_case and kebab-case', async () => {
  assert.equal(okOf(await call('add_one', [41])), 42)
  assert.equal(okOf(await call('add-one', [1])), 2)
})

test('wrong argument count or type is an ArgumentError that names the signature', async () => {
  const count = await call('add', [1])
  assert.equal(errorName(count), 'ArgumentError')
  assert.match('error' in count ? count.error.message : '', /add has signature \(i32, i32\) -> \(i32\).*takes 2 parameter/)
  const cases: WasmArgument[][] = [[1.5, 2], [2 ** 32, 1], [{ a: 1 }, 2], [[1], 2], [null, 1], [1, 2, 3]]
  for (const args of cases) assert.equal(errorName(await call('add', args)), 'ArgumentError', JSON.stringify(args))
  assert.equal(errorName(await call('add64', [2 ** 60, 1])), 'ArgumentError', 'an inexact i64 number is refused, not rounded')
  const noAlloc = await wat('(module (func (export "len") (param i32 i32) (result i32) local.get 1))')
  const bytes = await call('len', [new Uint8Array([1])], 5000, noAlloc)
  assert.equal(errorName(bytes), 'ArgumentError')
  assert.match('error' in bytes ? bytes.error.message : '', /alloc/)
})

test('traps, stack overflow and unrepresentable results are named errors', async () => {
  const trap = await call('fail', [])
  assert.equal(errorName(trap), 'Trap')
  assert.match('error' in trap ? trap.error.message : '', /unreachable/)
  assert.equal(errorName(await call('div', [1, 0])), 'Trap')
  assert.equal(errorName(await call('deep', [0])), 'StackOverflow')
  assert.equal(errorName(await call('nan', [])), 'UnrepresentableResult')
})

test('missing or non-function exports list what the module has', async () => {
  const missing = await call('subtract', [1, 2])
  assert.equal(errorName(missing), 'ExportNotFound')
  assert.match('error' in missing ? missing.error.message : '', /has no export subtract; its functions are: alloc, add, mul/)
  const notFunction = await call('memory', [])
  assert.equal(errorName(notFunction), 'ExportNotFound')
  assert.match('error' in notFunction ? notFunction.error.message : '', /is a memory, not a function/)
})

test('bytes that are not Wasm, components and modules with imports are refused', async () => {
  const notWasm = await call('f', [], 5000, new TextEncoder().encode('hello, I am a text file'))
  assert.equal(errorName(notWasm), 'InvalidModule')
  assert.match('error' in notWasm ? notWasm.error.message : '', /not a valid core WebAssembly module/)
  assert.equal(errorName(await call('f', [], 5000, new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]))), 'InvalidModule')
  const badBody = new Uint8Array([...math.subarray(0, math.byteLength - 3), 0xff, 0xff, 0xff])
  assert.equal(errorName(await call('add', [1, 2], 5000, badBody)), 'InvalidModule')
  const imports = await wat('(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))) (func (export "f")))')
  const refused = await call('f', [], 5000, imports)
  assert.equal(errorName(refused), 'UnsupportedImport')
  assert.match('error' in refused ? refused.error.message : '', /wasi_snapshot_preview1\.fd_write/)
})

test('a trap in the start function is a Trap', async () => {
  const start = await wat('(module (func $s unreachable) (start $s) (func (export "f")))')
  assert.equal(errorName(await call('f', [], 5000, start)), 'Trap')
})

test('an infinite loop hits the hard timeout; its worker is replaced and the pool keeps serving', async () => {
  const started = performance.now()
  const spun = await call('spin', [], 300)
  assert.equal(errorName(spun), 'Timeout')
  assert.match('error' in spun ? spun.error.message : '', /time limit of 300 ms/)
  assert.ok(performance.now() - started < 5000)
  // Every worker still answers (the replaced one asks for the module again).
  const results = await Promise.all(Array.from({ length: 8 }, async (_, i) => await call('add', [i, 1])))
  assert.deepEqual(results.map(okOf), [1, 2, 3, 4, 5, 6, 7, 8])
})

test('modules are sent once and compiled once per worker', async () => {
  const fresh = await wat('(module (func (export "seven") (result i32) i32.const 7))')
  loads = 0
  const results = await Promise.all(Array.from({ length: 20 }, async () => await call('seven', [], 5000, fresh)))
  assert.ok(results.every(r => okOf(r) === 7))
  // The first task sends the bytes; a worker that has not seen the module asks
  // for them; concurrent asks share one read. Never once per task.
  assert.ok(loads >= 1 && loads <= 1 + 2 * pool.threads, `loaded ${loads} times`)
})

test('an aborted task is an Aborted error, and stop() is safe twice', async () => {
  const local = new WasmPool({ threads: 1 })
  const controller = new AbortController()
  const pending = local.run({ moduleCid: mathCid, loadModule: async () => math, func: 'spin', args: [], timeoutMs: 10_000, signal: controller.signal })
  setTimeout(() => controller.abort(), 100)
  const outcome = await pending
  assert.equal(errorName(outcome), 'Aborted')
  await local.stop()
  await local.stop()
  await assert.rejects(local.run({ moduleCid: mathCid, loadModule: async () => math, func: 'add', args: [1, 2], timeoutMs: 100 }), /stopped/)
})

test('pool options are validated', () => {
  assert.throws(() => new WasmPool({ threads: 0 }), RangeError)
  assert.throws(() => new WasmPool({ threads: 1.5 }), /threads/)
  assert.throws(() => new WasmPool({ maxWorkerHeapMb: 1 }), /maxWorkerHeapMb/)
})
