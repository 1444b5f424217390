import test from 'node:test'
import assert from 'node:assert/strict'
import { selectAbi, moduleShape } from '../../../src/wasm/abi/index.js'
import { WASI_IMPORTS } from '../../../src/wasm/wasi.js'
import { wat } from '../../helpers.js'

const shape = async (text: string): Promise<ReturnType<typeof moduleShape>> => moduleShape(await wat(text))
const WASI_WRITE = '(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))'

test('a WASI command (imports WASI, exports _start) is served by WASI, and only it may link WASI', async () => {
  const command = selectAbi(await shape(`(module ${WASI_WRITE} (memory (export "memory") 1) (func (export "_start")))`))
  assert.equal(command.kind, 'wasi')
  assert.equal(command.allowedImports.has('wasi_snapshot_preview1.fd_write'), true)
  assert.equal(command.allowedImports.has('ipvm.log'), true)
  for (const kind of ['core', 'ipld']) {
    const text = kind === 'core' ? '(module (func (export "f")))' : '(module (memory (export "memory") 1) (func (export "ipvm_alloc") (param i32) (result i32) i32.const 0))'
    const selection = selectAbi(await shape(text))
    assert.equal(selection.kind, kind)
    assert.equal([...WASI_IMPORTS].some(name => selection.allowedImports.has(name)), false, `${kind} modules may not import WASI`)
  }
})

test('the IPLD bytes ABI is declared by exporting ipvm_alloc and memory', async () => {
  assert.equal(selectAbi(await shape('(module (memory (export "memory") 1) (func (export "ipvm_alloc") (param i32) (result i32) i32.const 0) (func (export "f") (param i32 i32) (result i64) i64.const 0))')).kind, 'ipld')
  assert.equal(selectAbi(await shape('(module (memory (export "memory") 1) (func (export "alloc") (param i32) (result i32) i32.const 0))')).kind, 'core', 'the core alloc is not the marker')
  assert.equal(selectAbi(await shape('(module (memory 1) (func (export "_start")))')).kind, 'core', '_start without WASI imports is a plain export')
})

test('a module whose ABI cannot be served is refused with a named error', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['(module (func (export "ipvm_alloc") (param i32) (result i32) i32.const 0))', 'UnsupportedAbi', /no `memory`/],
    ['(module (memory (export "memory") 1) (func (export "ipvm_alloc") (param i64) (result i32) i32.const 0))', 'UnsupportedAbi', /\(i32\) -> i32/],
    [`(module ${WASI_WRITE} (func (export "_start")))`, 'UnsupportedAbi', /WASI command but exports no `memory`/],
    [`(module ${WASI_WRITE} (memory (export "memory") 1) (func (export "_start")) (func (export "ipvm_alloc") (param i32) (result i32) i32.const 0))`, 'UnsupportedAbi', /one ABI/],
    [`(module ${WASI_WRITE} (memory (export "memory") 1) (func (export "_initialize")))`, 'ForbiddenImport', /wasi_snapshot_preview1.fd_write.*only WASI commands/]
  ]
  for (const [text, name, message] of cases) {
    const module = await shape(text)
    assert.throws(() => selectAbi(module), { name, message }, text)
  }
})

