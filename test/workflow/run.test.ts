import test from 'node:test'
import assert from 'node:assert/strict'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { openLmdbRepo } from '../../src/store/lmdb-repo.js'
import { LocalExecutor } from '../../src/executor/local.js'
import { loadWorkflow } from '../../src/workflow/plan.js'
import { runWorkflow } from '../../src/workflow/run.js'
import { instructionCid } from '../../src/model/instruction.js'
import { decodeBlock, hashes } from '../../src/model/block.js'
import { wat, MATH_WAT, putModule, task, workflowFile, tempDir } from '../helpers.js'
import type { CID } from 'multiformats/cid'
import type { Executor, ExecutionTask } from '../../src/executor/interface.js'
import type { Instruction, Receipt } from '../../src/model/types.js'
import type { Repo } from '../../src/store/interface.js'
import type { WorkflowEvent } from '../../src/workflow/run.js'

const math = await wat(MATH_WAT)

/** A real LocalExecutor that also counts what it was asked to run. */
function counting (executor: LocalExecutor): Executor & { calls: ExecutionTask[] } {
  const calls: ExecutionTask[] = []
  return {
    calls,
    async execute (t, options) { calls.push(t); return await executor.execute(t, options) },
    async stop () { await executor.stop() }
  }
}

async function setup (t: { after: (fn: () => Promise<void>) => void }, repo: Repo = memoryRepo()): Promise<{ repo: Repo, module: CID, executor: ReturnType<typeof counting> }> {
  const module = await putModule(repo.blocks, math)
  const executor = counting(new LocalExecutor(repo.blocks, { threads: 2 }))
  t.after(async () => { await executor.stop(); await repo.close() })
  return { repo, module, executor }
}

const inid = (t: Record<string, unknown>): CID => instructionCid(t.run as Instruction)
const okOf = (report: { out?: unknown }): unknown => (report.out as { ok?: unknown } | undefined)?.ok

test('a pipeline with await/ok runs in dependency order and stores a receipt per task', async t => {
  const { repo, module, executor } = await setup(t)
  const a = task(module, 'add', [2, 3])
  const b = task(module, 'mul', [{ 'await/ok': inid(a) }, 4])
  const c = task(module, 'add_one', [{ 'await/ok': inid(b) }])
  const report = await runWorkflow(loadWorkflow(workflowFile([c, a, b])), { repo, executor })
  assert.equal(report.ok, true)
  assert.deepEqual(report.tasks.map(okOf), [21, 5, 20])
  assert.deepEqual(report.tasks.map(r => r.status), ['ok', 'ok', 'ok'])
  assert.equal(report.executed, 3)
  assert.equal(report.cached, 0)
  // Substituted values reached the executor; the instruction kept its promise.
  assert.deepEqual(executor.calls.map(c => c.args), [[2, 3], [5, 4], [20]])
  for (const r of report.tasks) {
    const receiptCid = await repo.receipts.get(r.instructionCid)
    assert.ok(receiptCid?.equals(r.receiptCid as CID))
    const receipt = decodeBlock<Receipt>((await repo.blocks.get(receiptCid as CID)) as Uint8Array)
    assert.deepEqual(receipt.out, r.out)
    assert.equal(typeof receipt.meta.time, 'number')
    const invocation = decodeBlock<{ task: { run: CID } }>((await repo.blocks.get(receipt.ran)) as Uint8Array)
    assert.ok(invocation.task.run.equals(r.instructionCid), 'the receipt\'s invocation runs this instruction')
    assert.ok(await repo.blocks.has(r.instructionCid), 'the instruction block is stored')
  }
})

