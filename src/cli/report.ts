/**
 * How workflow runs are shown: the progress line while tasks run, the table
 * of results, and the JSON report. Shared by `ipvm run` and `ipvm submit`.
 */
import { toDagJson } from '../model/dag-json.js'
import { styles, table, truncate, bar, formatDuration } from './output.js'
import type { ProgressLine } from './output.js'
import type { CommandContext } from './command.js'
import type { TaskReport, WorkflowEvent, WorkflowReport } from '../workflow/run.js'

/** Events a renderer understands: the runner's, plus the network's status and reconnections. */
export type ProgressEvent = WorkflowEvent | { type: 'status' } | { type: 'reconnecting', error: string } | { type: 'task:waiting', index: number, reason: string }

/** Renders progress events on one updating line. */
export function progressRenderer (progress: ProgressLine): (event: ProgressEvent) => void {
  let total = 0
  let done = 0
  let failed = 0
  let cached = 0
  let running = 0
  let note = ''
  return event => {
    if (event.type === 'status') return
    if (event.type === 'reconnecting') {
      note = '  (scheduler unreachable: reconnecting)'
      progress.update(`${bar(done, total)} ${done}/${total} tasks  ${running} running  ${cached} cached  ${failed} failed${note}`, false)
      return
    }
    if (event.type === 'task:waiting') {
      note = `  (waiting: ${event.reason})`
      progress.update(`${bar(done, total)} ${done}/${total} tasks  ${running} running  ${cached} cached  ${failed} failed${note}`, false)
      return
    }
    note = ''
    if (event.type === 'workflow:start') { total = event.tasks; return }
    if (event.type === 'task:start') running++
    else {
      done++
      if (event.type === 'task:cached') cached++
      else running--
      if (event.task.status !== 'ok') failed++
    }
    progress.update(`${bar(done, total)} ${done}/${total} tasks  ${running} running  ${cached} cached  ${failed} failed`, done === total)
  }
}

/** The value of an outcome, short, for the table. */
function summary (task: TaskReport): string {
  if (task.out === undefined) return ''
  if ('ok' in task.out) return truncate(toDagJson(task.out.ok, 0), 40)
  return truncate(`${task.out.error.name}: ${task.out.error.message}`, 60)
}

/** The results table and summary line. */
export function printReport (report: WorkflowReport, { stdout }: CommandContext): void {
  const s = styles(stdout)
  // Receipts from a network name their executors: show who ran what.
  const withExecutors = report.tasks.some(task => task.executor !== undefined)
  // Tasks awarded in a market show their price and cost.
  const withPrices = report.tasks.some(task => task.price !== undefined)
  const rows = report.tasks.map(task => [
    String(task.index),
    task.func,
    task.instructionCid.toString(),
    task.status === 'ok' ? s.green('ok') : task.status === 'error' ? s.red(task.out !== undefined && 'error' in task.out ? task.out.error.name : 'error') : s.yellow('not run'),
    task.status === 'ok' ? summary(task) : '',
    task.fuel !== null ? task.fuel.toLocaleString('en-US') : '—',
    formatDuration(task.durationMs),
    task.cached ? s.cyan('cached') : '',
    ...(withExecutors ? [task.executor !== undefined ? '…' + task.executor.slice(-6) : ''] : []),
    ...(withPrices ? [task.price !== undefined ? String(task.price) : '', task.cost !== undefined ? String(task.cost) : ''] : [])
  ])
  const priceColumns = withPrices ? ['price', 'cost'] : []
  const numeric = new Set([0, 5, 6, ...(withPrices ? [9, 10].map(i => withExecutors ? i : i - 1) : [])])
  stdout.write(table(['#', 'task', 'InID', 'status', 'result', 'fuel', 'time', 'cached', ...(withExecutors ? ['signed by'] : []), ...priceColumns], rows, numeric))
  const failures = report.tasks.filter(t => t.status !== 'ok')
  if (failures.length > 0) {
    stdout.write('\n')
    for (const task of failures) {
      const why = task.out !== undefined && 'error' in task.out ? `${task.out.error.name}: ${task.out.error.message}` : 'not run (interrupted)'
      stdout.write(`${s.red('✗')} ${task.path} ${task.func}: ${why}\n`)
    }
  }
  const parts = [`${report.tasks.length} tasks`, `${report.tasks.length - report.failed} ok`]
  if (report.failed > 0) parts.push(s.red(`${report.failed} failed`))
  parts.push(`${report.cached} cached`, `${report.executed} executed`)
  const cost = report.cost !== undefined ? `; cost ${report.cost.toLocaleString('en-US')} credits (prices in credits per million fuel)` : ''
  stdout.write(`\n${parts.join(', ')} in ${formatDuration(report.durationMs)}${cost}\n`)
}

/** The report as JSON-ready values. */
export function jsonReport (report: WorkflowReport): Record<string, unknown> {
  return {
    source: report.source,
    ok: report.ok,
    executed: report.executed,
    cached: report.cached,
    failed: report.failed,
    durationMs: report.durationMs,
    ...(report.cost !== undefined ? { cost: report.cost } : {}),
    tasks: report.tasks.map(task => {
      const entry: Record<string, unknown> = {
        index: task.index,
        path: task.path,
        func: task.func,
        instruction: task.instructionCid.toString(),
        status: task.status,
        cached: task.cached,
        fuel: task.fuel
      }
      if (task.out !== undefined) entry.out = task.out
      if (task.receiptCid !== undefined) entry.receipt = task.receiptCid.toString()
      if (task.outcomeDigest !== undefined) entry.outcomeDigest = task.outcomeDigest.toString()
      if (task.durationMs !== undefined) entry.durationMs = task.durationMs
      if (task.executor !== undefined) entry.executor = task.executor
      if (task.price !== undefined) entry.price = task.price
      if (task.cost !== undefined) entry.cost = task.cost
      return entry
    })
  }
}
