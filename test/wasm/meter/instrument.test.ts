/**
 * instrument(): round trips (modules of every shape still validate and
 * behave the same), exact fuel accounting, limits (depth, memory, tables),
 * NaN canonicalization, and the host protocol.
 */

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  DEFAULT_COST_TABLE, DEFAULT_LIMITS, MAX_FUEL, MeteredInstance, START_EXPORT, instrument, requireWasmEngine
} from '../../../src/wasm/meter/index.js'
import type { InstrumentOptions, WasmGlobal, WasmImports, WasmInstance, WasmMemory } from '../../../src/wasm/meter/index.js'
import { engineValid, instantiate, wasm2wat, wat } from './helpers.js'

const BIG_FUEL = 10n ** 12n
const bitsOf = (x: number): bigint => new BigUint64Array(new Float64Array([x]).buffer)[0] as bigint
const bits32Of = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0] as number

async function meter (source: string, options: InstrumentOptions = {}, imports?: WasmImports, fuel = BIG_FUEL): Promise<MeteredInstance> {
  const { bytes } = instrument(await wat(source), options)
  assert.ok(engineValid(bytes), await wasm2wat(bytes))
  return new MeteredInstance(instantiate(bytes, imports), fuel)
}

function errorName (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as Error).name
  }
  return 'no error'
}

