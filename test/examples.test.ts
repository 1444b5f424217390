import test from 'node:test'
import assert from 'node:assert/strict'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { openLmdbRepo } from '../src/store/lmdb-repo.js'
import { addFile } from '../src/store/unixfs.js'
import { LocalExecutor } from '../src/executor/local.js'
import { runWorkflowFile } from '../src/workflow/run-file.js'
import { tempDir } from './helpers.js'

const examples = fileURLToPath(new URL('../../examples/', import.meta.url))
const expected = JSON.parse(await readFile(join(examples, 'workflows/expected.json'), 'utf8')) as Record<string, Array<number | string | object>>

test('every example workflow gives its expected results, then runs from the cache', async t => {
  const repo = openLmdbRepo({ path: await tempDir(t) })
  const executor = new LocalExecutor(repo.blocks, { threads: 2 })
  t.after(async () => { await executor.stop(); await repo.close() })
  const build = join(examples, 'build')
  for (const name of await readdir(build)) if (name.endsWith('.wasm')) await addFile(repo.blocks, join(build, name))
  for (const name of await readdir(join(examples, 'data'))) await addFile(repo.blocks, join(examples, 'data', name))

  const workflows = (await readdir(join(examples, 'workflows'))).filter(n => n.endsWith('.json') && !n.includes('.template.') && n !== 'expected.json')
  assert.deepEqual(workflows.sort(), Object.keys(expected).sort(), 'every workflow has expected values')
  for (const name of workflows) {
    const bytes = new Uint8Array(await readFile(join(examples, 'workflows', name)))
    const first = await runWorkflowFile(bytes, name, { repo, executor })
    assert.equal(first.ok, true, `${name}: ${JSON.stringify(first.tasks.map(r => r.out), (_, v) => typeof v === 'bigint' ? String(v) : v)}`)
    // Expected values: numbers, decimal strings for big i64s, maps as they are, and "sha256:…" for bytes.
    const values = first.tasks.map(r => {
      const ok = (r.out as { ok: unknown }).ok
      if (ok instanceof Uint8Array) return `sha256:${createHash('sha256').update(ok).digest('hex')}`
      return typeof ok === 'object' && ok !== null ? ok : String(ok)
    })
    assert.deepEqual(values, expected[name]?.map(v => typeof v === 'object' ? v : String(v)), name)
    const again = await runWorkflowFile(bytes, name, { repo, executor })
    assert.equal(again.executed, 0, `${name} ran again`)
    assert.deepEqual(again.tasks.map(r => r.outcomeDigest?.toString()), first.tasks.map(r => r.outcomeDigest?.toString()))
  }
})
