import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { demoComponent, demoCoreWithWit, forbiddenComponent } from './component-fixtures.js'
import { isComponent, hasComponentType } from '../../../src/wasm/abi/component.js'
import { parseWit, WitConverter } from '../../../src/wasm/abi/wit.js'
import { VIRTUAL_EPOCH_MS } from '../../../src/wasm/host-functions.js'
import type { RunRequest, RunResponse } from '../../../src/wasm/worker.js'
import type { WasmArgument } from '../../../src/wasm/abi.js'

let component: Uint8Array
let coreWithWit: Uint8Array
let run: (request: RunRequest) => RunResponse

before(async () => {
  component = await demoComponent()
  coreWithWit = await demoCoreWithWit()
  const worker = (await import('../../../src/wasm/worker.js')).default
  // The first component loads jco's machinery (asynchronously); after that the worker answers synchronously.
  const first = await worker({ moduleCid: 'bafk-warm-up', moduleBytes: component, func: 'add-one', args: [1], fuel: 10_000_000n, memoryPages: 16, seed: new Uint8Array(32) })
  assert.equal(first.status, 'ok', 'the warm-up call loads the component machinery and runs')
  run = (r: RunRequest): RunResponse => {
    const response = worker(r)
    if (response instanceof Promise) throw new Error('the component machinery should be loaded already')
    return response
  }
})

const request = (func: string, args: WasmArgument[], extra: Partial<RunRequest> = {}): RunRequest =>
  ({ moduleCid: 'bafk-test-component', moduleBytes: component, func, args, fuel: 10_000_000n, memoryPages: 16, seed: new Uint8Array(32), ...extra })

function ok (response: RunResponse): unknown {
  assert.ok(response.status !== 'need-module')
  if (response.status === 'error') assert.fail(`expected ok, got ${response.error.name}: ${response.error.message}`)
  return response.value
}

function failure (response: RunResponse): { name: string, message: string, [key: string]: unknown } {
  assert.ok(response.status === 'error', `expected an error, got ${response.status === 'ok' ? String(response.value) : response.status}`)
  return response.error
}

test('recognises components and wit-bindgen core modules', () => {
  assert.equal(isComponent(component), true)
  assert.equal(isComponent(coreWithWit), false)
  assert.equal(hasComponentType(coreWithWit), true)
  assert.equal(hasComponentType(component), false)
})

test('calls component exports by WIT name, with add_one finding add-one', () => {
  assert.equal(ok(run(request('add-one', [41]))), 42)
  assert.equal(ok(run(request('add_one', [1]))), 2)
  const response = run(request('greet', ['ipvm']))
  assert.equal(ok(response), 'hello, ipvm')
  assert.ok(response.status === 'ok')
  assert.equal(response.abi, 'component')
  assert.deepEqual(response.log, ['info greet: ipvm'])
  assert.ok(response.fuel > 0n, 'fuel is charged')
})

test('converts list<u8>, option and result', () => {
  const bytes = Uint8Array.from([1, 2, 3, 255])
  assert.deepEqual(ok(run(request('echo', [bytes]))), bytes)
  assert.deepEqual(ok(run(request('echo', [[7, 8]]))), Uint8Array.from([7, 8]))
  assert.equal(ok(run(request('maybe-double', [21]))), 42)
  const err = failure(run(request('maybe-double', [null])))
  assert.equal(err.name, 'ComponentError')
  assert.equal(err.payload, 'none')
})

test('the clock of homestar:host/helpers is the virtual clock', () => {
  const now = ok(run(request('now', [])))
  assert.equal(typeof now, 'number')
  assert.ok((now as number) >= Number(VIRTUAL_EPOCH_MS) && (now as number) < Number(VIRTUAL_EPOCH_MS) + 1000, String(now))
  assert.equal(ok(run(request('now', []))), now, 'deterministic')
})

test('fuel, traps and the memory cap apply inside components', () => {
  assert.equal(ok(run(request('spin', [1000]))), 1000)
  const small = run(request('spin', [1000]))
  const big = run(request('spin', [100_000]))
  assert.ok(small.status === 'ok' && big.status === 'ok')
  assert.ok(big.fuel > small.fuel * 10n, `fuel grows with work: ${small.fuel} vs ${big.fuel}`)
  const starved = failure(run(request('spin', [10_000_000], { fuel: 100_000n })))
  assert.equal(starved.name, 'OutOfFuel')
  assert.equal(failure(run(request('crash', []))).name, 'Trap')
  // echo of 2 MiB needs more than the one-page cap's worth of growth
  const capped = run(request('echo', [new Uint8Array(2 * 1024 * 1024)], { memoryPages: 4, moduleCid: 'bafk-test-component-small' }))
  assert.equal(capped.status, 'error')
})

test('arguments that do not fit the WIT signature are ArgumentErrors that show it', () => {
  const wrongType = failure(run(request('add-one', ['x'])))
  assert.equal(wrongType.name, 'ArgumentError')
  assert.match(wrongType.message, /add-one: func\(a: s32\) -> s32/)
  const wrongCount = failure(run(request('greet', [])))
  assert.equal(wrongCount.name, 'ArgumentError')
  assert.match(wrongCount.message, /greet: func\(name: string\) -> string takes 1 argument, got 0/)
  assert.equal(failure(run(request('add-one', [2 ** 31]))).name, 'ArgumentError')
  const missing = failure(run(request('nope', [])))
  assert.equal(missing.name, 'ExportNotFound')
  assert.match(missing.message, /add-one: func\(a: s32\) -> s32/)
})