describe('round trips', () => {
  it('an empty module', async () => {
    const { bytes, summary, exports } = instrument(await wat('(module)'))
    assert.ok(engineValid(bytes))
    assert.equal(summary.definedFunctions, 0)
    const instance = instantiate(bytes)
    assert.deepEqual(Object.keys(instance.exports).sort(), ['__ipvm_depth', '__ipvm_fuel', '__ipvm_trap_reason'])
    assert.equal(exports.start, undefined)
  })

  it('a module with data but no functions keeps its data', async () => {
    const { bytes } = instrument(await wat('(module (memory (export "m") 1) (data (i32.const 3) "abc"))'))
    const memory = instantiate(bytes).exports.m as WasmMemory
    assert.deepEqual([...new Uint8Array(memory.buffer, 3, 3)], [97, 98, 99])
  })

  it('imports: calls, call_indirect and ref.func reach the host through adapters', async () => {
    const source = `(module
      (import "host" "add" (func $add (param i32 i32) (result i32)))
      (import "host" "noop" (func $noop))
      (type $bin (func (param i32 i32) (result i32)))
      (table 2 funcref)
      (elem (i32.const 0) $add $local)
      (global $g funcref (ref.func $add))
      (func $local (type $bin) (i32.mul (local.get 0) (local.get 1)))
      (func (export "direct") (param i32 i32) (result i32) (call $noop) (call $add (local.get 0) (local.get 1)))
      (func (export "indirect") (param i32 i32 i32) (result i32) (call_indirect (type $bin) (local.get 0) (local.get 1) (local.get 2)))
      (func (export "viaGlobal") (param i32 i32) (result i32)
        (table.set 0 (i32.const 1) (global.get $g))
        (call_indirect (type $bin) (local.get 0) (local.get 1) (i32.const 1)))
      (export "reexported" (func $add)))`
    const calls: string[] = []
    const imports = { host: { add: (a: number, b: number) => { calls.push('add'); return a + b }, noop: () => { calls.push('noop') } } }
    const original = instantiate(await wat(source), imports)
    const run = await meter(source, { allowedImports: new Set(['host.*']) }, imports)
    for (const [name, args] of [['direct', [2, 3]], ['indirect', [2, 3, 0]], ['indirect', [2, 3, 1]], ['viaGlobal', [4, 5]], ['reexported', [1, 1]]] as const) {
      assert.equal(run.call(name, ...args), (original.exports[name] as (...a: number[]) => number)(...args), name)
    }
    assert.ok(calls.includes('noop'))
  })

  it('ref.func of an import declared only by its export', async () => {
    const source = `(module
      (import "host" "add" (func $add (param i32 i32) (result i32)))
      (export "add" (func $add))
      (type $bin (func (param i32 i32) (result i32)))
      (table 1 funcref)
      (func (export "viaRef") (param i32 i32) (result i32)
        (table.set (i32.const 0) (ref.func $add))
        (call_indirect (type $bin) (local.get 0) (local.get 1) (i32.const 0))))`
    const imports = { host: { add: (a: number, b: number) => a + b } }
    const run = await meter(source, { allowedImports: new Set(['host.add']) }, imports)
    assert.equal(run.call('viaRef', 20, 22), 42)
    assert.equal(run.call('add', 1, 2), 3)
  })

  it('a start function becomes the __ipvm_start export and runs, metered, once', async () => {
    const source = '(module (global $g (export "g") (mut i32) (i32.const 1)) (func $s (global.set $g (i32.mul (global.get $g) (i32.const 7)))) (start $s) (func (export "get") (result i32) (global.get $g)))'
    assert.equal((instantiate(await wat(source)).exports.g as WasmGlobal).value, 7)
    const { bytes, exports, summary } = instrument(await wat(source))
    assert.equal(exports.start, START_EXPORT)
    assert.equal(summary.startFunction, 0)
    const run = new MeteredInstance(instantiate(bytes), 1000n)
    assert.equal(run.fuelUsed, 0n)
    assert.equal(run.call('get'), 7)
    assert.equal(run.call('get'), 7, 'the start function must run only once')
    assert.ok(run.fuelUsed > 0n)
  })

  it('multi-value functions, blocks with parameters, and loops with results', async () => {
    const source = `(module
      (type $pair (func (param i32) (result i32 i32)))
      (func $swap (export "swap") (param i32 i64 f64) (result f64 i64 i32) (local.get 2) (local.get 1) (local.get 0))
      (func (export "sum") (param i32) (result i32)
        (i32.const 10) (local.get 0)
        (block (type $pair) (i32.add (i32.const 1)) (i32.const 2))
        (i32.add) (i32.add)
        (block (param i32) (result i32) (loop (param i32) (result i32) (i32.const 1) (i32.add))))
      (func (export "early") (param i32) (result i32 i64)
        (block (if (local.get 0) (then (return (i32.const 1) (i64.const 2)))))
        (i32.const 3) (i64.const 4) (br 0)))`
    const original = instantiate(await wat(source))
    const run = await meter(source)
    assert.deepEqual(run.call('swap', 1, 2n, 3.5), (original.exports.swap as (...a: unknown[]) => unknown)(1, 2n, 3.5))
    assert.equal(run.call('sum', 5), (original.exports.sum as (a: number) => number)(5))
    assert.deepEqual(run.call('early', 1), [1, 2n])
    assert.deepEqual(run.call('early', 0), [3, 4n])
  })

  it('bulk memory and table ops, passive segments, reference types', async () => {
    const source = `(module
      (memory (export "memory") 1)
      (data $d "hello")
      (table $t 4 funcref)
      (table $ext 2 externref)
      (elem $e func $one $two)
      (func $one (result i32) (i32.const 1))
      (func $two (result i32) (i32.const 2))
      (func (export "bulk") (result i32)
        (memory.init $d (i32.const 100) (i32.const 0) (i32.const 5))
        (data.drop $d)
        (memory.copy (i32.const 200) (i32.const 100) (i32.const 5))
        (memory.fill (i32.const 300) (i32.const 33) (i32.const 10))
        (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 2))
        (elem.drop $e)
        (table.copy $t $t (i32.const 2) (i32.const 0) (i32.const 2))
        (table.fill $t (i32.const 0) (ref.null func) (i32.const 1))
        (i32.add (i32.load8_u (i32.const 204)) (call_indirect $t (result i32) (i32.const 3))))
      (func (export "refs") (param externref) (result i32)
        (table.set $ext (i32.const 0) (local.get 0))
        (drop (table.grow $ext (ref.null extern) (i32.const 3)))
        (i32.add (table.size $ext) (select (result i32) (i32.const 10) (i32.const 20) (ref.is_null (table.get $ext (i32.const 0)))))))`
    const original = instantiate(await wat(source))
    const run = await meter(source)
    assert.equal(run.call('bulk'), (original.exports.bulk as () => number)())
    const token = { any: 'object' }
    assert.equal(run.call('refs', token), (original.exports.refs as (x: unknown) => number)(token))
    const a = new Uint8Array((original.exports.memory as WasmMemory).buffer, 0, 400)
    const b = new Uint8Array((run.instance.exports.memory as WasmMemory).buffer, 0, 400)
    assert.deepEqual(b, a)
  })

  it('keeps custom sections and renumbers local names', async () => {
    const base = await wat('(module (func $f (export "f") (param $a i32) (result i32) (local $b i32) (local.set $b (local.get $a)) (local.get $b)))')
    // Append a custom section "meta" with bytes 1 2 3.
    const custom = [0x00, 0x08, 0x04, 0x6D, 0x65, 0x74, 0x61, 1, 2, 3]
    const module = new Uint8Array([...base, ...custom])
    const { bytes, summary } = instrument(module)
    assert.deepEqual(summary.customSections, ['name', 'meta'])
    const text = await wasm2wat(bytes)
    assert.match(text, /\$f/)
    assert.match(text, /\(param \$a i32\) \(param i64\)/)
    assert.match(text, /\(local \$b i32\)/)
    const tail = bytes.subarray(bytes.length - custom.length)
    assert.deepEqual([...tail], custom)
  })

  it('a function that is both start and exported shares one wrapper', async () => {
    const source = '(module (global $n (mut i32) (i32.const 0)) (func $s (export "s") (global.set $n (i32.add (global.get $n) (i32.const 1)))) (start $s) (func (export "n") (result i32) (global.get $n)))'
    const run = await meter(source)
    run.call('s')
    assert.equal(run.call('n'), 2)
  })

  it('instrumentation with every switch off still behaves identically', async () => {
    const source = '(module (func (export "f") (param i32) (result i32) (local i32) (loop (local.set 1 (i32.add (local.get 1) (local.get 0))) (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))) (local.get 1)))'
    const { bytes } = instrument(await wat(source), { fuel: false, callDepth: false, nanCanonicalization: 'off' })
    assert.ok(engineValid(bytes))
    assert.equal((instantiate(bytes).exports.f as (n: number) => number)(100), 5050)
  })
})

