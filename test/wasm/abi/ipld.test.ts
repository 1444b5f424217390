import test from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { WasmPool } from '../../../src/wasm/pool.js'
import { packPointer, unpackPointer } from '../../../src/wasm/abi/index.js'
import { wat } from '../../helpers.js'
import { call, compileAssemblyScript, errorOf, okOf } from './fixtures.js'

const pool = new WasmPool({ threads: 2 })
test.after(async () => { await pool.stop() })

const hex = (bytes: Uint8Array): string => [...bytes].map(b => '\\' + b.toString(16).padStart(2, '0')).join('')

/** An IPLD-ABI module: `echo` returns its input; `fixed_N` return data segments; `packed` returns any i64 it is given as its first arg byte. */
async function ipldModule (outputs: Record<string, Uint8Array>): Promise<Uint8Array> {
  let at = 0
  const data: string[] = []
  const funcs: string[] = []
  for (const [name, bytes] of Object.entries(outputs)) {
    data.push(`(data (i32.const ${at}) "${hex(bytes)}")`)
    funcs.push(`(func (export "${name}") (param i32 i32) (result i64) i64.const ${packPointer(at, bytes.byteLength)})`)
    at += bytes.byteLength
  }
  return await wat(`(module
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 4096))
    (func (export "ipvm_alloc") (param $len i32) (result i32)
      global.get $heap global.get $heap local.get $len i32.add global.set $heap)
    (func (export "echo") (param $ptr i32) (param $len i32) (result i64)
      local.get $ptr i64.extend_i32_u i64.const 32 i64.shl local.get $len i64.extend_i32_u i64.or)
    (func (export "out_of_bounds") (param i32 i32) (result i64) i64.const ${packPointer(65530, 100)})
    (func (export "too_big") (param i32 i32) (result i64) i64.const ${packPointer(0, 16 * 1024 * 1024 + 1)})
    (func (export "numeric") (param i32) (result i32) local.get 0)
    ${funcs.join('\n')}
    ${data.join('\n')})`)
}

test('pointers pack as ptr << 32 | len, both unsigned', () => {
  assert.deepEqual(unpackPointer(packPointer(0xFFFF_FFF0, 0xFFFF_FFFF)), [0xFFFF_FFF0, 0xFFFF_FFFF])
  assert.deepEqual(unpackPointer(packPointer(4096, 3)), [4096, 3])
})

test('the whole args list reaches the guest as one DAG-CBOR value, and DAG-CBOR output becomes the result', async () => {
  const module = await ipldModule({ fixed: dagCbor.encode({ greeting: 'hi', n: 2n ** 60n, list: [1, 2.5, null, true], bytes: new Uint8Array([1, 2]) }) })
  const args = [1, 'two', new Uint8Array([3]), [4.5, null], { five: false, six: 2n ** 64n - 1n }]
  assert.deepEqual(okOf(await call(pool, module, 'echo', args)), args, 'echoing the input gives the args back')
  assert.deepEqual(okOf(await call(pool, module, 'fixed', [])), { bytes: new Uint8Array([1, 2]), greeting: 'hi', list: [1, 2.5, null, true], n: 2n ** 60n })
})

test('output that is out of bounds, too big, not DAG-CBOR or holds a link is InvalidOutput', async () => {
  const module = await ipldModule({
    truncated: dagCbor.encode([1, 2, 3]).subarray(0, 3),
    trailing: new Uint8Array([...dagCbor.encode(1), 0x01]),
    indefinite: new Uint8Array([0x9f, 0x01, 0xff]),
    empty: new Uint8Array(0),
    link: dagCbor.encode({ link: CID.parse('bafkqaaa') })
  })
  for (const func of ['out_of_bounds', 'too_big', 'truncated', 'trailing', 'indefinite', 'empty', 'link']) {
    const error = errorOf(await call(pool, module, func, []))
    assert.equal(error?.name, 'InvalidOutput', `${func}: ${error?.message}`)
    assert.equal(typeof error?.ptr, 'number')
  }
  assert.match(errorOf(await call(pool, module, 'too_big', []))?.message ?? '', /more than the 16777216 bytes/)
})

test('maps in non-canonical key order are accepted (the receipt re-encodes them canonically)', async () => {
  const module = await ipldModule({ unsorted: new Uint8Array([0xa2, 0x62, 0x62, 0x62, 0x01, 0x61, 0x61, 0x02]) }) // {"bb": 1, "a": 2}
  const value = okOf(await call(pool, module, 'unsorted', []))
  assert.deepEqual(dagCbor.encode(value), dagCbor.encode({ a: 2, bb: 1 }))
})

test('a function of an IPLD-ABI module with another signature is UnsupportedAbi', async () => {
  const module = await ipldModule({})
  const error = errorOf(await call(pool, module, 'numeric', [1]))
  assert.equal(error?.name, 'UnsupportedAbi')
  assert.match(error?.message ?? '', /\(ptr: i32, len: i32\) -> i64/)
})

test('AssemblyScript example stats: {sum, mean, count} of a list of numbers, deterministic fuel', async () => {
  const stats = await compileAssemblyScript('stats', ['--use', 'abort='])
  const first = await call(pool, stats, 'stats', [[1, 2, 3, 4]])
  assert.deepEqual(okOf(first), { sum: 10, mean: 2.5, count: 4 })
  assert.deepEqual(okOf(await call(pool, stats, 'stats', [1.5, -4, 2 ** 40])), { sum: 2 ** 40 - 2.5, mean: (2 ** 40 - 2.5) / 3, count: 3 })
  assert.deepEqual(okOf(await call(pool, stats, 'stats', [])), { sum: 0, mean: null, count: 0 })
  const again = await call(pool, stats, 'stats', [[1, 2, 3, 4]])
  assert.equal(again.fuel, first.fuel, 'same input, same fuel')
  assert.equal(errorOf(await call(pool, stats, 'stats', ['not a number']))?.name, 'Trap', 'the guest refuses input it cannot read')
})
