/**
 * `ipvm run WORKFLOW`: the main job.
 */
import { readFile } from 'node:fs/promises'
import { openLmdbRepo } from '../../store/lmdb-repo.js'
import { LocalExecutor } from '../../executor/local.js'
import { runWorkflowFile } from '../../workflow/run-file.js'
import { toDagJson } from '../../model/dag-json.js'
import { loadOrCreateIdentity } from '../../auth/identity.js'
import { openRevocationStore, revocationsPath } from '../../auth/revocations.js'
import { readProof } from '../proof-file.js'
import { UsageError, InputError } from '../../errors.js'
import { repoPath } from '../config.js'
import { commonOptions, commonHelp } from '../command.js'
import { styles, table, truncate, ProgressLine, bar, formatDuration } from '../output.js'
import type { Command, CommandContext } from '../command.js'
import type { TaskReport, WorkflowEvent, WorkflowReport } from '../../workflow/run.js'

export const run: Command = {
  name: 'run',
  summary: 'run a workflow file and print its receipts',
  help: `Usage: ipvm run [options] WORKFLOW

Runs a workflow file (Homestar's format: {"tasks": [{run, meta, prf}, …]}) on
this machine. Tasks whose awaited results are ready run in parallel; every task
ends with a receipt stored under its instruction CID (InID). A task that
already has a successful receipt is not run again: it is reported as cached.

Modules and input files must be in the store first: \`ipvm add FILE\`.

The node signs the tasks it runs (one UCAN authorization for the workflow) and
every receipt, with its identity (\`ipvm id\`). Each task's invocation is
checked before it runs: with --proof, against the delegation chain (fuel and
module caveats, expiry, revocations); a task the chain does not allow gets an
error receipt naming why (e.g. CaveatExceeded) and is not run.

Options:
  --workers N   worker threads (default: the number of CPUs, at most 4)
  --force       run every task even when a receipt is recorded
  --proof FILE  run on another's behalf: a delegation to this node (a CAR file
                or base64 from \`ipvm delegate\`); repeat for several
${commonHelp}

Exit status: 0 when every task succeeded, 1 when any failed, 2 when the
workflow file is invalid or the command is misused, 130 when interrupted.

Example:
  ipvm add examples/build/arith.wasm
  ipvm run examples/workflows/arith.json`,
  options: { ...commonOptions, workers: { type: 'string' }, force: { type: 'boolean' }, proof: { type: 'string', multiple: true } },
  async run (context) {
    const { values, positionals, env, signal } = context
    if (positionals.length !== 1) throw new UsageError('ipvm run needs exactly one WORKFLOW file')
    const file = positionals[0] as string
    let workers: number | undefined
    if (values.workers !== undefined) {
      workers = Number(values.workers)
      if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new UsageError('--workers must be an integer from 1 to 64')
    }
    const bytes = await readWorkflowFile(file)
    const proofs = await Promise.all(((values.proof ?? []) as string[]).map(readProof))
    const home = repoPath(values.repo as string | undefined, env)
    const identity = await loadOrCreateIdentity(home)
    const repo = openLmdbRepo({ path: home })
    const revocations = openRevocationStore({ path: revocationsPath(home) })
    const executor = new LocalExecutor(repo.blocks, {
      ...(workers === undefined ? {} : { threads: workers }),
      identity: identity.signer,
      requireInvocation: true,
      revocations
    })
    const progress = values.json === true ? undefined : new ProgressLine(context.stderr)
    let report: WorkflowReport
    try {
      report = await runWorkflowFile(bytes, file, {
        repo,
        executor,
        signal,
        memo: values.force !== true,
        signer: identity.signer,
        proofs,
        concurrency: workers ?? executor.threads,
        onEvent: progress === undefined ? undefined : progressRenderer(progress)
      })
    } finally {
      progress?.clear()
      await executor.stop()
      await revocations.close()
      await repo.close()
    }
    if (values.json === true) context.stdout.write(toDagJson(jsonReport(report)) + '\n')
    else printReport(report, context)
    if (signal.aborted) return 130
    return report.ok ? 0 : 1
  }
}

async function readWorkflowFile (file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new InputError(`cannot read workflow ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message}`)
  }
}

function progressRenderer (progress: ProgressLine): (event: WorkflowEvent) => void {
  let total = 0
  let done = 0
  let failed = 0
  let cached = 0
  let running = 0
  return event => {
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

function printReport (report: WorkflowReport, { stdout }: CommandContext): void {
  const s = styles(stdout)
  const rows = report.tasks.map(task => [
    String(task.index),
    task.func,
    task.instructionCid.toString(),
    task.status === 'ok' ? s.green('ok') : task.status === 'error' ? s.red(task.out !== undefined && 'error' in task.out ? task.out.error.name : 'error') : s.yellow('not run'),
    task.status === 'ok' ? summary(task) : '',
    task.fuel !== null ? task.fuel.toLocaleString('en-US') : '—',
    formatDuration(task.durationMs),
    task.cached ? s.cyan('cached') : ''
  ])
  stdout.write(table(['#', 'task', 'InID', 'status', 'result', 'fuel', 'time', 'cached'], rows, new Set([0, 5, 6])))
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
  stdout.write(`\n${parts.join(', ')} in ${formatDuration(report.durationMs)}\n`)
}

function jsonReport (report: WorkflowReport): Record<string, unknown> {
  return {
    source: report.source,
    ok: report.ok,
    executed: report.executed,
    cached: report.cached,
    failed: report.failed,
    durationMs: report.durationMs,
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
      return entry
    })
  }
}
