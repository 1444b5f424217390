import test from 'node:test'
import assert from 'node:assert/strict'
import { readModuleInfo, findExport, ModuleFormatError } from '../../src/wasm/module-info.js'
import { wat, MATH_WAT } from '../helpers.js'

test('reads export signatures, imports and custom sections', async () => {
  const info = readModuleInfo(await wat(MATH_WAT))
  assert.deepEqual(info.exports.get('add')?.type, { params: ['i32', 'i32'], results: ['i32'] })
  assert.deepEqual(info.exports.get('add64')?.type, { params: ['i64', 'i64'], results: ['i64'] })
  assert.deepEqual(info.exports.get('pair')?.type, { params: ['i32'], results: ['i32', 'i32'] })
  assert.deepEqual(info.exports.get('nothing')?.type, { params: [], results: [] })
  assert.equal(info.exports.get('memory')?.kind, 'memory')
  assert.equal(info.exports.get('counter')?.kind, 'global')
  assert.deepEqual(info.imports, [])

  const imported = readModuleInfo(await wat(`(module
    (import "env" "log" (func $log (param i32)))
    (import "env" "mem" (memory 1))
    (func (export "f") (param f32) (result f64) f64.const 1))`))
  assert.deepEqual(imported.imports.map(i => `${i.module}.${i.name}:${i.kind}`), ['env.log:func', 'env.mem:memory'])
  // Function indices count imported functions first.
  assert.deepEqual(imported.exports.get('f')?.type, { params: ['f32'], results: ['f64'] })
})

test('findExport accepts snake_case for kebab-case exports and the reverse', async () => {
  const info = readModuleInfo(await wat('(module (func (export "add-one")) (func (export "sub_one")))'))
  assert.equal(findExport(info, 'add_one')?.name, 'add-one')
  assert.equal(findExport(info, 'add-one')?.name, 'add-one')
  assert.equal(findExport(info, 'sub-one')?.name, 'sub_one')
  assert.equal(findExport(info, 'mul'), undefined)
})

test('garbage, truncated binaries and components are ModuleFormatErrors with an offset', async () => {
  const good = await wat(MATH_WAT)
  const cases: Array<[Uint8Array, RegExp]> = [
    [new TextEncoder().encode('#!/bin/sh\necho hi\n'), /no \\0asm magic/],
    [new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0xff]), /runs past the end|unexpected end/],
    [good.subarray(0, good.byteLength - 5), /runs past the end|unexpected end/],
    [new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]), /component/],
    [new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]), /unsupported WebAssembly version/]
  ]
  for (const [bytes, message] of cases) {
    assert.throws(() => readModuleInfo(bytes), (err: Error) => err instanceof ModuleFormatError && message.test(err.message) && /at byte \d+/.test(err.message), String(message))
  }
})
