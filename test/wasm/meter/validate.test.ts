/**
 * validateModule(): named errors for malformed modules (with offsets),
 * rejected features, limits and imports; robustness against truncated and
 * mutated binaries (never an unnamed crash, never invalid output).
 */

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_LIMITS, instrument, resolveLimits, validateModule } from '../../../src/wasm/meter/index.js'
import type { SandboxLimits } from '../../../src/wasm/meter/index.js'
import { parseModule } from '../../../src/wasm/meter/module-parser.js'
import { engineValid, prng, wat, u32, section, HEADER } from './helpers.js'

const NAMED = new Set(['InvalidModule', 'UnsupportedFeature', 'ForbiddenImport', 'LimitExceeded'])

function rejection (fn: () => unknown): Error & Record<string, unknown> {
  try {
    fn()
  } catch (err) {
    return err as Error & Record<string, unknown>
  }
  assert.fail('expected a rejection')
}

const binary = (...sections: number[][]): Uint8Array => new Uint8Array([...HEADER, ...sections.flat()])
/** A module with one function `() -> ()` whose body is `code` (without the final end). */
const withBody = (code: number[], locals: number[] = [0]): Uint8Array => {
  const body = [...locals, ...code, 0x0B]
  return binary(section(1, [1, 0x60, 0, 0]), section(3, [1, 0]), section(10, [1, ...u32(body.length), ...body]))
}

describe('malformed modules: InvalidModule with the offset', () => {
  const cases: Array<[string, Uint8Array, number]> = [
    ['empty', new Uint8Array(0), 0],
    ['bad magic', new Uint8Array([0x7F, 0x45, 0x4C, 0x46, 1, 0, 0, 0]), 0],
    ['bad version', new Uint8Array([0, 0x61, 0x73, 0x6D, 2, 0, 0, 0]), 4],
    ['section past the end', new Uint8Array([...HEADER, 1, 10, 0]), 8],
    ['unknown section', binary(section(14, [])), 8],
    ['duplicate section', binary(section(1, [0]), section(1, [0])), 11],
    ['trailing bytes in a section', binary(section(1, [0, 0])), 11],
    ['unknown opcode', withBody([0x06 + 0x20]), 23],
    ['function without body', binary(section(1, [1, 0x60, 0, 0]), section(3, [1, 0])), 18],
    ['local index out of range', withBody([0x20, 0x05, 0x1A]), 23],
    ['branch label out of range', withBody([0x0C, 0x01]), 23],
    ['else without if', withBody([0x05]), 23],
    ['missing final end', binary(section(1, [1, 0x60, 0, 0]), section(3, [1, 0]), section(10, [1, 2, 0, 0x01])), 24]
  ]
  for (const [name, bytes, offset] of cases) {
    it(name, () => {
      const err = rejection(() => validateModule(bytes))
      assert.equal(err.name, 'InvalidModule', err.message)
      assert.equal(err.offset, offset, err.message)
    })
  }

  it('type errors are caught by the engine validator, still as InvalidModule', async () => {
    const bytes = await wat('(module (func (result i32) (f64.const 1)))', { multi_value: true })
    const err = rejection(() => validateModule(bytes))
    assert.equal(err.name, 'InvalidModule')
    assert.ok((err.offset as number) > 0)
  })

  it('every truncation of a valid module inside a section is rejected by name', async () => {
    const bytes = await wat(`(module (import "env" "f" (func $f (param i32))) (memory 1) (global $g (mut i32) (i32.const 1))
      (table 2 funcref) (elem (i32.const 0) $a $a) (data (i32.const 0) "abc")
      (func $a (export "a") (param i32) (result i32) (loop (br_if 0 (local.get 0))) (call $f (local.get 0)) (i32.add (local.get 0) (global.get $g))))`)
    const allowed = new Set(['env.f'])
    assert.doesNotThrow(() => validateModule(bytes, undefined, allowed))
    // Cut exactly between two sections, what remains can be a valid (smaller) module.
    const boundaries = new Set([8, ...parseModule(bytes).sections.map(s => s.end)])
    for (let length = 0; length < bytes.length; length++) {
      if (boundaries.has(length)) continue
      const err = rejection(() => validateModule(bytes.subarray(0, length), undefined, allowed))
      assert.equal(err.name, 'InvalidModule', `truncated to ${length}: ${err.message}`)
    }
  })

  it('random mutations give a named error or a module whose instrumented form is valid', async () => {
    const source = await wat(`(module (memory 1) (global $g (mut i32) (i32.const 1)) (table 2 funcref) (elem (i32.const 0) $a $b)
      (func $a (param i32) (result i32) (block (loop (br_if 1 (i32.eqz (local.get 0))) (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br 0))) (local.get 0))
      (func $b (param i32) (result i32) (f64.store (i32.const 0) (f64.sqrt (f64.convert_i32_s (local.get 0)))) (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0)))
      (func (export "main") (result i32) (memory.fill (i32.const 0) (i32.const 1) (i32.const 10)) (call $b (i32.const 3))))`)
    const random = prng(1234)
    let accepted = 0
    for (let i = 0; i < 1500; i++) {
      const mutated = new Uint8Array(source)
      const flips = 1 + Math.floor(random() * 3)
      for (let f = 0; f < flips; f++) mutated[8 + Math.floor(random() * (mutated.length - 8))] = Math.floor(random() * 256)
      try {
        const { bytes } = instrument(mutated)
        accepted++
        assert.ok(engineValid(bytes), `mutation ${i} was accepted but its instrumented form does not validate`)
      } catch (err) {
        assert.ok(NAMED.has((err as Error).name), `mutation ${i}: unnamed ${(err as Error).name}: ${(err as Error).message}`)
      }
    }
    assert.ok(accepted > 0)
  })
})

