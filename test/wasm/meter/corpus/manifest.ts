/**
 * The hostile corpus: each entry names a module (a `.wat` file beside this
 * manifest, or bytes generated here), what to call, and the outcome every
 * run must produce. Pinned fuel figures are part of the metering contract
 * (METERING_VERSION 1): they change only with the cost table, the block
 * layout or the frame estimate. For example `recursion-bounded`, fib(20),
 * makes 21 891 calls: 4 at each entry (`local.get`, `i32.const`, `i32.lt_u`,
 * `if`) + 1 per leaf (`local.get`) + 17 per inner call → 284 575.
 */

import { readFile } from 'node:fs/promises'
import type { HarnessJob } from '../harness-types.js'
import { u32, section, HEADER } from '../helpers.js'

/** Source directory of the corpus (the tests run from `dist/`, the `.wat` files stay in `test/`). */
export const CORPUS_DIR = new URL('../../../../../test/wasm/meter/corpus/', import.meta.url)

/** Expected outcome. `fuelUsed: 'limit'` means exactly the job's fuel budget. */
export type Expectation =
  | { value: unknown, fuelUsed?: string }
  | { error: string, fuelUsed?: string | 'limit' }

/** One corpus entry. */
/** One corpus module: how to build it, and the harness job to run on it (minus its bytes). */
export interface CorpusEntry extends Omit<HarnessJob, 'bytes' | 'raw'> {
  /** Name (the `.wat` file stem for file entries). */
  name: string
  /** Produces the module bytes. */
  load: (wat: (source: string) => Promise<Uint8Array>) => Promise<Uint8Array>
  /** What must happen, identically, on every run. */
  expect: Expectation
}

const DEFAULT_FUEL = 1_000_000n

function fromFile (name: string, exportName: string | undefined, expect: Expectation, extra: Partial<CorpusEntry> = {}): CorpusEntry {
  return {
    name,
    load: async wat => await wat(await readFile(new URL(`${name}.wat`, CORPUS_DIR), 'utf8')),
    exportName,
    args: [],
    fuel: DEFAULT_FUEL,
    expect,
    ...extra
  }
}

function generated (name: string, load: CorpusEntry['load'], expect: Expectation, extra: Partial<CorpusEntry> = {}): CorpusEntry {
  return { name, load, exportName: 'main', args: [], fuel: DEFAULT_FUEL, expect, ...extra }
}


const manyLocalsRecursion = (locals: number): string => `
(module
  (func $deep (export "main") (param $n i32) (result i32)
    (local ${'i64 '.repeat(locals)})
    (local.set 1 (i64.extend_i32_u (local.get $n)))
    (i32.add (i32.wrap_i64 (local.get 1)) (call $deep (i32.add (local.get $n) (i32.const 1))))))`

