/**
 * Memoization: a workflow of 1,000 small tasks, first run (fresh store, pool
 * started) against the cached re-run (every task answered from the receipt
 * store). Both include reading and planning the workflow. Target: the cached
 * re-run at least 50× faster.
 */
import '../../src/polyfill.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as dagJson from '@ipld/dag-json'
import wabtInit from 'wabt'
import { openLmdbRepo } from '../../src/store/lmdb-repo.js'
import { LocalExecutor } from '../../src/executor/local.js'
import { loadWorkflow } from '../../src/workflow/plan.js'
import { runWorkflow } from '../../src/workflow/run.js'
import { runWorkflowFile } from '../../src/workflow/run-file.js'
import { instructionCid } from '../../src/model/instruction.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { machine, median, target, round } from '../lib.js'
import { identityFromSeed } from '../../src/auth/identity.js'
import type { BenchmarkResult } from '../lib.js'
import type { Instruction } from '../../src/model/types.js'

const TASKS = 1000
const CHAINS = 10
const REPEATS = 5

async function arithModule (): Promise<Uint8Array> {
  const wabt = await wabtInit()
  const module = wabt.parseWat('arith.wat', '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))')
  const bytes = new Uint8Array(module.toBinary({}).buffer)
  module.destroy()
  return bytes
}

/** 1,000 tasks: 10 independent chains of 100, each task adding to its predecessor's result. */
function workflow (module: string): Uint8Array {
  const tasks: Array<{ run: Instruction, meta: object, prf: [] }> = []
  const perChain = TASKS / CHAINS
  for (let chain = 0; chain < CHAINS; chain++) {
    let previous: Instruction | undefined
    for (let step = 0; step < perChain; step++) {
      const first = previous === undefined ? chain : { 'await/ok': instructionCid(previous) }
      const run: Instruction = { rsc: `ipfs://${module}`, op: 'wasm/run', input: { func: 'add', args: [first as never, step] }, nnc: '' }
      tasks.push({ run, meta: { time: 10_000 }, prf: [] })
      previous = run
    }
  }
  return dagJson.encode({ tasks })
}

export async function run (): Promise<BenchmarkResult> {
  const moduleBytes = await arithModule()
  const moduleCid = cidOf(moduleBytes, codecs.raw)
  const file = workflow(moduleCid.toString())
  // As `ipvm run` does: the node signs invocations and receipts, and its executor checks them.
  const identity = await identityFromSeed(new Uint8Array(32).fill(7))
  const signed = { identity: identity.signer, requireInvocation: true }
  const firstRuns: number[] = []
  const cachedRuns: number[] = []
  const perTaskRuns: number[] = []
  const planMs: number[] = []
  for (let i = 0; i < REPEATS; i++) {
    const dir = await mkdtemp(join(tmpdir(), 'ipvm-bench-memo-'))
    const repo = openLmdbRepo({ path: dir })
    try {
      await repo.blocks.put(moduleCid, moduleBytes)
      // First run: parse, plan, start the pool, execute, store every receipt.
      let started = performance.now()
      const executor = new LocalExecutor(repo.blocks, signed)
      const first = await runWorkflowFile(file, 'bench', { repo, executor, concurrency: executor.threads, signer: identity.signer })
      firstRuns.push(performance.now() - started)
      await executor.stop()
      if (!first.ok || first.executed !== TASKS) throw new Error(`first run: ${first.executed} executed, ok=${first.ok}`)

      // Re-run of the unchanged file: the workflow-level memo.
      started = performance.now()
      const again = new LocalExecutor(repo.blocks, signed)
      const cached = await runWorkflowFile(file, 'bench', { repo, executor: again, signer: identity.signer })
      cachedRuns.push(performance.now() - started)
      if (cached.executed !== 0 || cached.cached !== TASKS) throw new Error(`cached run executed ${cached.executed}`)

      // Per-task memo only (what an edited file costs): parse, plan, one receipt lookup per task.
      started = performance.now()
      const plan = loadWorkflow(file, 'bench')
      planMs.push(performance.now() - started)
      const perTask = await runWorkflow(plan, { repo, executor: again, signer: identity.signer })
      perTaskRuns.push(performance.now() - started)
      await again.stop()
      if (perTask.executed !== 0 || perTask.cached !== TASKS) throw new Error(`per-task memo run executed ${perTask.executed}`)
    } finally {
      await repo.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
  const first = median(firstRuns)
  const cached = median(cachedRuns)
  const perTask = median(perTaskRuns)
  return {
    name: 'memo',
    description: `${TASKS} small tasks (${CHAINS} chains of ${TASKS / CHAINS} with await/ok), signed invocations and receipts as ipvm run does: first run vs cached re-run, in process, LMDB store, median of ${REPEATS}`,
    machine: machine(),
    date: new Date().toISOString(),
    metrics: {
      tasks: TASKS,
      firstRunMs: round(first, 1),
      firstRunTasksPerSecond: Math.round(TASKS / first * 1000),
      cachedRunMs: round(cached, 2),
      speedup: round(first / cached, 1),
      perTaskMemoRunMs: round(perTask, 2),
      perTaskMemoSpeedup: round(first / perTask, 1),
      parseAndPlanMs: round(median(planMs), 2),
      samples: { firstRunMs: firstRuns.map(v => round(v, 1)), cachedRunMs: cachedRuns.map(v => round(v, 2)), perTaskMemoRunMs: perTaskRuns.map(v => round(v, 2)) }
    },
    targets: [target('cached re-run speedup (×)', round(first / cached, 1), '>=', 50)]
  }
}
