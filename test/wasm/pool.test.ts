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
const limits = { fuel: 1_000_000_000n, memoryBytes: 16 * 1024 * 1024, seed: new Uint8Array(32) }
async function call (func: string, args: WasmArgument[], timeoutMs = 5000, bytes = math, fuel = limits.fuel): Promise<WasmOutcome> {
  return await pool.run({ moduleCid: bytes === math ? mathCid : cidOf(bytes, codecs.raw), loadModule: async () => { loads++; return bytes }, func, args, timeoutMs, ...limits, fuel })
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

test('bytes that are not Wasm, components and modules with forbidden imports are refused, naming why', async () => {
  const notWasm = await call('f', [], 5000, new TextEncoder().encode('hello, I am a text file'))
  assert.equal(errorName(notWasm), 'InvalidModule')
  assert.equal('error' in notWasm ? typeof notWasm.error.offset : '', 'number', 'the byte offset is reported')
  const component = await call('f', [], 5000, new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]))
  assert.equal(errorName(component), 'UnsupportedFeature')
  assert.equal('error' in component ? component.error.feature : '', 'component-model')
  const badBody = new Uint8Array([...math.subarray(0, math.byteLength - 3), 0xff, 0xff, 0xff])
  assert.equal(errorName(await call('add', [1, 2], 5000, badBody)), 'InvalidModule')
  const imports = await wat('(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))) (func (export "f")))')
  const refused = await call('f', [], 5000, imports)
  assert.equal(errorName(refused), 'ForbiddenImport')
  assert.match('error' in refused ? refused.error.message : '', /wasi_snapshot_preview1/)
  assert.equal('error' in refused ? refused.fuel : -1n, 0n, 'nothing ran')
})

test('fuel: deterministic, recorded, and a hard limit (OutOfFuel uses exactly the limit)', async () => {
  const first = await call('sum', [new Uint8Array(1000).fill(1)])
  const second = await call('sum', [new Uint8Array(1000).fill(1)])
  assert.equal(okOf(first), 1000)
  assert.ok(first.fuel !== null && first.fuel > 1000n, `fuel ${first.fuel}`)
  assert.equal(first.fuel, second.fuel)
  const bigger = await call('sum', [new Uint8Array(2000).fill(1)])
  assert.ok((bigger.fuel as bigint) > (first.fuel as bigint), 'more work, more fuel')
  const starved = await call('spin', [], 5000, math, 10_000n)
  assert.equal(errorName(starved), 'OutOfFuel')
  assert.equal(starved.fuel, 10_000n)
})

test('the deterministic host: clock from fuel, random from the seed, logs captured', async () => {
  const host = await wat(`(module
    (import "ipvm" "now_ms" (func $now (result i64)))
    (import "ipvm" "random_fill" (func $random (param i32 i32)))
    (import "ipvm" "log" (func $log (param i32 i32)))
    (memory (export "memory") 1)
    (data (i32.const 100) "hello")
    (func (export "now") (result i64) call $now)
    (func (export "rand") (result i64) i32.const 0 i32.const 8 call $random i32.const 0 i64.load)
    (func (export "hello") (result i32) i32.const 100 i32.const 5 call $log i32.const 1))`)
  const now = okOf(await call('now', [], 5000, host))
  assert.equal(BigInt(now as number | bigint) >= 1_577_836_800_000n, true)
  const a = okOf(await call('rand', [], 5000, host))
  assert.equal(okOf(await call('rand', [], 5000, host)), a, 'same seed, same numbers')
  const other = await pool.run({ moduleCid: cidOf(host, codecs.raw), loadModule: async () => host, func: 'rand', args: [], timeoutMs: 5000, ...limits, seed: new Uint8Array(32).fill(1) })
  assert.notEqual(okOf(other), a, 'another seed, other numbers')
  const logged = await call('hello', [], 5000, host)
  assert.deepEqual(logged.log, ['hello'])
})

test('a trap in the start function is a Trap', async () => {
  const start = await wat('(module (func $s unreachable) (start $s) (func (export "f")))')
  assert.equal(errorName(await call('f', [], 5000, start)), 'Trap')
})

test('an infinite loop hits the hard timeout; its worker is replaced and the pool keeps serving', async () => {
  const started = performance.now()
  const spun = await call('spin', [], 300, math, 2n ** 47n)
  assert.equal(errorName(spun), 'Timeout')
  assert.match('error' in spun ? spun.error.message : '', /time limit of 300 ms/)
  assert.ok(performance.now() - started < 5000)
  // Every worker still answers (the replaced one asks for the module again).
  const results = await Promise.all(Array.from({ length: 8 }, async (_, i) => await call('add', [i, 1])))
  assert.deepEqual(results.map(okOf), [1, 2, 3, 4, 5, 6, 7, 8])
})

test('a module is compiled once per worker; once every worker holds it, its bytes stay home', async () => {
  const fresh = await wat('(module (func (export "seven") (result i32) i32.const 7))')
  const results = await Promise.all(Array.from({ length: 20 }, async () => await call('seven', [], 5000, fresh)))
  assert.ok(results.every(r => okOf(r) === 7))
  const compiles = results.filter(r => r.compiled).length
  assert.ok(compiles >= 1 && compiles <= pool.threads, `compiled ${compiles} times on ${pool.threads} workers`)
  // Every worker holds it after enough tasks; then no task reads the bytes again.
  for (let i = 0; i < 20; i++) await Promise.all(Array.from({ length: pool.threads * 2 }, async () => await call('seven', [], 5000, fresh)))
  loads = 0
  await Promise.all(Array.from({ length: 10 }, async () => await call('seven', [], 5000, fresh)))
  assert.equal(loads, 0, 'no bytes were read once every worker held the module')
})

test('an aborted task is an Aborted error, and stop() is safe twice', async () => {
  const local = new WasmPool({ threads: 1 })
  const controller = new AbortController()
  const pending = local.run({ moduleCid: mathCid, loadModule: async () => math, func: 'spin', args: [], timeoutMs: 10_000, signal: controller.signal, ...limits, fuel: 2n ** 47n })
  setTimeout(() => controller.abort(), 100)
  const outcome = await pending
  assert.equal(errorName(outcome), 'Aborted')
  await local.stop()
  await local.stop()
  await assert.rejects(local.run({ moduleCid: mathCid, loadModule: async () => math, func: 'add', args: [1, 2], timeoutMs: 100, ...limits }), /stopped/)
})

test('pool options are validated', () => {
  assert.throws(() => new WasmPool({ threads: 0 }), RangeError)
  assert.throws(() => new WasmPool({ threads: 1.5 }), /threads/)
  assert.throws(() => new WasmPool({ maxWorkerHeapMb: 1 }), /maxWorkerHeapMb/)
})
