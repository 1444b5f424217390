/**
 * `ipvm run WORKFLOW`: the main job. By default the workflow goes through an
 * embedded devnet (a scheduler, executors and a verifier on loopback, in this
 * process), the same code paths as a real network; `--local` runs it in this
 * process's worker pool instead.
 */
import { openLmdbRepo } from '../../store/lmdb-repo.js'
import { memoryRepo } from '../../store/memory-repo.js'
import { LocalExecutor } from '../../executor/local.js'
import { runWorkflowFile, recordedWorkflowReport, recordWorkflowReport } from '../../workflow/run-file.js'
import { toDagJson } from '../../model/dag-json.js'
import { loadOrCreateIdentity } from '../../auth/identity.js'
import { openRevocationStore, revocationsPath } from '../../auth/revocations.js'
import { createIpvmNode } from '../../net/node.js'
import { startDevnet } from '../../devnet.js'
import { Requester } from '../../requester.js'
import { readProof } from '../proof-file.js'
import { UsageError } from '../../errors.js'
import { repoPath } from '../config.js'
import { commonOptions, commonHelp } from '../command.js'
import { ProgressLine } from '../output.js'
import { integerFlag, rateFlag } from '../network.js'
import { progressRenderer, printReport, jsonReport } from '../report.js'
import { readWorkflowFile } from '../workflow-file.js'
import type { DID } from '../../auth/types.js'
import type { Command } from '../command.js'
import type { WorkflowReport } from '../../workflow/run.js'
import type { Delegation } from '../../auth/delegation.js'
import type { LoadedIdentity } from '../../auth/identity.js'
import type { Repo } from '../../store/interface.js'
import type { ProgressEvent } from '../report.js'

export const run: Command = {
  name: 'run',
  summary: 'run a workflow file on an embedded devnet (or --local) and print its receipts',
  help: `Usage: ipvm run [options] WORKFLOW

Runs a workflow file (Homestar's format: {"tasks": [{run, meta, prf}, …]}) on
an embedded devnet: one scheduler, --executors executor nodes and verifiers,
each a libp2p node on 127.0.0.1 inside this process, talking the same
protocols as separate machines. Tasks whose awaited results are ready run in
parallel on different executors; every task ends with a receipt signed by the
executor that ran it, verified here and stored under its instruction CID
(InID). A task that already has a successful receipt is not run again: it is
reported as cached (an unchanged workflow that succeeded before is answered
without starting the devnet).

Modules and input files must be in the store first: \`ipvm add FILE\`. The
executors fetch them from this node over the network.

This node gives the devnet's scheduler a budget: a wasm/run delegation from
its identity (\`ipvm id\`) limited to the workflow's modules and fuel. Each
executor checks the chain before it runs a task; a task the chain does not
allow gets an error receipt naming why (e.g. CaveatExceeded) and is not run.

Options:
  --executors N executor nodes in the devnet (default 3)
  --verifiers N verifier nodes in the devnet (default 1; 0 for none)
  --sample-rate P  share of receipts each verifier re-runs (default 0.05); the
                run waits for their checks and reports how they ended
  --workers N   worker threads per executor (default 1); with --local, worker
                threads (default: the number of CPUs, at most 4)
  --local       no network: run the tasks in this process's worker pool
  --force       run every task even when a receipt is recorded
  --proof FILE  run on another's behalf: a delegation to this node (a CAR file
                or base64 from \`ipvm delegate\`); repeat for several
${commonHelp}

Exit status: 0 when every task succeeded, 1 when any failed, 2 when the
workflow file is invalid or the command is misused, 130 when interrupted.

Example:
  ipvm add examples/build/arith.wasm
  ipvm run examples/workflows/arith.json`,
  options: { ...commonOptions, executors: { type: 'string' }, verifiers: { type: 'string' }, 'sample-rate': { type: 'string' }, workers: { type: 'string' }, local: { type: 'boolean' }, force: { type: 'boolean' }, proof: { type: 'string', multiple: true } },
  async run (context) {
    const { values, positionals, env, signal } = context
    if (positionals.length !== 1) throw new UsageError('ipvm run needs exactly one WORKFLOW file')
    const file = positionals[0] as string
    const workers = values.workers === undefined ? undefined : integerFlag(values.workers, 'workers', 1, 64, 1)
    const executors = integerFlag(values.executors, 'executors', 1, 16, 3)
    const verifiers = integerFlag(values.verifiers, 'verifiers', 0, 16, 1)
    const sampleRate = values['sample-rate'] === undefined ? undefined : rateFlag(values['sample-rate'] as string, 'sample-rate')
    const devnetFlag = ['executors', 'verifiers', 'sample-rate'].find(flag => values[flag] !== undefined)
    if (values.local === true && devnetFlag !== undefined) throw new UsageError(`--${devnetFlag} is for the devnet; --local runs without one`)
    const bytes = await readWorkflowFile(file)
    const proofs = await Promise.all(((values.proof ?? []) as string[]).map(readProof))
    const home = repoPath(values.repo as string | undefined, env)
    const identity = await loadOrCreateIdentity(home)
    const repo = openLmdbRepo({ path: home })
    const progress = values.json === true ? undefined : new ProgressLine(context.stderr)
    let report: WorkflowReport
    let verification: VerificationSummary | undefined
    try {
      const force = values.force === true
      const run = { home, bytes, file, repo, identity, proofs, force, signal, ...(workers !== undefined ? { workers } : {}), ...(progress !== undefined ? { progress } : {}) }
      report = values.local === true ? await runLocally(run) : await runOnDevnet({ ...run, executors, verifiers, ...(sampleRate !== undefined ? { sampleRate } : {}), onVerification: summary => { verification = summary } })
    } finally {
      progress?.clear()
      await repo.close()
    }
    if (values.json === true) context.stdout.write(toDagJson({ ...jsonReport(report), ...(verification !== undefined ? { verification } : {}) }) + '\n')
    else {
      printReport(report, context)
      if (verification !== undefined && verification.checked > 0) {
        context.stdout.write(`verification: ${verification.checked} receipt${verification.checked === 1 ? '' : 's'} re-run by ${verification.verifiers} verifier${verification.verifiers === 1 ? '' : 's'}: ${verification.attested} attested, ${verification.frauds} fraud${verification.frauds === 1 ? '' : 's'} proven${verification.uncheckable > 0 ? `, ${verification.uncheckable} not comparable` : ''}\n`)
      }
    }
    if (signal.aborted) return 130
    return report.ok ? 0 : 1
  }
}