describe('fuel', () => {
  const costs = DEFAULT_COST_TABLE.opcodes

  it('charges exactly the cost table for straight-line code', async () => {
    const run = await meter('(module (func (export "f") (result i32) (i32.mul (i32.add (i32.const 1) (i32.const 2)) (i32.const 3))))')
    assert.equal(run.call('f'), 9)
    const expected = (costs[0x41] as number) * 3 + (costs[0x6A] as number) + (costs[0x6C] as number)
    assert.equal(run.fuelUsed, BigInt(expected))
  })

  it('charges each loop iteration, and grows linearly with work', async () => {
    const source = '(module (func (export "f") (param i32) (result i32) (local i32) (block (loop (br_if 1 (i32.eqz (local.get 0))) (local.set 1 (i32.add (local.get 1) (local.get 0))) (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br 0))) (local.get 1)))'
    const used: bigint[] = []
    for (const n of [0, 1, 10, 100, 1000]) {
      const run = await meter(source)
      run.call('f', n)
      used.push(run.fuelUsed)
    }
    const perIteration = ((used[2] as bigint) - (used[1] as bigint)) / 9n
    assert.ok(perIteration > 0n)
    assert.equal((used[2] as bigint) - (used[1] as bigint), perIteration * 9n)
    assert.equal((used[3] as bigint) - (used[2] as bigint), perIteration * 90n)
    assert.equal((used[4] as bigint) - (used[3] as bigint), perIteration * 900n)
  })

  it('grows with work in recursive code and is the same on every run', async () => {
    const source = '(module (func $fib (export "fib") (param i32) (result i32) (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0)) (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1))) (call $fib (i32.sub (local.get 0) (i32.const 2))))))))'
    let previous = 0n
    for (const n of [5, 10, 15, 20]) {
      const a = await meter(source)
      const b = await meter(source)
      assert.equal(a.call('fib', n), b.call('fib', n))
      assert.equal(a.fuelUsed, b.fuelUsed)
      assert.ok(a.fuelUsed > previous)
      previous = a.fuelUsed
    }
  })

  it('out of fuel: fuelUsed is exactly the limit, for every limit', async () => {
    const source = '(module (func (export "spin") (loop (br 0))))'
    for (const limit of [0n, 1n, 2n, 3n, 1000n, 123457n]) {
      const run = await meter(source, {}, undefined, limit)
      assert.equal(errorName(() => run.call('spin')), 'OutOfFuel')
      assert.equal(run.fuelUsed, limit)
      assert.equal(run.fuelRemaining, 0n)
    }
  })

  it('a shared budget: start function and calls draw from the same fuel', async () => {
    const source = '(module (func $s (loop (br 0))) (start $s) (func (export "f")))'
    const run = await meter(source, {}, undefined, 5000n)
    assert.equal(errorName(() => run.call('f')), 'OutOfFuel')
    assert.equal(run.fuelUsed, 5000n)
  })

  it('charges memory.grow per page granted and bulk ops per byte', async () => {
    const source = `(module (memory 1 10)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "fill") (param i32) (memory.fill (i32.const 0) (i32.const 1) (local.get 0))))`
    const grow = async (pages: number): Promise<[unknown, bigint]> => {
      const run = await meter(source)
      const result = run.call('grow', pages)
      return [result, run.fuelUsed]
    }
    const [r0, f0] = await grow(0)
    const [r3, f3] = await grow(3)
    const [rBig, fBig] = await grow(100)
    assert.equal(r0, 1)
    assert.equal(r3, 1)
    assert.equal(rBig, -1)
    assert.equal(f3 - f0, 3n * BigInt(DEFAULT_COST_TABLE.memoryGrowPerPage))
    assert.equal(fBig, f0, 'a failed grow costs no more than growing by 0')
    const fill = async (n: number): Promise<bigint> => {
      const run = await meter(source)
      run.call('fill', n)
      return run.fuelUsed
    }
    const base = await fill(0)
    assert.equal(await fill(7), base)
    assert.equal(await fill(8), base + 1n)
    assert.equal(await fill(65536), base + 8192n)
  })

  it('a host import can charge fuel and call back into the module', async () => {
    let run: MeteredInstance | undefined
    const imports = {
      host: {
        charge: (n: number) => {
          const fuel = run?.instance.exports.__ipvm_fuel as WasmGlobal
          fuel.value = (fuel.value as bigint) - BigInt(n)
        },
        reenter: (n: number) => (run?.instance.exports.twice as (x: number) => number)(n) + 1
      }
    }
    const source = `(module
      (import "host" "charge" (func $charge (param i32)))
      (import "host" "reenter" (func $reenter (param i32) (result i32)))
      (func (export "twice") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
      (func (export "pay") (param i32) (call $charge (local.get 0)))
      (func (export "nested") (param i32) (result i32) (call $reenter (local.get 0))))`
    run = await meter(source, { allowedImports: new Set(['host.charge', 'host.reenter']) }, imports)
    run.call('pay', 0)
    const base = run.fuelUsed
    run.call('pay', 1000)
    assert.equal(run.fuelUsed - base, 1000n + base)
    assert.equal(run.call('nested', 21), 43)
  })

  it('a nested call through MeteredInstance keeps the depth in use', async () => {
    let run: MeteredInstance | undefined
    const imports = { host: { back: (n: number) => run?.call('down', n) as number } }
    const source = `(module (import "host" "back" (func $back (param i32) (result i32)))
      (func $down (export "down") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (i32.const 1) (call $back (i32.sub (local.get 0) (i32.const 1))))))))`
    run = await meter(source, { allowedImports: new Set(['host.back']), limits: { maxCallDepth: 50 } }, imports)
    assert.equal(run.call('down', 10), 10)
    // Every level goes through the host and back: the depth budget still bounds it.
    assert.equal(errorName(() => run?.call('down', 100)), 'StackOverflow')
  })

  it('clamps fuel limits above MAX_FUEL', async () => {
    const run = await meter('(module (func (export "f")))', {}, undefined, 2n ** 64n - 1n)
    assert.equal(run.fuelLimit, MAX_FUEL)
    run.call('f')
    assert.equal(run.fuelUsed, 0n)
  })

  it('a guest trap charges the whole budget; the instance stays usable', async () => {
    const run = await meter('(module (func (export "boom") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0))))', {}, undefined, 1000n)
    assert.equal(run.call('boom', 1), 1)
    assert.equal(errorName(() => run.call('boom', 0)), 'Trap')
    assert.equal(run.fuelUsed, 1000n)
  })
})

