/**
 * Runs a workflow file, with a workflow-level memo on top of the per-task one:
 * the file's CID (sha2-256 of its bytes) maps to the summary of its last fully
 * successful run, so re-running an unchanged workflow is one lookup, with no
 * parsing, planning or per-task reads. Any change to the file (a new task, a
 * new nonce) misses this memo and falls back to per-task memoization.
 */
import { cidOf, codecs, encodeBlock, decodeBlock } from '../model/block.js'
import { loadWorkflow } from './plan.js'
import { runWorkflow } from './run.js'
import { CID } from 'multiformats/cid'
import type { Outcome } from '../model/types.js'
import type { RunWorkflowOptions, TaskReport, WorkflowReport } from './run.js'
import type { Repo } from '../store/interface.js'

/**
 * One task in a workflow record. CIDs are kept as bytes: decoding thousands of
 * CID objects costs more than the rest of a cached run, so they are decoded
 * only when someone reads them.
 */
interface RecordedTask {
  func: string
  instruction: Uint8Array
  receipt: Uint8Array
  digest: Uint8Array
  out: Outcome
  time?: number
  fuel: number | bigint | null
}

/** The summary stored under a workflow file's CID after a fully successful run. */
interface WorkflowRecord {
  version: 1
  tasks: RecordedTask[]
}

/** The CID that names a workflow file: raw codec, sha2-256 of its bytes. */
export function workflowCid (bytes: Uint8Array): CID {
  return cidOf(bytes, codecs.raw)
}

/** Defines `name` on `target` as a CID decoded from `bytes` on first read. */
function lazyCid (target: object, name: string, bytes: Uint8Array): void {
  let cid: CID | undefined
  Object.defineProperty(target, name, {
    enumerable: true,
    configurable: true,
    get: () => (cid ??= CID.decode(bytes)),
    set: (value: CID) => { cid = value }
  })
}

function fromRecord (record: WorkflowRecord, source: string, started: number): WorkflowReport {
  const tasks = record.tasks.map((entry, index): TaskReport => {
    const report = {
      index,
      path: `tasks[${index}]`,
      func: entry.func,
      status: 'ok',
      cached: true,
      out: entry.out,
      fuel: entry.fuel
    } as TaskReport
    lazyCid(report, 'instructionCid', entry.instruction)
    lazyCid(report, 'receiptCid', entry.receipt)
    lazyCid(report, 'outcomeDigest', entry.digest)
    if (entry.time !== undefined) report.durationMs = entry.time
    return report
  })
  return { source, tasks, ok: true, executed: 0, cached: tasks.length, failed: 0, durationMs: performance.now() - started }
}

function toRecord (report: WorkflowReport): WorkflowRecord {
  return {
    version: 1,
    tasks: report.tasks.map(task => {
      const entry: RecordedTask = {
        func: task.func,
        instruction: task.instructionCid.bytes,
        receipt: (task.receiptCid as CID).bytes,
        digest: (task.outcomeDigest as CID).bytes,
        out: task.out as Outcome,
        fuel: task.fuel
      }
      if (task.durationMs !== undefined) entry.time = task.durationMs
      return entry
    })
  }
}

function isRecord (value: unknown): value is WorkflowRecord {
  return typeof value === 'object' && value !== null && (value as WorkflowRecord).version === 1 && Array.isArray((value as WorkflowRecord).tasks)
}

/**
 * The recorded report of a workflow file whose last run fully succeeded, as
 * cached tasks; `undefined` when there is none. One lookup, no parsing.
 */
export async function recordedWorkflowReport (repo: Repo, bytes: Uint8Array, source: string, started = performance.now()): Promise<WorkflowReport | undefined> {
  const stored = await repo.workflows.get(workflowCid(bytes))
  if (stored === undefined) return undefined
  let record: unknown
  try { record = decodeBlock(stored) } catch { record = undefined }
  return isRecord(record) ? fromRecord(record, source, started) : undefined
}

/** Records `report` under the file's CID when every task succeeded (the workflow-level memo). */
export async function recordWorkflowReport (repo: Repo, bytes: Uint8Array, report: WorkflowReport): Promise<void> {
  if (report.ok) await repo.workflows.put(workflowCid(bytes), encodeBlock(toRecord(report)).bytes)
}

/**
 * Parses, plans and runs a workflow file, answering an unchanged, previously
 * successful workflow from its record. Validation errors are thrown as
 * `WorkflowValidationError` before anything runs.
 */
export async function runWorkflowFile (bytes: Uint8Array, source: string, options: RunWorkflowOptions): Promise<WorkflowReport> {
  const started = performance.now()
  if (options.memo !== false) {
    const report = await recordedWorkflowReport(options.repo, bytes, source, started)
    if (report !== undefined) {
      options.onEvent?.({ type: 'workflow:start', tasks: report.tasks.length })
      for (const task of report.tasks) options.onEvent?.({ type: 'task:cached', task })
      return report
    }
  }
  const report = await runWorkflow(loadWorkflow(bytes, source), options)
  await recordWorkflowReport(options.repo, bytes, report)
  return { ...report, durationMs: performance.now() - started }
}
