/**
 * Turns a parsed workflow into a plan: every task's InID, the tasks each one
 * awaits, and a dependency order. Duplicate instructions, dangling promises
 * and cycles are reported before anything runs.
 */
import { WorkflowValidationError } from '../errors.js'
import { cidOf, codecs, hashes, isSupportedHash } from '../model/block.js'
import { instructionBlock } from '../model/instruction.js'
import { findPromises } from './promises.js'
import { parseWorkflow } from './parse.js'
import type { ValidationIssue } from '../errors.js'
import type { Workflow, WorkflowPlan, PlannedTask, AwaitRef } from './types.js'

/**
 * Finds the tasks that can never run because they wait on each other.
 * `dependsOn[i]` lists the tasks task `i` awaits. Returns an order for the
 * rest (Kahn's algorithm) and the cycles, each as a list of task indices.
 */
export function orderTasks (dependsOn: number[][]): { order: number[], cycles: number[][] } {
  const count = dependsOn.length
  const waiting = dependsOn.map(deps => deps.length)
  const dependents: number[][] = Array.from({ length: count }, () => [])
  dependsOn.forEach((deps, i) => { for (const d of deps) dependents[d]?.push(i) })
  const order: number[] = []
  const ready = waiting.flatMap((n, i) => n === 0 ? [i] : [])
  while (ready.length > 0) {
    const next = ready.shift() as number
    order.push(next)
    for (const dependent of dependents[next] ?? []) {
      if (--(waiting[dependent] as number) === 0) ready.push(dependent)
    }
  }
  const cycles: number[][] = []
  if (order.length < count) {
    const stuck = new Set(waiting.flatMap((n, i) => n > 0 ? [i] : []))
    const seen = new Set<number>()
    for (const start of stuck) {
      if (seen.has(start)) continue
      // Follow stuck dependencies until a task repeats: that loop is a cycle.
      const trail: number[] = []
      let at = start
      while (!trail.includes(at)) {
        trail.push(at)
        at = (dependsOn[at] ?? []).find(d => stuck.has(d)) as number
      }
      const cycle = trail.slice(trail.indexOf(at))
      if (cycle.every(i => !seen.has(i))) cycles.push(cycle)
      for (const i of trail) seen.add(i)
    }
  }
  return { order, cycles }
}

/**
 * Plans a workflow: computes InIDs (sha2-256), matches each promise's link to
 * a task by re-hashing instructions with the link's own multihash function
 * (so Homestar's sha3-256 InIDs resolve), and orders the tasks. Throws
 * `WorkflowValidationError` for duplicates, dangling promises and cycles.
 */
export function planWorkflow (workflow: Workflow): WorkflowPlan {
  const issues: ValidationIssue[] = []
  const tasks: PlannedTask[] = []
  const byHash = new Map<number, Map<string, number>>([[hashes.sha2_256, new Map()]])
  const sha2Index = byHash.get(hashes.sha2_256) as Map<string, number>

  for (const task of workflow.tasks) {
    const block = instructionBlock(task.instruction)
    const key = block.cid.toString()
    const first = sha2Index.get(key)
    if (first !== undefined) {
      issues.push({ path: task.path, message: `the same instruction as tasks[${first}] (InID ${key}); give one a different nnc to run it twice` })
    } else {
      sha2Index.set(key, task.index)
    }
    const awaits: AwaitRef[] = findPromises(task.instruction.input, `${task.path}.run.input`, (path, message) => issues.push({ path, message }))
      .map(found => ({ ...found, task: -1 }))
    tasks.push({ ...task, instructionCid: block.cid, instructionBytes: block.bytes, awaits, dependsOn: [] })
  }

  const indexFor = (hashCode: number): Map<string, number> => {
    let index = byHash.get(hashCode)
    if (index === undefined) {
      index = new Map()
      for (const task of tasks) index.set(cidOf(task.instructionBytes, codecs.dagCbor, hashCode).toString(), task.index)
      byHash.set(hashCode, index)
    }
    return index
  }

  for (const task of tasks) {
    const deps = new Set<number>()
    for (const ref of task.awaits) {
      const { link } = ref
      if (link.code !== codecs.dagCbor) {
        issues.push({ path: ref.path, message: `${link} is not an instruction CID (codec 0x${link.code.toString(16)}, expected dag-cbor)` })
        continue
      }
      if (!isSupportedHash(link.multihash.code)) {
        issues.push({ path: ref.path, message: `${link} uses multihash 0x${link.multihash.code.toString(16)}; ipvm matches sha2-256 and sha3-256 instruction CIDs` })
        continue
      }
      const target = indexFor(link.multihash.code).get(link.toString())
      if (target === undefined) {
        issues.push({ path: ref.path, message: `dangling promise: ${link} is not the InID of any task in this workflow` })
        continue
      }
      if (target === task.index) {
        issues.push({ path: ref.path, message: 'a task cannot await its own result' })
        continue
      }
      ref.task = target
      deps.add(target)
    }
    task.dependsOn = [...deps]
  }

  const { order, cycles } = orderTasks(tasks.map(t => t.dependsOn))
  for (const cycle of cycles) {
    const names = [...cycle, cycle[0]].map(i => `tasks[${i}]`).join(' → ')
    issues.push({ path: `tasks[${cycle[0]}]`, message: `cycle: ${names} await each other` })
  }
  if (issues.length > 0) throw new WorkflowValidationError(workflow.source, issues)
  return { source: workflow.source, tasks, order, ...(workflow.market !== undefined ? { market: workflow.market } : {}) }
}

/** Parses, validates and plans a workflow file in one step. */
export function loadWorkflow (bytes: Uint8Array, source = 'workflow'): WorkflowPlan {
  return planWorkflow(parseWorkflow(bytes, source))
}