describe('call depth', () => {
  const recursive = (locals: number): string => `(module
    (func $r (export "r") (param i32) (result i32) (local ${'i64 '.repeat(locals)})
      (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
        (else (i32.add (i32.const 1) (call $r (i32.sub (local.get 0) (i32.const 1))))))))`

  for (const locals of [0, 10, 100, 1000, 5000, 9000]) {
    it(`overflows deterministically, before V8 does, with ${locals} locals per frame`, async () => {
      const run = await meter(recursive(locals))
      assert.equal(errorName(() => run.call('r', 10_000_000)), 'StackOverflow')
      const first = run.fuelUsed
      const again = await meter(recursive(locals))
      assert.equal(errorName(() => again.call('r', 10_000_000)), 'StackOverflow')
      assert.equal(again.fuelUsed, first)
      // Shallow recursion still works on the same instance.
      assert.equal(run.call('r', 3), 3)
    })
  }

  it('counts a deep operand stack in the frame size', async () => {
    const k = 2000
    const source = `(module (func $r (export "r") (param i32) (result i32)
      ${'(local.get 0) '.repeat(k)} (call $r (i32.add (local.get 0) (i32.const 1))) ${'(i32.add) '.repeat(k)}))`
    const run = await meter(source)
    assert.equal(errorName(() => run.call('r', 0)), 'StackOverflow')
  })

  it('rejects function types the counter cannot extend', async () => {
    const bytes = await wat(`(module (type (func (param ${'i32 '.repeat(1000)}))))`)
    assert.equal(errorName(() => instrument(bytes)), 'InvalidModule')
  })

  it('allows the documented depth: maxCallDepth units, one unit per small frame', async () => {
    const depth = 1000
    const run = await meter(recursive(0), { limits: { maxCallDepth: depth } })
    // The export wrapper adds no frame unit; r costs 1 unit per call.
    assert.equal(run.call('r', depth - 1), depth - 1)
    assert.equal(errorName(() => run.call('r', depth)), 'StackOverflow')
  })

  it('a single frame larger than the whole budget overflows at once', async () => {
    const run = await meter(recursive(2000), { limits: { maxCallDepth: 10 } })
    assert.equal(errorName(() => run.call('r', 0)), 'StackOverflow')
    assert.equal(run.fuelUsed, 0n)
  })

  it('rejects a call-depth budget the counter cannot hold', async () => {
    assert.throws(() => instrument(new Uint8Array([0, 0x61, 0x73, 0x6D, 1, 0, 0, 0]), { limits: { maxCallDepth: 40_000 } }), RangeError)
  })
})