test('a core module with a component-type section is made a component', () => {
  assert.equal(ok(run(request('add-one', [1], { moduleCid: 'bafk-test-core-with-wit', moduleBytes: coreWithWit }))), 2)
})

test('imports the host does not provide are ForbiddenImport', async () => {
  const error = failure(run(request('run', [], { moduleCid: 'bafk-test-forbidden', moduleBytes: await forbiddenComponent() })))
  assert.equal(error.name, 'ForbiddenImport')
  assert.match(error.message, /wasi:cli\/environment/)
})

test('an abi override that does not fit is UnsupportedAbi, describing the module', () => {
  const onComponent = failure(run(request('add-one', [1], { abi: 'core', moduleCid: 'bafk-test-component-as-core' })))
  assert.equal(onComponent.name, 'UnsupportedAbi')
  assert.match(onComponent.message, /is a WebAssembly component/)
})

test('WIT conversion: records, variants, enums, flags, tuples, 64-bit integers, nested options', () => {
  const world = parseWit(`package a:b;
world w {
  record point { x-pos: s32, y: float64 }
  variant shape { circle(float32), empty }
  enum color { red, green }
  flags perms { read, write }
  type pair = tuple<u8, string>;
  export f: func(p: point, s: shape, c: color, f: perms, t: pair, big: u64, o: option<option<bool>>) -> list<point>;
}`)
  const f = world.functions[0]
  assert.ok(f !== undefined)
  assert.equal(f.signature, 'f: func(p: point, s: shape, c: color, f: perms, t: pair, big: u64, o: option<option<bool>>) -> list<point>')
  const convert = new WitConverter(world.types)
  const types = f.params.map(p => p[1])
  const args: WasmArgument[] = [{ 'x-pos': 1, y: 2.5 }, { circle: 1.5 }, 'green', ['write'], [7, 'seven'], 2n ** 60n, null]
  const guest = args.map((arg, index) => convert.toGuest(types[index]!, arg, `arg${index}`))
  assert.deepEqual(guest, [{ xPos: 1, y: 2.5 }, { tag: 'circle', val: 1.5 }, 'green', { read: false, write: true }, [7, 'seven'], 2n ** 60n, { tag: 'none' }])
  assert.deepEqual(convert.toGuest(types[1]!, 'empty', 's'), { tag: 'empty' })
  assert.deepEqual(convert.fromGuest(f.result!, [{ xPos: 3, y: 0.5 }], 'result'), [{ 'x-pos': 3, y: 0.5 }])
  assert.deepEqual(convert.fromGuest(types[1]!, { tag: 'empty' }, 's'), 'empty')
  assert.deepEqual(convert.fromGuest(types[5]!, 5n, 'big'), 5)
  assert.deepEqual(convert.fromGuest(types[5]!, 2n ** 60n, 'big'), 2n ** 60n)
  assert.throws(() => convert.toGuest(types[2]!, 'blue', 'c'), { name: 'ArgumentError', message: /one of red, green/ })
  assert.throws(() => convert.toGuest(types[0]!, { 'x-pos': 1, y: 2, z: 3 }, 'p'), { name: 'ArgumentError', message: /unknown field z/ })
})

test('components run through the worker pool', async () => {
  const { WasmPool } = await import('../../../src/wasm/pool.js')
  const { call, okOf } = await import('./fixtures.js')
  const pool = new WasmPool({ threads: 1 })
  try {
    const outcome = await call(pool, component, 'greet', ['pool'])
    assert.equal(okOf(outcome), 'hello, pool')
    assert.equal(outcome.abi, 'component')
    assert.deepEqual(outcome.log, ['info greet: pool'])
  } finally {
    await pool.stop()
  }
})

test('abi override: settles an ambiguous module, refuses one that does not fit', async () => {
  const { selectAbi, moduleShape } = await import('../../../src/wasm/abi/select.js')
  const { wat } = await import('../meter/helpers.js')
  // A WASI command that also exports ipvm_alloc: ambiguous without an override.
  const ambiguous = moduleShape(await wat(`(module
    (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
    (memory (export "memory") 1)
    (func (export "_start"))
    (func (export "ipvm_alloc") (param i32) (result i32) i32.const 0))`))
  assert.throws(() => selectAbi(ambiguous, 'm'), { name: 'UnsupportedAbi' })
  assert.equal(selectAbi(ambiguous, 'm', 'wasi').kind, 'wasi')
  assert.throws(() => selectAbi(ambiguous, 'm', 'ipld'), { name: 'UnsupportedAbi', message: /needs no WASI imports; the module is a core module that imports from wasi_snapshot_preview1/ })
  // A core-ABI module that happens to export ipvm_alloc with another signature.
  const coreLike = await wat('(module (func (export "ipvm_alloc") (result i32) i32.const 1) (func (export "seven") (result i32) i32.const 7))')
  assert.throws(() => selectAbi(moduleShape(coreLike), 'm'), { name: 'UnsupportedAbi' })
  assert.equal(selectAbi(moduleShape(coreLike), 'm', 'core').kind, 'core')
  assert.equal(ok(run({ ...request('seven', []), moduleCid: 'bafk-core-forced', moduleBytes: coreLike, abi: 'core' })), 7)
  const refused = failure(run({ ...request('seven', []), moduleCid: 'bafk-core-forced', moduleBytes: coreLike, abi: 'component' }))
  assert.equal(refused.name, 'UnsupportedAbi')
  assert.match(refused.message, /needs a component .*exports 2 functions including ipvm_alloc/)
})
