/**
 * The hostile corpus, each entry run 10 times, each time in a fresh Worker:
 * every run must give the same named error (or the same value) and the same
 * fuel, and the host process must be unaffected.
 */

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CORPUS } from './corpus/manifest.js'
import { MeteredInstance, instrument } from '../../../src/wasm/meter/index.js'
import { instantiate, runRepeatedly, wat } from './helpers.js'
import type { HarnessJob } from './harness-types.js'

const RUNS = 10

describe('hostile corpus (10 fresh workers each)', () => {
  it('has at least 25 modules', () => {
    assert.ok(CORPUS.length >= 25, `only ${CORPUS.length} entries`)
  })

  for (const entry of CORPUS) {
    it(`${entry.name}${entry.exportName !== undefined && entry.exportName !== 'main' ? ` (${entry.exportName})` : ''}`, async () => {
      const bytes = await entry.load(wat)
      const job: HarnessJob = { bytes, exportName: entry.exportName, args: entry.args, fuel: entry.fuel }
      if (entry.limits !== undefined) job.limits = entry.limits
      if (entry.allowedImports !== undefined) job.allowedImports = entry.allowedImports
      if (entry.imports !== undefined) job.imports = entry.imports
      const outcomes = await runRepeatedly(job, RUNS)
      const first = outcomes[0]
      assert.ok(first !== undefined)
      for (const outcome of outcomes) assert.deepEqual(outcome, first, 'all runs must agree exactly')

      const expect = entry.expect
      if ('error' in expect) {
        assert.equal(first.kind, 'error', `expected ${expect.error}, got value ${String(first.kind === 'ok' ? first.value : '')}`)
        assert.equal(first.kind === 'error' ? first.error : undefined, expect.error, first.kind === 'error' ? first.message : '')
        if (expect.fuelUsed === 'limit') assert.equal(first.fuelUsed, entry.fuel.toString())
        else if (expect.fuelUsed !== undefined) assert.equal(first.fuelUsed, expect.fuelUsed)
      } else {
        assert.equal(first.kind, 'ok', first.kind === 'error' ? `${first.error}: ${first.message}` : '')
        assert.deepEqual(first.kind === 'ok' ? first.value : undefined, expect.value)
        if (expect.fuelUsed !== undefined) assert.equal(first.fuelUsed, expect.fuelUsed)
      }
      // Runs that got as far as running guest code report fuel; the budget is never exceeded.
      if (first.fuelUsed !== undefined) assert.ok(BigInt(first.fuelUsed) <= entry.fuel)
    })
  }

  it('leaves the host process unaffected', async () => {
    // No worker left behind, a sane heap, and the sandbox still works here.
    const workers = process.getActiveResourcesInfo().filter(resource => resource.includes('Worker'))
    assert.deepEqual(workers, [])
    assert.ok(process.memoryUsage().heapUsed < 512 * 1024 * 1024)
    const { bytes } = instrument(await wat('(module (func (export "f") (result i32) (i32.const 42)))'))
    const run = new MeteredInstance(instantiate(bytes), 100n)
    assert.equal(run.call('f'), 42)
  })
})
