/**
 * Determinism across V8's tiers: the same jobs run in fresh processes with
 * only the baseline compiler (`--liftoff-only`), only the optimizing one
 * (`--no-liftoff`) and the default tiering must give identical outcomes,
 * values, NaN bits and fuel.
 */

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, describe, it } from 'node:test'
import { CORPUS } from './corpus/manifest.js'
import { decodeJson, encodeJson } from './harness-process.js'
import type { HarnessJob, HarnessOutcome } from './harness-types.js'
import { runInWorker, wat } from './helpers.js'
import { randomModule } from './random-program.js'

const script = fileURLToPath(new URL('./harness-process.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'ipvm-tiers-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function inProcess (job: HarnessJob, flags: string[]): HarnessOutcome {
  const file = join(dir, 'job.json')
  writeFileSync(file, JSON.stringify(job, encodeJson))
  const child = spawnSync(process.execPath, [...flags, script, file], { encoding: 'utf8' })
  assert.equal(child.status, 0, child.stderr)
  return JSON.parse(child.stdout, decodeJson) as HarnessOutcome
}

const TIERS = [['--liftoff-only'], ['--no-liftoff']]
const PICKED = ['infinite-loop-call-indirect', 'memory-bomb-grow-loop', 'mutual-recursion', 'recursion-bounded', 'nan-div', 'nan-payload-propagation', 'nan-demote', 'table-grow-bomb', 'guest-trap']

describe('the same outcome and fuel in every V8 tier', () => {
  for (const name of PICKED) {
    it(name, async () => {
      const entry = CORPUS.find(e => e.name === name)
      assert.ok(entry !== undefined)
      const job: HarnessJob = { bytes: await entry.load(wat), exportName: entry.exportName, args: entry.args, fuel: entry.fuel }
      if (entry.limits !== undefined) job.limits = entry.limits
      const reference = await runInWorker(job)
      for (const flags of TIERS) assert.deepEqual(inProcess(job, flags), reference, flags.join(' '))
    })
  }

  it('random float-heavy programs', async () => {
    for (const seed of [3, 17, 42]) {
      const generated = randomModule(seed)
      const bytes = await wat(generated.wat)
      for (const fn of generated.functions.slice(-2)) {
        const job: HarnessJob = { bytes, exportName: fn.name, args: [7, 123456789n, -2.5], fuel: 10n ** 9n }
        const reference = await runInWorker(job)
        for (const flags of TIERS) assert.deepEqual(inProcess(job, flags), reference, `seed ${seed} ${fn.name} ${flags.join(' ')}`)
      }
    }
  })
})