test('independent tasks start together; a join waits for both', async t => {
  const { repo, module, executor } = await setup(t)
  const left = task(module, 'add', [1, 1])
  const right = task(module, 'add', [2, 2])
  const join = task(module, 'mul', [{ 'await/ok': inid(left) }, { 'await/ok': inid(right) }])
  const events: WorkflowEvent[] = []
  const report = await runWorkflow(loadWorkflow(workflowFile([left, right, join])), { repo, executor, concurrency: 2, onEvent: e => events.push(e) })
  assert.deepEqual(report.tasks.map(okOf), [2, 4, 8])
  const sequence = events.flatMap(e => e.type === 'workflow:start' ? [] : e.type === 'task:start' ? [`start ${e.index}`] : [`${e.type} ${e.task.index}`])
  assert.deepEqual(sequence.slice(0, 2).sort(), ['start 0', 'start 1'], `both branches were running at once: ${sequence.join(', ')}`)
  assert.ok(sequence.indexOf('start 2') > sequence.indexOf('task:done 0') && sequence.indexOf('start 2') > sequence.indexOf('task:done 1'))
})

test('a failure fails its dependents with a receipt naming the cause; independent tasks finish', async t => {
  const { repo, module, executor } = await setup(t)
  const broken = task(module, 'div', [1, 0])
  const dependent = task(module, 'add_one', [{ 'await/ok': inid(broken) }])
  const transitive = task(module, 'add_one', [{ 'await/ok': inid(dependent) }])
  const independent = task(module, 'add', [40, 2])
  const report = await runWorkflow(loadWorkflow(workflowFile([broken, dependent, transitive, independent])), { repo, executor })
  assert.equal(report.ok, false)
  assert.equal(report.failed, 3)
  const [b, d, tr, ind] = report.tasks
  assert.equal((b?.out as any).error.name, 'Trap')
  assert.equal((d?.out as any).error.name, 'DependencyFailed')
  assert.match((d?.out as any).error.message, /tasks\[0\] \(div\) failed with Trap/)
  assert.equal((d?.out as any).error.cause, 'Trap')
  assert.equal((tr?.out as any).error.name, 'DependencyFailed')
  assert.match((tr?.out as any).error.message, /^tasks\[1\] \(add_one\) did not run: tasks\[0\] \(div\) failed with Trap/)
  assert.equal((tr?.out as any).error.cause, 'Trap', 'the root cause travels down the pipeline')
  assert.equal(okOf(ind as object), 42)
  assert.equal(executor.calls.length, 2, 'dependents of a failure are not executed')
  const receipt = decodeBlock<Receipt>((await repo.blocks.get(d?.receiptCid as CID)) as Uint8Array)
  assert.equal((receipt.out as any).error.name, 'DependencyFailed')
})

test('await/error and await/* take the error or the whole result', async t => {
  const { repo, module, executor } = await setup(t)
  const broken = task(module, 'fail', [])
  const fine = task(module, 'add', [1, 2])
  // `nothing` takes no arguments, so use a map in nested position to observe the value in the receipt:
  // the await is resolved before execution, and the executor sees it.
  const onError = task(module, 'nothing', [], { nnc: 'e' })
  ;(onError.run as any).input.args = []
  ;(onError.run as any).input.on = { 'await/error': inid(broken) }
  const onAny = task(module, 'nothing', [], { nnc: 'a' })
  ;(onAny.run as any).input.on = { 'await/*': inid(fine) }
  const expectsError = task(module, 'nothing', [], { nnc: 'x' })
  ;(expectsError.run as any).input.on = { 'await/error': inid(fine) }
  const report = await runWorkflow(loadWorkflow(workflowFile([broken, fine, onError, onAny, expectsError])), { repo, executor })
  assert.deepEqual(report.tasks.map(r => r.status), ['error', 'ok', 'ok', 'ok', 'error'])
  assert.equal((report.tasks[4]?.out as any).error.name, 'UnexpectedSuccess')
  assert.equal(executor.calls.length, 4)
})