describe('rejected features: UnsupportedFeature', () => {
  const cases: Array<[string, string, string]> = [
    ['simd', '(module (func (result i32) (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4))))', 'simd'],
    ['v128 local', '(module (func (local v128)))', 'simd'],
    ['shared memory', '(module (memory 1 1 shared))', 'shared-memory'],
    ['atomics', '(module (memory 1) (func (drop (i32.atomic.load (i32.const 0)))))', 'threads'],
    ['memory64', '(module (memory i64 1))', 'memory64'],
    ['exceptions', '(module (tag $t) (func (throw $t)))', 'exceptions'],
    ['tail calls', '(module (func $f (return_call $f)))', 'tail-call']
  ]
  for (const [name, source, feature] of cases) {
    it(name, async () => {
      const bytes = await wat(source)
      const err = rejection(() => validateModule(bytes))
      assert.equal(err.name, 'UnsupportedFeature', err.message)
      assert.equal(err.feature, feature)
    })
  }

  it('multiple memories', () => {
    const err = rejection(() => validateModule(binary(section(5, [2, 0, 1, 0, 1]))))
    assert.equal(err.feature, 'multi-memory')
  })

  it('GC types and prefix', () => {
    assert.equal(rejection(() => validateModule(binary(section(1, [1, 0x5F, 0])))).feature, 'gc')
    assert.equal(rejection(() => validateModule(withBody([0xFB, 0x00]))).feature, 'gc')
  })

  it('a component', () => {
    assert.equal(rejection(() => validateModule(new Uint8Array([0, 0x61, 0x73, 0x6D, 0x0D, 0, 1, 0]))).feature, 'component-model')
  })
})

describe('imports: ForbiddenImport', () => {
  it('rejects imports by default, names the import, and honours exact and wildcard allowances', async () => {
    const bytes = await wat('(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))) (import "env" "log" (func (param i32))))')
    const err = rejection(() => validateModule(bytes))
    assert.equal(err.name, 'ForbiddenImport')
    assert.equal(err.module, 'wasi_snapshot_preview1')
    assert.equal(err.field, 'fd_write')
    assert.equal(rejection(() => validateModule(bytes, undefined, new Set(['wasi_snapshot_preview1.fd_write']))).field, 'log')
    const summary = validateModule(bytes, undefined, new Set(['wasi_snapshot_preview1.*', 'env.log']))
    assert.deepEqual(summary.imports.map(i => `${i.module}.${i.name}`), ['wasi_snapshot_preview1.fd_write', 'env.log'])
  })
})