describe('memory and table caps', () => {
  it('clamps the declared maximum and makes memory.grow past it return -1', async () => {
    const source = '(module (memory (export "m") 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))'
    const run = await meter(source, { limits: { maxMemoryPages: 4 } })
    assert.equal(run.call('grow', 3), 1)
    assert.equal(run.call('grow', 1), -1)
    assert.equal((run.instance.exports.m as WasmMemory).buffer.byteLength, 4 * 65536)
    assert.ok(DEFAULT_LIMITS.maxMemoryPages >= 4)
  })

  it('clamps an imported memory: the host must provide one within the cap', async () => {
    const source = '(module (import "env" "mem" (memory 1)) (func (export "size") (result i32) (memory.size)))'
    const { bytes } = instrument(await wat(source), { allowedImports: new Set(['env.mem']), limits: { maxMemoryPages: 8 } })
    const engine = requireWasmEngine()
    assert.throws(() => instantiate(bytes, { env: { mem: new engine.Memory({ initial: 1 }) } }))
    const run = new MeteredInstance(instantiate(bytes, { env: { mem: new engine.Memory({ initial: 1, maximum: 8 }) } }), 100n)
    assert.equal(run.call('size'), 1)
  })

  it('clamps table growth', async () => {
    const run = await meter('(module (table 1 funcref) (func (export "grow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))', { limits: { maxTableElements: 10 } })
    assert.equal(run.call('grow', 9), 1)
    assert.equal(run.call('grow', 1), -1)
  })
})

