import test from 'node:test'
import assert from 'node:assert/strict'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { LocalExecutor } from '../../src/executor/local.js'
import { runWorkflowFile, workflowCid } from '../../src/workflow/run-file.js'
import { instructionCid } from '../../src/model/instruction.js'
import { wat, MATH_WAT, putModule, task, workflowFile } from '../helpers.js'
import type { Executor } from '../../src/executor/interface.js'
import type { Instruction } from '../../src/model/types.js'

async function setup (t: { after: (fn: () => Promise<void>) => void }): Promise<{ repo: ReturnType<typeof memoryRepo>, executor: Executor & { runs: number }, module: Awaited<ReturnType<typeof putModule>> }> {
  const repo = memoryRepo()
  const module = await putModule(repo.blocks, await wat(MATH_WAT))
  const local = new LocalExecutor(repo.blocks, { threads: 1 })
  const executor = { runs: 0, async execute (x: any, o: any) { this.runs++; return await local.execute(x, o) }, async stop () { await local.stop() } }
  t.after(async () => { await executor.stop() })
  return { repo, executor, module }
}

test('an unchanged, successful workflow is answered from its record with the same report', async t => {
  const { repo, executor, module } = await setup(t)
  const a = task(module, 'add', [2, 3])
  const file = workflowFile([a, task(module, 'mul', [{ 'await/ok': instructionCid(a.run as Instruction) }, 4])])
  const first = await runWorkflowFile(file, 'w.json', { repo, executor })
  assert.equal(first.executed, 2)
  assert.ok(await repo.workflows.get(workflowCid(file)) !== undefined, 'a record was written')
  const events: string[] = []
  const second = await runWorkflowFile(file, 'w.json', { repo, executor, onEvent: e => events.push(e.type) })
  assert.equal(executor.runs, 2)
  assert.equal(second.executed, 0)
  assert.equal(second.cached, 2)
  assert.deepEqual(events, ['workflow:start', 'task:cached', 'task:cached'])
  for (const [i, task] of second.tasks.entries()) {
    const before = first.tasks[i]
    assert.ok(task.instructionCid.equals(before?.instructionCid))
    assert.ok(task.receiptCid?.equals(before?.receiptCid))
    assert.ok(task.outcomeDigest?.equals(before?.outcomeDigest))
    assert.deepEqual(task.out, before?.out)
    assert.equal(task.path, before?.path)
    assert.equal(task.func, before?.func)
  }
})

test('a changed file misses the record and falls back to per-task memoization', async t => {
  const { repo, executor, module } = await setup(t)
  const a = task(module, 'add', [2, 3])
  await runWorkflowFile(workflowFile([a]), 'w.json', { repo, executor })
  const changed = await runWorkflowFile(workflowFile([a, task(module, 'add', [4, 4])]), 'w2.json', { repo, executor })
  assert.equal(changed.executed, 1, 'only the new task ran')
  assert.equal(changed.cached, 1)
})

test('a failed workflow leaves no record; memo: false bypasses it; a corrupt record is ignored', async t => {
  const { repo, executor, module } = await setup(t)
  const failing = workflowFile([task(module, 'fail', []), task(module, 'add', [1, 1])])
  const first = await runWorkflowFile(failing, 'f.json', { repo, executor })
  assert.equal(first.ok, false)
  assert.equal(await repo.workflows.get(workflowCid(failing)), undefined)

  const fine = workflowFile([task(module, 'add', [9, 9])])
  await runWorkflowFile(fine, 'ok.json', { repo, executor })
  const forced = await runWorkflowFile(fine, 'ok.json', { repo, executor, memo: false })
  assert.equal(forced.executed, 1)

  await repo.workflows.put(workflowCid(fine), new Uint8Array([0xff, 0x00]))
  const afterCorruption = await runWorkflowFile(fine, 'ok.json', { repo, executor })
  assert.equal(afterCorruption.ok, true)
  assert.equal(afterCorruption.cached, 1, 'answered by the per-task memo instead')
})

test('an invalid file throws before anything runs', async t => {
  const { repo, executor } = await setup(t)
  await assert.rejects(runWorkflowFile(new TextEncoder().encode('{"tasks": 3}'), 'bad.json', { repo, executor }), { name: 'WorkflowValidationError' })
  assert.equal(executor.runs, 0)
})