/** Every entry of the corpus. */
export const CORPUS: CorpusEntry[] = [
  // Endless loops.
  fromFile('infinite-loop', 'main', { error: 'OutOfFuel', fuelUsed: 'limit' }),
  fromFile('infinite-loop-start', 'main', { error: 'OutOfFuel', fuelUsed: 'limit' }),
  fromFile('infinite-loop-call-indirect', 'main', { error: 'OutOfFuel', fuelUsed: 'limit' }),
  fromFile('infinite-br-table', 'main', { error: 'OutOfFuel', fuelUsed: 'limit' }),
  fromFile('infinite-loop-no-calls-deep-blocks', 'main', { error: 'OutOfFuel', fuelUsed: 'limit' }, { args: [1] }),
  // Memory bombs.
  fromFile('memory-bomb-grow-loop', 'main', { value: 64, fuelUsed: '65409' }, { limits: { maxMemoryPages: 64 } }),
  fromFile('memory-bomb-huge-grow', 'main', { value: -1, fuelUsed: '11' }),
  fromFile('memory-bomb-forever', 'main', { error: 'OutOfFuel', fuelUsed: 'limit' }, { limits: { maxMemoryPages: 64 } }),
  fromFile('memory-initial-too-big', 'main', { error: 'LimitExceeded' }),
  fromFile('memory-fill-bomb', 'main', { error: 'OutOfFuel', fuelUsed: 'limit' }),
  // Recursion.
  fromFile('deep-recursion', 'main', { error: 'StackOverflow', fuelUsed: '40960' }, { args: [0] }),
  fromFile('mutual-recursion', 'main', { error: 'StackOverflow', fuelUsed: '45056' }, { args: [1_000_000_000] }),
  fromFile('recursion-through-table', 'main', { error: 'StackOverflow', fuelUsed: '57344' }, { args: [0] }),
  fromFile('recursion-bounded', 'main', { value: 6765, fuelUsed: '284575' }, { args: [20] }),
  generated('recursion-many-locals', async wat => await wat(manyLocalsRecursion(3000)), { error: 'StackOverflow', fuelUsed: '294' }, { args: [0] }),
  // Tables.
  fromFile('table-grow-bomb', 'main', { value: 9001, fuelUsed: '9101' }, { limits: { maxTableElements: 10_000 } }),
  fromFile('huge-table', 'main', { error: 'LimitExceeded' }),
  // NaNs: exact canonical bits out through reinterpret.
  fromFile('nan-div', 'main', { value: 0x7FF8000000000000n, fuelUsed: '11' }, { args: [0] }),
  fromFile('nan-sqrt-f32', 'main', { value: 0x7FC00000, fuelUsed: '10' }),
  fromFile('nan-payload-propagation', 'main', { value: 0x7FF8000000000000n, fuelUsed: '17' }),
  fromFile('nan-store-load', 'main', { value: 0x7FF8000000000000n, fuelUsed: '10' }),
  fromFile('nan-demote', 'main', { value: 0x7FC000007FF80000n, fuelUsed: '18' }),
  // Imports.
  fromFile('forbidden-import-wasi', 'main', { error: 'ForbiddenImport' }),
  fromFile('forbidden-import-memory', 'main', { error: 'ForbiddenImport' }, { allowedImports: ['env.abort'] }),
  fromFile('allowed-import', 'main', { value: 5050, fuelUsed: '1617' }, { args: [100], allowedImports: ['host.add'], imports: 'host' }),
  // Exports.
  fromFile('export-wrong-type', 'main', { error: 'InvalidExport' }),
  fromFile('recursion-bounded', 'missing', { error: 'InvalidExport' }),
  fromFile('reserved-export', 'main', { error: 'InvalidModule' }),
  // Rejected features.
  fromFile('shared-memory', 'main', { error: 'UnsupportedFeature' }),
  fromFile('simd', 'main', { error: 'UnsupportedFeature' }),
  fromFile('atomics', 'main', { error: 'UnsupportedFeature' }),
  fromFile('exceptions', 'main', { error: 'UnsupportedFeature' }),
  fromFile('tail-call', 'main', { error: 'UnsupportedFeature' }),
  fromFile('memory64', 'main', { error: 'UnsupportedFeature' }),
  generated('multi-memory', async () => new Uint8Array([...HEADER, ...section(5, [2, 0x00, 1, 0x00, 1])]), { error: 'UnsupportedFeature' }),
  generated('component', async () => new Uint8Array([0x00, 0x61, 0x73, 0x6D, 0x0D, 0x00, 0x01, 0x00]), { error: 'UnsupportedFeature' }),
  // Guest traps.
  fromFile('guest-trap', 'main', { error: 'Trap', fuelUsed: 'limit' }, { args: [10] }),
  fromFile('call-indirect-type-mismatch', 'main', { error: 'Trap', fuelUsed: 'limit' }),
  fromFile('start-trap', 'main', { error: 'Trap', fuelUsed: 'limit' }),
  // Sizes.
  generated('huge-data', async wat => await wat(`(module (memory 1) (data (i32.const 0) "${'\\00'.repeat(4096)}"))`), { error: 'LimitExceeded' }, { limits: { maxDataBytes: 1024 } }),
  generated('too-many-locals', async wat => await wat('(module (func (export "main") (local ' + 'i32 '.repeat(20_000) + ')))'), { error: 'LimitExceeded' }),
  // Malformed binaries.
  generated('not-wasm', async () => new TextEncoder().encode('#!/bin/sh\necho hello\n'), { error: 'InvalidModule' }),
  generated('truncated', async wat => (await wat(await readFile(new URL('recursion-bounded.wat', CORPUS_DIR), 'utf8'))).subarray(0, 30), { error: 'InvalidModule' }),
  generated('section-out-of-order', async () => new Uint8Array([...HEADER, ...section(3, [0]), ...section(1, [0])]), { error: 'InvalidModule' }),
  generated('overlong-leb', async () => new Uint8Array([...HEADER, ...section(1, [0x80, 0x80, 0x80, 0x80, 0x80, 0x00])]), { error: 'InvalidModule' }),
  generated('empty', async () => new Uint8Array(0), { error: 'InvalidModule' })
]
