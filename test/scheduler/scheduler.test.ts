import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { openLmdbRepo } from '../../src/store/lmdb-repo.js'
import { LocalExecutor } from '../../src/executor/local.js'
import { instructionCid } from '../../src/model/instruction.js'
import { decodeBlock } from '../../src/model/block.js'
import { Scheduler, SchedulerState } from '../../scheduler/index.js'
import { MATH_WAT, putModule, task, tempDir, wat, workflowFile } from '../helpers.js'
import type { TestContext } from 'node:test'
import type { Executor } from '../../src/executor/interface.js'
import type { Instruction, Receipt } from '../../src/model/types.js'
import type { Repo } from '../../src/store/interface.js'

const math = await wat(MATH_WAT)
const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url))

/** a = 1+2, b = a*4, c = b+1, d = c+10: a chain, so the kill point is exact. */
function chain (module: CID): { file: Uint8Array, ids: string[] } {
  const a = task(module, 'add', [1, 2])
  const b = task(module, 'mul', [{ 'await/ok': instructionCid(a.run as Instruction) }, 4])
  const c = task(module, 'add-one', [{ 'await/ok': instructionCid(b.run as Instruction) }])
  const d = task(module, 'add', [{ 'await/ok': instructionCid(c.run as Instruction) }, 10])
  return { file: workflowFile([a, b, c, d]), ids: [a, b, c, d].map(x => instructionCid(x.run as Instruction).toString()) }
}

/** A LocalExecutor that counts executions per InID. */
function counted (t: TestContext, repo: Repo): { executor: Executor, runs: string[] } {
  const local = new LocalExecutor(repo.blocks, { threads: 1 })
  t.after(async () => { await local.stop() })
  const runs: string[] = []
  return { runs, executor: { execute: async (x, o) => { runs.push(x.instructionCid.toString()); return await local.execute(x, o) }, stop: async () => { await local.stop() } } }
}

async function receiptOut (repo: Repo, cid: string): Promise<Receipt['out']> {
  return decodeBlock<Receipt>(await repo.blocks.get(CID.parse(cid)) as Uint8Array).out
}

test('a workflow runs to the end; submitting it again, or a new scheduler over the same repo, runs nothing', async t => {
  const dir = await tempDir(t)
  const repo = memoryRepo()
  const module = await putModule(repo.blocks, math)
  const { file, ids } = chain(module)
  const { executor, runs } = counted(t, repo)
  const scheduler = new Scheduler({ repo, executor, dir })
  t.after(async () => { await scheduler.stop() })
  await scheduler.start()
  const id = await scheduler.submit(file, 'chain.json')
  const summary = await scheduler.wait(id, { signal: AbortSignal.timeout(20_000) })
  assert.equal(summary.ok, true)
  assert.deepEqual(runs, ids)
  const last = summary.tasks[3]
  assert.equal(last?.state, 'done')
  assert.deepEqual(await receiptOut(repo, (last as { receipt: string }).receipt), { ok: 23 })
  // Same file, same id: nothing runs again.
  assert.equal(await scheduler.submit(file, 'chain.json'), id)
  assert.equal((await scheduler.wait(id)).ok, true)
  await scheduler.stop()
  // A fresh state directory over the same repo: the memo answers every task.
  const again = new Scheduler({ repo, executor, dir: await tempDir(t) })
  t.after(async () => { await again.stop() })
  await again.start()
  assert.equal((await again.wait(await again.submit(file), { signal: AbortSignal.timeout(20_000) })).ok, true)
  assert.equal(runs.length, 4, 'memoized tasks were not executed')
})

test('a failed task fails its dependents with DependencyFailed; the workflow finishes', async t => {
  const repo = memoryRepo()
  const module = await putModule(repo.blocks, math)
  const bad = task(module, 'div', [1, 0])
  const after = task(module, 'add', [{ 'await/ok': instructionCid(bad.run as Instruction) }, 1])
  const { executor, runs } = counted(t, repo)
  const scheduler = new Scheduler({ repo, executor, dir: await tempDir(t) })
  t.after(async () => { await scheduler.stop() })
  await scheduler.start()
  const summary = await scheduler.wait(await scheduler.submit(workflowFile([bad, after])), { signal: AbortSignal.timeout(20_000) })
  assert.equal(summary.ok, false)
  assert.equal(summary.tasks[0]?.state, 'failed')
  assert.equal((summary.tasks[1] as { error: { name: string } }).error.name, 'DependencyFailed')
  assert.equal(runs.length, 1, 'the dependent never reached the executor')
})

/** Runs the child; resolves with its stdout lines when `until` matches a line (then kills it) or when it exits. */
async function runChild (t: TestContext, args: string[], until?: RegExp): Promise<{ lines: string[], code: number | null, signal: string | null }> {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const lines: string[] = []
  let buffered = ''
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    const parts = buffered.split('\n')
    buffered = parts.pop() ?? ''
    for (const line of parts) {
      lines.push(line)
      if (until?.test(line) === true) child.kill('SIGKILL')
    }
  })
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child did not finish within 60 s; output: ${lines.join(' | ')}`)) }, 60_000)
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ lines, code, signal }) })
  })
}

test('a scheduler process killed with SIGKILL mid-workflow resumes on restart: finished tasks are not run again, the running one is reassigned', async t => {
  const dir = await tempDir(t)
  const repo = openLmdbRepo({ path: dir })
  const module = await putModule(repo.blocks, math)
  await repo.close()
  const { file, ids } = chain(module)
  const workflowPath = join(dir, 'chain.json')
  const logPath = join(dir, 'executions.log')
  await writeFile(workflowPath, file)
  await writeFile(logPath, '')

  const first = await runChild(t, [dir, workflowPath, logPath, 'pause:add-one'], /^paused /)
  assert.equal(first.signal, 'SIGKILL')
  assert.deepEqual(first.lines, [`paused ${ids[2]}`])
  const executedBefore = (await readFile(logPath, 'utf8')).trim().split('\n').map(line => line.split(' ')[0])
  assert.deepEqual(executedBefore, ids.slice(0, 2))

  // What the killed process left: two tasks done (durably), the third in flight, the last pending.
  // The in-flight task's 'running' write is informative and not awaited (a resume treats running
  // and pending alike), so SIGKILL may land before it is committed.
  const state = SchedulerState.open(dir)
  const [record] = state.unfinished()
  assert.ok(record !== undefined)
  const states = state.taskStates(record.id, 4).map(task => task.state)
  assert.deepEqual(states.slice(0, 2), ['done', 'done'])
  assert.ok(states[2] === 'running' || states[2] === 'pending', `the in-flight task is ${String(states[2])}`)
  assert.equal(states[3], 'pending')
  await state.close()

  const second = await runChild(t, [dir, workflowPath, logPath, 'run'])
  assert.equal(second.code, 0)
  const finished = second.lines.find(line => line.startsWith('finished '))
  assert.ok(finished !== undefined, second.lines.join('\n'))
  const { resumed, summary } = JSON.parse(finished.slice('finished '.length)) as { resumed: string[], summary: { id: string, ok: boolean, tasks: Array<{ state: string, receipt?: string }> } }
  assert.deepEqual(resumed, [record.id])
  assert.equal(summary.ok, true)

  const executions = (await readFile(logPath, 'utf8')).trim().split('\n').map(line => line.split(' ')[0])
  assert.deepEqual(executions, ids, 'every task executed exactly once over both processes')
  const check = openLmdbRepo({ path: dir })
  t.after(async () => { await check.close() })
  assert.deepEqual(await receiptOut(check, summary.tasks[3]?.receipt as string), { ok: 23 })
})
