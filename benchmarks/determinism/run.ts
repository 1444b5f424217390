/**
 * Determinism: every example workflow run 100 times, each run in a fresh
 * worker pool (so a fresh worker thread and a fresh compilation), with the
 * memo off. Each task must give one outcome digest ({ran: InID, out, fuel})
 * over all runs. Also reports the fuel of each task.
 */
import '../../src/polyfill.js'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { addFile } from '../../src/store/unixfs.js'
import { LocalExecutor } from '../../src/executor/local.js'
import { loadWorkflow } from '../../src/workflow/plan.js'
import { runWorkflow } from '../../src/workflow/run.js'
import { machine, target } from '../lib.js'
import type { BenchmarkResult } from '../lib.js'

const RUNS = Number(process.env.IPVM_DETERMINISM_RUNS ?? 100)
const examples = fileURLToPath(new URL('../../../examples/', import.meta.url))

export async function run (): Promise<BenchmarkResult> {
  const repo = memoryRepo()
  for (const name of await readdir(join(examples, 'build'))) if (name.endsWith('.wasm')) await addFile(repo.blocks, join(examples, 'build', name))
  await addFile(repo.blocks, join(examples, 'data/essay.txt'))
  const files = (await readdir(join(examples, 'workflows'))).filter(n => n.endsWith('.json') && !n.includes('.template.') && n !== 'expected.json').sort()
  const perTask: Record<string, { digests: Set<string>, fuel: Set<string> }> = {}
  const started = performance.now()
  for (const file of files) {
    const plan = loadWorkflow(new Uint8Array(await readFile(join(examples, 'workflows', file))), file)
    for (let i = 0; i < RUNS; i++) {
      const executor = new LocalExecutor(repo.blocks, { threads: 1 })
      try {
        const report = await runWorkflow(plan, { repo, executor, memo: false, concurrency: 1 })
        if (!report.ok) throw new Error(`${file} failed on run ${i}`)
        for (const task of report.tasks) {
          const key = `${file} ${task.path} ${task.func}`
          const entry = perTask[key] ??= { digests: new Set(), fuel: new Set() }
          entry.digests.add(String(task.outcomeDigest))
          entry.fuel.add(String(task.fuel))
        }
      } finally {
        await executor.stop()
      }
    }
  }
  const tasks = Object.entries(perTask).map(([task, { digests, fuel }]) => ({ task, distinctDigests: digests.size, fuel: [...fuel].join(' | ') }))
  const worst = Math.max(...tasks.map(t => t.distinctDigests))
  return {
    name: 'determinism',
    description: `${RUNS} runs of every example workflow, each in a fresh single-thread pool, memo off: distinct outcome digests per task`,
    machine: machine(),
    date: new Date().toISOString(),
    metrics: { runs: RUNS, workflows: files.length, tasks: tasks.length, seconds: Math.round((performance.now() - started) / 100) / 10, mostDistinctDigestsForOneTask: worst, perTask: tasks },
    targets: [target('distinct outcome digests per task', worst, '<=', 1)]
  }
}