test('a second run executes nothing and reports every task as cached', async t => {
  const { repo, module, executor } = await setup(t, openLmdbRepo({ path: await tempDir(t) }))
  const a = task(module, 'add', [2, 3])
  const b = task(module, 'mul', [{ 'await/ok': inid(a) }, 4])
  const plan = loadWorkflow(workflowFile([a, b]))
  const first = await runWorkflow(plan, { repo, executor })
  assert.equal(first.executed, 2)
  const second = await runWorkflow(plan, { repo, executor })
  assert.equal(executor.calls.length, 2, 'nothing ran the second time')
  assert.equal(second.executed, 0)
  assert.equal(second.cached, 2)
  assert.ok(second.tasks.every(r => r.cached && r.status === 'ok'))
  assert.deepEqual(second.tasks.map(okOf), first.tasks.map(okOf))
  assert.deepEqual(second.tasks.map(r => r.outcomeDigest?.toString()), first.tasks.map(r => r.outcomeDigest?.toString()))
  // A receipt is also found by the instruction's sha3-256 InID (as Homestar names it).
  const sha3 = instructionCid(a.run as Instruction, hashes.sha3_256)
  assert.ok((await repo.receipts.get(sha3))?.equals(first.tasks[0]?.receiptCid as CID))
  // memo: false runs everything again.
  const forced = await runWorkflow(plan, { repo, executor, memo: false })
  assert.equal(forced.executed, 2)
})

test('only successes are memoized: a failed task runs again next time', async t => {
  const { repo, module, executor } = await setup(t)
  const broken = task(module, 'fail', [])
  const plan = loadWorkflow(workflowFile([broken]))
  await runWorkflow(plan, { repo, executor })
  const again = await runWorkflow(plan, { repo, executor })
  assert.equal(again.executed, 1)
  assert.equal(again.cached, 0)
})

test('a missing module or input block fails the task with the CID named', async t => {
  const { repo, module, executor } = await setup(t)
  const other = await wat('(module (func (export "f") (result i32) i32.const 1))')
  const { cidOf, codecs } = await import('../../src/model/block.js')
  const missingModule = cidOf(other, codecs.raw)
  const missingInput = cidOf(new Uint8Array([1, 2, 3]), codecs.raw)
  const report = await runWorkflow(loadWorkflow(workflowFile([
    task(missingModule, 'f', []),
    task(module, 'sum', [missingInput]),
    task(module, 'add', [1, 1])
  ])), { repo, executor })
  const [m, i, ok] = report.tasks
  assert.equal((m?.out as any).error.name, 'ModuleNotFound')
  assert.match((m?.out as any).error.message, new RegExp(`module ${missingModule} is not in the store`))
  assert.equal((i?.out as any).error.name, 'BlockNotFound')
  assert.match((i?.out as any).error.message, new RegExp(missingInput.toString()))
  assert.equal(okOf(ok as object), 2)
})

test('meta.time is a hard per-task timeout; other tasks still finish', async t => {
  const { repo, module, executor } = await setup(t)
  const report = await runWorkflow(loadWorkflow(workflowFile([task(module, 'spin', [], { time: 200 }), task(module, 'add', [1, 2])])), { repo, executor })
  assert.equal((report.tasks[0]?.out as any).error.name, 'Timeout')
  assert.equal(okOf(report.tasks[1] as object), 3)
})

test('an aborted run records nothing for the interrupted task and starts nothing more', async t => {
  const { repo, module, executor } = await setup(t)
  const spin = task(module, 'spin', [], { time: 60_000 })
  const after = task(module, 'add_one', [{ 'await/*': inid(spin) }])
  const controller = new AbortController()
  const running = runWorkflow(loadWorkflow(workflowFile([spin, after])), {
    repo, executor, signal: controller.signal, onEvent: e => { if (e.type === 'task:start') setTimeout(() => controller.abort(), 50) }
  })
  const report = await running
  assert.deepEqual(report.tasks.map(r => r.status), ['not-run', 'not-run'])
  assert.equal(report.ok, false)
  assert.equal(await repo.receipts.get(report.tasks[0]?.instructionCid as CID), undefined)
})

test('input.abi reaches the worker: forcing an ABI the module does not fit is UnsupportedAbi', async t => {
  const { repo, module, executor } = await setup(t)
  const forced = task(module, 'add', [1, 2], { nnc: 'forced' })
  ;(forced.run as any).input.abi = 'ipld'
  const report = await runWorkflow(loadWorkflow(workflowFile([forced, task(module, 'add', [1, 2])])), { repo, executor })
  assert.equal((report.tasks[0]?.out as any).error.name, 'UnsupportedAbi')
  assert.equal(okOf(report.tasks[1] as object), 3, 'the same module without the override runs as core')
})
