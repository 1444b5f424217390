import test from 'node:test'
import assert from 'node:assert/strict'
import { findExport, toWasmParams, fromWasmResults } from '../../src/wasm/abi.js'
import { validateModule } from '../../src/wasm/meter/index.js'
import { wat } from '../helpers.js'

test('findExport accepts snake_case for kebab-case exports and the reverse', async () => {
  const summary = validateModule(await wat('(module (func (export "add-one")) (func (export "sub_one")) (memory (export "mem") 1))'))
  assert.equal(findExport(summary, 'add_one')?.name, 'add-one')
  assert.equal(findExport(summary, 'add-one')?.name, 'add-one')
  assert.equal(findExport(summary, 'sub-one')?.name, 'sub_one')
  assert.equal(findExport(summary, 'mem')?.kind, 'memory')
  assert.equal(findExport(summary, 'mul'), undefined)
  assert.deepEqual(findExport(summary, 'add_one')?.type, { params: [], results: [] })
})

test('parameters are range-checked, never wrapped or rounded', () => {
  const type = { params: ['i32', 'i64', 'f64'] as const, results: [] }
  assert.deepEqual(toWasmParams('f', { params: [...type.params], results: [] }, [-1, 2n ** 63n, 1.5], undefined), [-1, -(2n ** 63n), 1.5])
  assert.throws(() => toWasmParams('f', { params: ['i32'], results: [] }, [2 ** 32], undefined), { name: 'ArgumentError' })
  assert.throws(() => toWasmParams('f', { params: ['i64'], results: [] }, [2 ** 53 + 2], undefined), { name: 'ArgumentError' })
  assert.throws(() => toWasmParams('f', { params: ['i64'], results: [] }, [2n ** 64n], undefined), { name: 'ArgumentError' })
  assert.throws(() => toWasmParams('f', { params: ['f64'], results: [] }, [2n ** 60n + 1n], undefined), { name: 'ArgumentError' })
})

test('results: one value, several as a list, none as null; huge i64 stays exact', () => {
  assert.equal(fromWasmResults('f', { params: [], results: ['i64'] }, 2n ** 60n), 2n ** 60n)
  assert.equal(fromWasmResults('f', { params: [], results: ['i64'] }, 5n), 5)
  assert.deepEqual(fromWasmResults('f', { params: [], results: ['i32', 'f64'] }, [1, 0.5]), [1, 0.5])
  assert.equal(fromWasmResults('f', { params: [], results: [] }, undefined), null)
  assert.throws(() => fromWasmResults('f', { params: [], results: ['f64'] }, Infinity), { name: 'UnrepresentableResult' })
})
