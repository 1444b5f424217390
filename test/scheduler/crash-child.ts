/**
 * A scheduler process for the crash test: runs (or resumes) the workflow file
 * given, logging every execution's InID to a file. With `pause:<func>` it
 * hangs when that function is dispatched, so the parent can SIGKILL it with
 * that task recorded as running.
 *
 * Usage: node crash-child.js DIR WORKFLOW LOG (pause:<func> | run)
 */
import '../../src/polyfill.js'
import { appendFileSync, readFileSync } from 'node:fs'
import { openLmdbRepo } from '../../src/store/lmdb-repo.js'
import { LocalExecutor } from '../../src/executor/local.js'
import { Scheduler } from '../../scheduler/index.js'
import type { Executor } from '../../src/executor/interface.js'

const [dir, workflowPath, logPath, mode] = process.argv.slice(2) as [string, string, string, string]
const pauseFunc = mode.startsWith('pause:') ? mode.slice('pause:'.length) : undefined
const repo = openLmdbRepo({ path: dir })
const local = new LocalExecutor(repo.blocks, { threads: 1 })
const counting: Executor = {
  async execute (task, options) {
    if (task.func === pauseFunc) {
      process.stdout.write(`paused ${task.instructionCid.toString()}\n`)
      await new Promise(() => {})
    }
    appendFileSync(logPath, `${task.instructionCid.toString()} ${task.func}\n`)
    return await local.execute(task, options)
  },
  async stop () { await local.stop() }
}
const scheduler = new Scheduler({ repo, executor: counting, dir, concurrency: 2 })
const resumed = await scheduler.start()
// Submitting the same file again is how a client resumes: the id is the file's CID.
const id = await scheduler.submit(readFileSync(workflowPath), 'chain.json')
const summary = await scheduler.wait(id, { signal: AbortSignal.timeout(30_000) })
process.stdout.write(`finished ${JSON.stringify({ resumed, summary })}\n`)
await scheduler.stop()
await local.stop()
await repo.close()