describe('NaN canonicalization', () => {
  const source = `(module
    (import "host" "see" (func $see (param f64 f32)))
    (global $g (export "g") (mut f64) (f64.const 0))
    (memory (export "m") 1)
    (func $nan64 (result f64) (f64.div (f64.const 0) (f64.const 0)))
    (func $nan32 (result f32) (f32.sqrt (f32.const -1)))
    (func (export "reinterpret") (result i64) (i64.reinterpret_f64 (call $nan64)))
    (func (export "store") (result i64) (f64.store (i32.const 0) (call $nan64)) (i64.load (i32.const 0)))
    (func (export "store32") (result i32) (f32.store (i32.const 8) (call $nan32)) (i32.load (i32.const 8)))
    (func (export "copysign") (result f64) (f64.copysign (f64.const 1) (call $nan64)))
    (func (export "global") (global.set $g (call $nan64)))
    (func (export "result") (result f64) (call $nan64))
    (func (export "results") (result f32 i32 f64) (call $nan32) (i32.const 1) (call $nan64))
    (func (export "host") (call $see (call $nan64) (call $nan32)))
    (func (export "payload") (result i64)
      (i64.reinterpret_f64 (f64.add (f64.reinterpret_i64 (i64.const 0xFFF0000000000ABC)) (f64.const 1))))
    (func (export "sameBits") (result i64)
      ;; a NaN loaded from memory and stored back as an integer is never a float op: untouched
      (i64.store (i32.const 16) (i64.const 0x7FF0000000000001)) (i64.load (i32.const 16))))`
  const CANONICAL64 = 0x7FF8000000000000n
  const CANONICAL32 = 0x7FC00000

  for (const mode of ['boundary', 'eager'] as const) {
    it(`${mode}: every observable NaN is canonical`, async () => {
      const seen: Array<[bigint, number]> = []
      const run = await meter(source, { nanCanonicalization: mode, allowedImports: new Set(['host.see']) }, { host: { see: (a: number, b: number) => { seen.push([bitsOf(a), bits32Of(b)]) } } })
      assert.equal(run.call('reinterpret'), CANONICAL64)
      assert.equal(run.call('store'), CANONICAL64)
      assert.equal(run.call('store32'), CANONICAL32)
      assert.equal(Object.is(run.call('copysign'), 1), true)
      run.call('global')
      assert.equal(bitsOf((run.instance.exports.g as WasmGlobal).value as number), CANONICAL64)
      assert.equal(bitsOf(run.call('result') as number), CANONICAL64)
      const [a, b, c] = run.call('results') as [number, number, number]
      assert.equal(bits32Of(a), CANONICAL32)
      assert.equal(b, 1)
      assert.equal(bitsOf(c), CANONICAL64)
      run.call('host')
      assert.deepEqual(seen, [[CANONICAL64, CANONICAL32]])
      assert.equal(run.call('payload'), CANONICAL64)
      assert.equal(run.call('sameBits'), 0x7FF0000000000001n)
    })
  }

  it('without canonicalization, V8 shows the hardware NaN (what the sandbox removes)', async () => {
    const run = await meter(source, { nanCanonicalization: 'off', allowedImports: new Set(['host.see']) }, { host: { see: () => {} } })
    const raw = run.call('reinterpret') as bigint
    assert.notEqual(raw & 0x7FF8000000000000n, 0n, 'still a NaN')
  })
})

describe('MeteredInstance', () => {
  it('reports a missing export, or one that is not a function, as InvalidExport', async () => {
    const run = await meter('(module (global (export "g") i32 (i32.const 1)))')
    assert.equal(errorName(() => run.call('g')), 'InvalidExport')
    assert.equal(errorName(() => run.call('nope')), 'InvalidExport')
  })

  it('refuses an instance that was not instrumented', async () => {
    const instance: WasmInstance = instantiate(await wat('(module (func (export "f")))'))
    assert.equal(errorName(() => new MeteredInstance(instance, 1n)), 'InvalidExport')
  })
})
