/**
 * Property tests on random programs: the instrumented module computes
 * exactly what the original computes (results, memory, globals), for every
 * combination of instrumentation switches; fuel is deterministic.
 */

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MeteredInstance, instrument } from '../../../src/wasm/meter/index.js'
import type { InstrumentOptions, WasmInstance, WasmMemory } from '../../../src/wasm/meter/index.js'
import { engineValid, instantiate, prng, wasm2wat, wat } from './helpers.js'
import { randomModule } from './random-program.js'

const SEEDS = 60
const CALLS_PER_FUNCTION = 4

function args (random: () => number): unknown[] {
  const i32 = [0, 1, -1, 3, 1000, -0x80000000, 0x7FFFFFFF][Math.floor(random() * 7)] as number
  const i64 = [0n, 1n, -1n, 12345678901234n, -(2n ** 63n)][Math.floor(random() * 5)] as bigint
  const f64 = [0, -0, 1.5, -3.75, 1e308, Number.NaN, Infinity][Math.floor(random() * 7)] as number
  return [i32, i64, f64]
}

interface Trace { results: unknown[], memory: string, fuel: bigint[] }

function memoryDigest (instance: WasmInstance): string {
  const memory = instance.exports.memory as WasmMemory
  const view = new Uint8Array(memory.buffer)
  let h = 0x811C9DC5
  for (let i = 0; i < view.length; i++) h = Math.imul(h ^ (view[i] as number), 0x01000193)
  return (h >>> 0).toString(16)
}

function trace (bytes: Uint8Array, names: string[], seed: number, metered: boolean): Trace {
  const instance = instantiate(bytes)
  const random = prng(seed)
  const results: unknown[] = []
  const fuel: bigint[] = []
  const run = metered ? new MeteredInstance(instance, 10n ** 12n) : undefined
  for (const name of names) {
    for (let c = 0; c < CALLS_PER_FUNCTION; c++) {
      const a = args(random)
      if (run !== undefined) {
        const before = run.fuelUsed
        results.push(run.call(name, ...a))
        fuel.push(run.fuelUsed - before)
      } else {
        results.push((instance.exports[name] as (...x: unknown[]) => unknown)(...a))
      }
    }
  }
  return { results, memory: memoryDigest(instance), fuel }
}

const VARIANTS: Array<[string, InstrumentOptions]> = [
  ['defaults', {}],
  ['eager NaN', { nanCanonicalization: 'eager' }],
  ['fuel only', { callDepth: false, nanCanonicalization: 'off' }],
  ['depth only', { fuel: false, nanCanonicalization: 'off' }],
  ['NaN only', { fuel: false, callDepth: false }],
  ['nothing', { fuel: false, callDepth: false, nanCanonicalization: 'off' }]
]

describe('random programs: instrumented == original', () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`seed ${seed}`, async () => {
      const generated = randomModule(seed)
      const original = await wat(generated.wat)
      assert.ok(engineValid(original), 'generator produced an invalid module')
      const names = generated.functions.map(f => f.name)
      const expected = trace(original, names, seed, false)
      for (const [label, options] of VARIANTS) {
        const { bytes } = instrument(original, options)
        if (!engineValid(bytes)) assert.fail(`${label}: instrumented module does not validate\n${await wasm2wat(bytes).catch(e => String(e))}`)
        const metered = options.fuel !== false || options.callDepth !== false
        const actual = trace(bytes, names, seed, metered)
        assert.deepEqual(actual.results, expected.results, `${label}: results differ`)
        assert.equal(actual.memory, expected.memory, `${label}: memory differs`)
        if (label === 'defaults') {
          const again = trace(bytes, names, seed, true)
          assert.deepEqual(again.fuel, actual.fuel, 'fuel is not deterministic')
          for (const used of actual.fuel) assert.ok(used > 0n)
        }
      }
    })
  }
})
