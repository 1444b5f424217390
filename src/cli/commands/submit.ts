/**
 * `ipvm submit WORKFLOW`: hands a workflow to a scheduler of a network and
 * follows it to the end.
 */
import { openLmdbRepo } from '../../store/lmdb-repo.js'
import { recordedWorkflowReport, recordWorkflowReport } from '../../workflow/run-file.js'
import { toDagJson } from '../../model/dag-json.js'
import { loadOrCreateIdentity } from '../../auth/identity.js'
import { createIpvmNode } from '../../net/node.js'
import { Requester } from '../../requester.js'
import { readProof } from '../proof-file.js'
import { UsageError } from '../../errors.js'
import { repoPath } from '../config.js'
import { commonOptions, commonHelp } from '../command.js'
import { ProgressLine } from '../output.js'
import { integerFlag, loopbackConfigured, parseAddresses } from '../network.js'
import { jsonReport, printReport, progressRenderer } from '../report.js'
import { readWorkflowFile } from '../workflow-file.js'
import type { Command } from '../command.js'
import type { WorkflowReport } from '../../workflow/run.js'

export const submit: Command = {
  name: 'submit',
  summary: 'send a workflow to a network\'s scheduler and follow it to the end',
  help: `Usage: ipvm submit [options] WORKFLOW

Sends a workflow file to a scheduler (\`ipvm node --role scheduler\` or
\`ipvm devnet\`) and shows each task as it runs on the network's executors.
Every receipt that comes back is verified here (the executor's signature,
its UCAN chain, and that it answers the task's own instruction) and stored
in the repository, like \`ipvm run\`'s.

The scheduler gets a budget: a wasm/run delegation from this node's identity
(\`ipvm id\`) to the scheduler, limited to the workflow's modules and largest
fuel limit, to --max-price and --budget, valid for --ttl seconds. Tasks are
paid from this node's account at the scheduler (\`ipvm balance\`; on a devnet,
\`ipvm deposit\` fills it): each task's fuel limit at the awarded price is held
in escrow, and what it did not burn is refunded. Modules and input files are served from
this repository (\`ipvm add FILE\`) while the workflow runs: this command
listens on --listen for the executors to fetch them.

If the scheduler goes away (a crash, a restart), this command submits the file
again until --reconnect seconds have passed: the scheduler follows the same
run (its id is the file's CID) and no finished task runs twice. Submitting a
file that failed before runs its failed tasks again.

Options:
  --scheduler ADDR  the scheduler's multiaddr, with /p2p/<peerId>; without it,
                    a scheduler is found in the DHT through --bootstrap
  --bootstrap ADDR  a peer to join the DHT through (repeat for several)
  --listen ADDR     where executors fetch this node's blocks (default: an
                    ephemeral port, on 127.0.0.1 when the scheduler's
                    address is loopback, else on every interface)
  --proof FILE      submit on another's behalf: a delegation to this node (a
                    CAR file or base64 from \`ipvm delegate\`); repeat
  --ttl SECONDS     lifetime of the budget given to the scheduler (default
                    86400)
  --max-price P     highest price the budget allows, in credits per million
                    fuel (default: the file's market.maxPrice, else 10)
  --budget N        most credits the whole workflow may commit (default: the
                    file's market.budget, else only this node's balance at
                    the scheduler limits it)
  --reconnect SECONDS  how long the scheduler may be unreachable (default 60)
  --force           submit even when this workflow succeeded before (by
                    default its recorded receipts are shown)
${commonHelp}

Exit status: 0 when every task succeeded, 1 when any failed or the scheduler
refused the workflow or could not be reached, 2 when the workflow file is
invalid or the command is misused, 130 when interrupted (the workflow goes on
at the scheduler; submit it again to follow it).

Example:
  ipvm devnet &                      # prints the scheduler's address
  ipvm submit --scheduler /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW… \\
              examples/workflows/arith.json`,
  options: {
    ...commonOptions,
    scheduler: { type: 'string' },
    bootstrap: { type: 'string', multiple: true },
    listen: { type: 'string', multiple: true },
    proof: { type: 'string', multiple: true },
    ttl: { type: 'string' },
    'max-price': { type: 'string' },
    budget: { type: 'string' },
    reconnect: { type: 'string' },
    force: { type: 'boolean' }
  },
  async run (context) {
    const { values, positionals, env, signal } = context
    if (positionals.length !== 1) throw new UsageError('ipvm submit needs exactly one WORKFLOW file')
    const file = positionals[0] as string
    const scheduler = parseAddresses(values.scheduler ?? env.IPVM_SCHEDULER, 'scheduler', true)
    const bootstrap = parseAddresses(values.bootstrap, 'bootstrap', true)
    if (scheduler.length === 0 && bootstrap.length === 0) throw new UsageError('give the scheduler with --scheduler ADDR (or $IPVM_SCHEDULER), or a network to find it in with --bootstrap ADDR')
    const ttl = integerFlag(values.ttl, 'ttl', 60, 30 * 86_400, 86_400)
    const reconnect = integerFlag(values.reconnect, 'reconnect', 0, 86_400, 60)
    const maxPrice = values['max-price'] === undefined ? undefined : integerFlag(values['max-price'], 'max-price', 0, 1_000_000_000, 0)
    const budget = values.budget === undefined ? undefined : integerFlag(values.budget, 'budget', 0, Number.MAX_SAFE_INTEGER, 0)
    const given = parseAddresses(values.listen, 'listen')
    const loopback = loopbackConfigured(scheduler, bootstrap, given)
    const listen = given.length > 0 ? given.map(String) : [loopback ? '/ip4/127.0.0.1/tcp/0' : '/ip4/0.0.0.0/tcp/0']

    const bytes = await readWorkflowFile(file)
    const proofs = await Promise.all(((values.proof ?? []) as string[]).map(readProof))
    const home = repoPath(values.repo as string | undefined, env)
    const identity = await loadOrCreateIdentity(home)
    const repo = openLmdbRepo({ path: home })
    const progress = values.json === true ? undefined : new ProgressLine(context.stderr)
    let report: WorkflowReport
    try {
      const recorded = values.force === true ? undefined : await recordedWorkflowReport(repo, bytes, file)
      if (recorded !== undefined) report = recorded
      else {
        const node = await createIpvmNode({ privateKey: identity.privateKey, listen, bootstrap: [...bootstrap, ...scheduler].map(String), allowLoopback: loopback })
        const requester = new Requester({ node, repo, signer: identity.signer })
        try {
          await node.start()
          await requester.start()
          const render = progress === undefined ? undefined : progressRenderer(progress)
          report = await requester.submit(bytes, file, {
            ...(scheduler[0] !== undefined ? { scheduler: scheduler[0] } : {}),
            proofs,
            budgetTtlSeconds: ttl,
            reconnectMs: reconnect * 1000,
            ...(maxPrice !== undefined ? { maxPrice } : {}),
            ...(budget !== undefined ? { budget } : {}),
            signal,
            ...(render !== undefined ? { onEvent: render } : {})
          })
          await recordWorkflowReport(repo, bytes, report)
        } finally {
          await requester.stop()
          await node.stop()
        }
      }
    } finally {
      progress?.clear()
      await repo.close()
    }
    if (values.json === true) context.stdout.write(toDagJson(jsonReport(report)) + '\n')
    else printReport(report, context)
    if (signal.aborted) return 130
    return report.ok ? 0 : 1
  }
}