interface RunInit {
  home: string
  bytes: Uint8Array
  file: string
  repo: Repo
  identity: LoadedIdentity
  proofs: Delegation[]
  force: boolean
  workers?: number
  signal: AbortSignal
  progress?: ProgressLine
  /** How the devnet verifiers' checks of the run ended. */
  onVerification?: (summary: VerificationSummary) => void
}

/** What the devnet's verifiers did with a run's receipts. */
interface VerificationSummary { verifiers: number, checked: number, attested: number, frauds: number, uncheckable: number }

/** The workflow in this process's worker pool. */
async function runLocally (init: RunInit): Promise<WorkflowReport> {
  const { repo, identity } = init
  const revocations = openRevocationStore({ path: revocationsPath(init.home) })
  const executor = new LocalExecutor(repo.blocks, {
    ...(init.workers === undefined ? {} : { threads: init.workers }),
    identity: identity.signer,
    requireInvocation: true,
    revocations
  })
  try {
    return await runWorkflowFile(init.bytes, init.file, {
      repo,
      executor,
      signal: init.signal,
      memo: !init.force,
      signer: identity.signer,
      proofs: init.proofs,
      concurrency: init.workers ?? executor.threads,
      ...(init.progress !== undefined ? { onEvent: progressRenderer(init.progress) } : {})
    })
  } finally {
    await executor.stop()
    await revocations.close()
  }
}

/** The workflow through an embedded devnet, submitted by this node as any requester would. */
async function runOnDevnet (init: RunInit & { executors: number, verifiers: number, sampleRate?: number }): Promise<WorkflowReport> {
  const { repo, identity, progress } = init
  if (!init.force) {
    const recorded = await recordedWorkflowReport(repo, init.bytes, init.file)
    if (recorded !== undefined) return recorded
  }
  progress?.update(`starting the devnet: a scheduler, ${init.executors} executor${init.executors === 1 ? '' : 's'} and ${init.verifiers} verifier${init.verifiers === 1 ? '' : 's'} on 127.0.0.1…`, true)
  const devnet = await startDevnet({
    executors: init.executors,
    verifiers: init.verifiers,
    ...(init.sampleRate !== undefined ? { sampleRate: init.sampleRate } : {}),
    threads: init.workers ?? 1,
    // The scheduler answers from this store's receipts (the memo), unless told to run everything.
    repo: init.force ? memoryRepo() : repo
  })
  try {
    const node = await createIpvmNode({ privateKey: identity.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [devnet.address.toString()], allowLoopback: true })
    await node.start()
    const requester = new Requester({ node, repo, signer: identity.signer })
    try {
      await requester.start()
      // The devnet's faucet pays: whoever the budget's resource is (this node, or the one its proof acts for).
      await devnet.fund(identity.did)
      for (const proof of init.proofs) {
        const payer = proof.capabilities[0]?.with
        if (typeof payer === 'string' && payer.startsWith('did:')) await devnet.fund(payer as DID)
      }
      const render = progress !== undefined ? progressRenderer(progress) : undefined
      const report = await requester.submit(init.bytes, init.file, {
        scheduler: devnet.scheduler.node.peerId,
        proofs: init.proofs,
        signal: init.signal,
        ...(render !== undefined ? { onEvent: (event: ProgressEvent) => { render(event) } } : {})
      })
      await recordWorkflowReport(repo, init.bytes, report)
      if (init.verifiers > 0) {
        // The verifiers' checks of this run's receipts (bounded: a run does not wait on a stuck check).
        progress?.update('waiting for the verifiers\' checks…', true)
        await Promise.race([devnet.verified(), new Promise(resolve => setTimeout(resolve, 30_000).unref())])
        const totals = devnet.verifiers.map(v => v.role.verifier.stats)
        const sum = (key: 'sampled' | 'attested' | 'frauds' | 'uncheckable'): number => totals.reduce((n, stats) => n + stats[key], 0)
        init.onVerification?.({ verifiers: totals.length, checked: sum('sampled'), attested: sum('attested'), frauds: sum('frauds'), uncheckable: sum('uncheckable') })
      }
      return report
    } finally {
      await requester.stop()
      await node.stop()
    }
  } finally {
    await devnet.stop()
  }
}