describe('limits: LimitExceeded names the limit', () => {
  const cases: Array<[keyof SandboxLimits, number, string]> = [
    ['maxModuleBytes', 20, '(module (func))'],
    ['maxFunctions', 2, '(module (func) (func) (func))'],
    ['maxTableElements', 5, '(module (table 6 funcref))'],
    ['maxDataBytes', 2, '(module (memory 1) (data (i32.const 0) "abc"))'],
    ['maxMemoryPages', 1, '(module (memory 2))'],
    ['maxLocalsPerFunction', 3, '(module (func (param i32) (local i32 i32 i32)))'],
    ['maxGlobals', 1, '(module (global i32 (i32.const 0)) (global i32 (i32.const 0)))'],
    ['maxImports', 0, '(module (import "a" "b" (func)))'],
    ['maxExports', 1, '(module (func (export "a")) (func (export "b")))'],
    ['maxTypes', 1, '(module (type (func)) (type (func (param i32))))'],
    ['maxDataSegments', 1, '(module (memory 1) (data (i32.const 0) "a") (data (i32.const 1) "b"))'],
    ['maxElementSegments', 1, '(module (table 2 funcref) (func $f) (elem (i32.const 0) $f) (elem (i32.const 1) $f))'],
    ['maxFunctionBodyBytes', 3, '(module (func (drop (i32.const 100000))))']
  ]
  for (const [limit, value, source] of cases) {
    it(limit, async () => {
      const bytes = await wat(source)
      assert.doesNotThrow(() => validateModule(bytes, undefined, new Set(['a.b'])))
      const err = rejection(() => validateModule(bytes, { [limit]: value }, new Set(['a.b'])))
      assert.equal(err.name, 'LimitExceeded', err.message)
      assert.equal(err.limit, limit)
      assert.equal(err.max, value)
    })
  }

  it('an element segment larger than the table limit', async () => {
    const bytes = await wat('(module (table 10 funcref) (func $f) (elem (i32.const 0) $f $f $f $f))')
    assert.equal(rejection(() => validateModule(bytes, { maxTableElements: 3, maxElementSegments: 9 })).limit, 'maxTableElements')
  })

  it('checks the limits themselves (RangeError naming the option)', () => {
    assert.throws(() => resolveLimits({ maxFunctions: -1 }), /limits\.maxFunctions/)
    assert.throws(() => resolveLimits({ maxMemoryPages: 1.5 }), /limits\.maxMemoryPages/)
    assert.throws(() => resolveLimits({ maxMemoryPages: 70000 }), RangeError)
    assert.deepEqual(resolveLimits(), { ...DEFAULT_LIMITS })
  })

  it('rejects exports under the reserved prefix', async () => {
    const bytes = await wat('(module (func (export "__ipvm_start")))')
    assert.equal(rejection(() => validateModule(bytes)).name, 'InvalidModule')
  })
})

describe('summary', () => {
  it('describes what the module declares', async () => {
    const bytes = await wat(`(module (import "env" "f" (func)) (memory 2 10) (table 3 funcref) (global (mut i32) (i32.const 0))
      (data (i32.const 0) "abcd") (elem (i32.const 0) $g) (func $g (export "g") (result i32 i64) (i32.const 1) (i64.const 2)) (start $g2) (func $g2))`)
    const summary = validateModule(bytes, undefined, new Set(['env.f']))
    assert.equal(summary.byteLength, bytes.length)
    assert.equal(summary.importedFunctions, 1)
    assert.equal(summary.definedFunctions, 2)
    assert.deepEqual(summary.memory, { min: 2, max: 10, imported: false })
    assert.deepEqual(summary.tables, [{ refType: 'funcref', min: 3, imported: false }])
    assert.equal(summary.definedGlobals, 1)
    assert.equal(summary.dataBytes, 4)
    assert.equal(summary.elementSegments, 1)
    assert.equal(summary.startFunction, 2)
    assert.deepEqual(summary.exports, [{ name: 'g', kind: 'function', index: 1, type: { params: [], results: ['i32', 'i64'] } }])
    assert.equal(summary.features.multiValue, true)
    assert.ok(summary.maxFrameUnits >= 1)
  })
})
