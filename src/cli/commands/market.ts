/**
 * The market commands: `ipvm deposit`, `ipvm balance`, `ipvm executors` and
 * `ipvm status`. Each asks a scheduler over `/ipvm/market/1.0.0` (its ledger,
 * its view of the executors, a workflow's state) from a node that listens on
 * nothing.
 */
import { CID } from 'multiformats/cid'
import { readFile } from 'node:fs/promises'
import { loadOrCreateIdentity } from '../../auth/identity.js'
import { createIpvmNode } from '../../net/node.js'
import { isDidKey, marketRequest, signDeposit } from '../../net/protocols/market.js'
import { cidOf, codecs } from '../../model/block.js'
import { IpvmError, InputError, UsageError } from '../../errors.js'
import { repoPath } from '../config.js'
import { commonOptions, commonHelp } from '../command.js'
import { loopbackConfigured, parseAddresses, integerFlag } from '../network.js'
import { styles, table } from '../output.js'
import { DEVNET_FAUCET_CREDITS } from '../../constants.js'
import type { Command, CommandContext } from '../command.js'
import type { MarketRequest } from '../../net/protocols/market.js'
import type { DID } from '../../auth/types.js'
import type { LoadedIdentity } from '../../auth/identity.js'
import type { VerifierRecord } from '../../../scheduler/verification.js'
import type { ExecutorRecord } from '../../../scheduler/reputation.js'

/** The scheduler could not be reached. */
export class SchedulerUnreachableError extends IpvmError {
  override name = 'SchedulerUnreachable'
}

const schedulerHelp = `  --scheduler ADDR  the scheduler's multiaddr, with /p2p/<peerId> (default
                    $IPVM_SCHEDULER); \`ipvm node\` and \`ipvm devnet\` print it`

/** Sends one market request to the scheduler named by `--scheduler` (or $IPVM_SCHEDULER). */
async function ask (context: CommandContext, request: (identity: LoadedIdentity) => Promise<MarketRequest>): Promise<unknown> {
  const { values, env } = context
  const [scheduler] = parseAddresses(values.scheduler ?? env.IPVM_SCHEDULER, 'scheduler', true)
  if (scheduler === undefined) throw new UsageError('give the scheduler with --scheduler ADDR (or $IPVM_SCHEDULER)')
  const identity = await loadOrCreateIdentity(repoPath(values.repo as string | undefined, env))
  const message = await request(identity)
  // It dials out only: nothing listens.
  const node = await createIpvmNode({ privateKey: identity.privateKey, listen: [], allowLoopback: loopbackConfigured([scheduler]) })
  try {
    await node.start()
    try {
      return await marketRequest(node.libp2p, scheduler, message, { signal: context.signal })
    } catch (err) {
      if (err instanceof IpvmError) throw err
      throw new SchedulerUnreachableError(`cannot reach the scheduler at ${scheduler.toString()}: ${(err as Error).message}`)
    }
  } finally {
    await node.stop()
  }
}

function parseDid (text: string, what: string): DID {
  if (!isDidKey(text)) throw new UsageError(`${what} ${text} is not a did:key`)
  return text
}

interface AccountView { did: string, available: number, staked: number, escrowed: number }

function readAccount (answer: unknown): AccountView {
  const account = (answer as { account?: Partial<AccountView> } | null)?.account
  if (account === undefined || typeof account.did !== 'string' || typeof account.available !== 'number') throw new IpvmError('the scheduler\'s answer is not an account')
  return { did: account.did, available: account.available, staked: account.staked ?? 0, escrowed: account.escrowed ?? 0 }
}

function printAccount (account: AccountView, context: CommandContext): void {
  if (context.values.json === true) {
    context.stdout.write(JSON.stringify(account, null, 2) + '\n')
    return
  }
  const n = (value: number): string => value.toLocaleString('en-US')
  context.stdout.write(`account    ${account.did}\navailable  ${n(account.available)} credits\nstaked     ${n(account.staked)}\nin escrow  ${n(account.escrowed)}\n`)
}

export const deposit: Command = {
  name: 'deposit',
  summary: 'get credits (or stake) from a devnet scheduler\'s faucet',
  help: `Usage: ipvm deposit AMOUNT --scheduler ADDR [--to DID] [--stake]

Asks a scheduler to credit AMOUNT to an account in its ledger: this node's
(\`ipvm id\`) unless --to names another. Credits enter a ledger only this way;
the scheduler answers only when it runs a faucet (\`ipvm devnet\`, or
\`ipvm node --role scheduler --faucet N\` on a test network), else the request
is refused with DepositRefused. The request is signed by this node.

Requesters need credits: each task's fuel limit at the awarded price is held
in escrow when it is awarded, and what it did not burn is refunded. Executors
need a stake (--stake) of at least the scheduler's minimum to be awarded
tasks; a proven fraud is paid from it.

Options:
  AMOUNT            whole credits (a positive integer)
  --to DID          the account to credit (default: this node's DID)
  --stake           credit the account's stake instead of its balance
${schedulerHelp}
${commonHelp}

Examples:
  ipvm deposit 1000000 --scheduler /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…
  ipvm deposit 10000 --stake --to did:key:z6Mk… --scheduler …`,
  options: { ...commonOptions, scheduler: { type: 'string' }, to: { type: 'string' }, stake: { type: 'boolean' } },
  async run (context) {
    const { values, positionals } = context
    if (positionals.length !== 1) throw new UsageError('ipvm deposit needs exactly one AMOUNT')
    const amount = integerFlag(positionals[0], 'AMOUNT', 1, DEVNET_FAUCET_CREDITS * 1000, 0)
    const to = values.to === undefined ? undefined : parseDid(values.to as string, '--to')
    const answer = await ask(context, async identity => ({
      deposit: (await signDeposit({ from: identity.did, to: to ?? identity.did, amount, stake: values.stake === true, issued: Date.now() }, identity.signer)).bytes
    }))
    printAccount(readAccount(answer), context)
    return 0
  }
}

export const balance: Command = {
  name: 'balance',
  summary: 'show an account in a scheduler\'s ledger',
  help: `Usage: ipvm balance [DID] --scheduler ADDR

Shows an account of the scheduler's ledger: credits available, staked, and
held in escrow for tasks awarded and not yet settled. DID defaults to this
node's (\`ipvm id\`).

Options:
${schedulerHelp}
${commonHelp}

Example:
  ipvm balance --scheduler /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…`,
  options: { ...commonOptions, scheduler: { type: 'string' } },
  async run (context) {
    const { positionals } = context
    if (positionals.length > 1) throw new UsageError('ipvm balance takes at most one DID')
    const given = positionals[0] === undefined ? undefined : parseDid(positionals[0], 'DID')
    const answer = await ask(context, async identity => ({ balance: { did: given ?? identity.did } }))
    printAccount(readAccount(answer), context)
    return 0
  }
}

/** What the scheduler's `executors` answer holds per executor. */
type ExecutorView = ExecutorRecord & { reputation: number, staked: number }

export const executors: Command = {
  name: 'executors',
  summary: 'list the executors a scheduler knows, with reputation and stake',
  help: `Usage: ipvm executors --scheduler ADDR

Lists the executors that have bid on the scheduler's tasks: their reputation
(how their awards ended: completed, failed, timed out, fraudulent), the bids
and awards counted, the last price bid (credits per million fuel) and their
stake in the scheduler's ledger. Best reputation first.

Reputation = (completed + 1) / (completed + failed + 2·timed out +
10·fraudulent + 2): 0.5 for a newcomer. It weighs 20% of an award's score.

Options:
${schedulerHelp}
${commonHelp}`,
  options: { ...commonOptions, scheduler: { type: 'string' } },
  async run (context) {
    if (context.positionals.length > 0) throw new UsageError('ipvm executors takes no arguments')
    const answer = await ask(context, async () => ({ executors: {} }))
    const list = (answer as { executors?: ExecutorView[] } | null)?.executors
    if (!Array.isArray(list)) throw new IpvmError('the scheduler\'s answer is not a list of executors')
    if (context.values.json === true) {
      context.stdout.write(JSON.stringify(list, null, 2) + '\n')
      return 0
    }
    if (list.length === 0) {
      context.stdout.write('no executor has bid on this scheduler\'s tasks yet\n')
      return 0
    }
    const rows = list.map(e => [e.did, e.reputation.toFixed(2), String(e.completed), String(e.failed), String(e.timedOut), String(e.fraudulent), String(e.bids), String(e.awards), e.lastPrice === undefined ? '—' : String(e.lastPrice), e.staked.toLocaleString('en-US')])
    context.stdout.write(table(['executor', 'reputation', 'completed', 'failed', 'timed out', 'fraud', 'bids', 'awards', 'price', 'stake'], rows, new Set([1, 2, 3, 4, 5, 6, 7, 8, 9])))
    return 0
  }
}

/** What the scheduler's `verifiers` answer holds per verifier. */
type VerifierView = VerifierRecord & { reputation: number, staked: number }

export const verifiers: Command = {
  name: 'verifiers',
  summary: 'list the verifiers a scheduler has heard from, with reputation and stake',
  help: `Usage: ipvm verifiers --scheduler ADDR

Lists the verifiers that sent the scheduler attestations or fraud proofs:
receipts attested, frauds proven, false accusations (fraud proofs the
scheduler's own re-run refuted), false attestations (outcomes attested that a
proven fraud showed wrong), their reputation and their stake. Best
reputation first.

Reputation = (attested + proven + 1) / (attested + proven + 10·(false
accusations + false attestations) + 2): 0.5 for a newcomer.

Options:
${schedulerHelp}
${commonHelp}`,
  options: { ...commonOptions, scheduler: { type: 'string' } },
  async run (context) {
    if (context.positionals.length > 0) throw new UsageError('ipvm verifiers takes no arguments')
    const answer = await ask(context, async () => ({ verifiers: {} }))
    const list = (answer as { verifiers?: VerifierView[] } | null)?.verifiers
    if (!Array.isArray(list)) throw new IpvmError('the scheduler\'s answer is not a list of verifiers')
    if (context.values.json === true) {
      context.stdout.write(JSON.stringify(list, null, 2) + '\n')
      return 0
    }
    if (list.length === 0) {
      context.stdout.write('no verifier has attested or challenged this scheduler\'s receipts yet\n')
      return 0
    }
    const rows = list.map(v => [v.did, v.reputation.toFixed(2), String(v.attested), String(v.proven), String(v.falseAccusations), String(v.falseAttestations), v.staked.toLocaleString('en-US')])
    context.stdout.write(table(['verifier', 'reputation', 'attested', 'frauds proven', 'false accusations', 'false attestations', 'stake'], rows, new Set([1, 2, 3, 4, 5, 6])))
    return 0
  }
}

interface TaskStateView {
  state: string
  reason?: string
  executor?: string
  receipt?: string
  error?: { name: string, message: string }
  market?: { executor: string, price: number, cost: number }
  /** Where the executor's receipt stands: unchecked, attested, final, fraudulent. */
  verification?: string
}

export const status: Command = {
  name: 'status',
  summary: 'show a workflow\'s tasks at a scheduler: state, why waiting, price, cost',
  help: `Usage: ipvm status WORKFLOW --scheduler ADDR

Shows what a scheduler knows of a workflow: each task's state (pending,
waiting, running, done, failed), why a waiting task has no executor yet (e.g.
"no executor bid under price 10", "no executor has capacity"), who runs or
ran it, the price and cost of tasks awarded in the market, and where each
executor receipt stands in verification: unchecked, attested (by a verifier
you did not name), final (a trusted attestation, or the challenge window
passed) or fraudulent (a proven fraud: the task runs again). WORKFLOW is the
workflow file (its id is the file's CID) or that id.

Options:
${schedulerHelp}
${commonHelp}

Example:
  ipvm status examples/workflows/text.json --scheduler …`,
  options: { ...commonOptions, scheduler: { type: 'string' } },
  async run (context) {
    const { positionals, values } = context
    if (positionals.length !== 1) throw new UsageError('ipvm status needs one WORKFLOW (a file, or its id)')
    const given = positionals[0] as string
    let id: string
    try {
      id = CID.parse(given).toString()
    } catch {
      let bytes: Uint8Array
      try {
        bytes = await readFile(given)
      } catch (err) {
        throw new InputError(`${given} is neither a workflow id nor a readable file: ${(err as Error).message}`)
      }
      id = cidOf(bytes, codecs.raw).toString()
    }
    const answer = await ask(context, async () => ({ status: { workflow: id } }))
    const view = (answer as { status?: { id: string, ok: boolean, running: boolean, committed: number, tasks: TaskStateView[] } } | null)?.status
    if (view === undefined || !Array.isArray(view.tasks)) throw new IpvmError('the scheduler\'s answer is not a workflow status')
    if (values.json === true) {
      context.stdout.write(JSON.stringify(view, null, 2) + '\n')
      return 0
    }
    const s = styles(context.stdout)
    const rows = view.tasks.map((task, index) => {
      const detail = task.state === 'waiting'
        ? task.reason ?? ''
        : task.state === 'running'
          ? `on ${task.executor ?? '?'}`
          : task.state === 'failed'
            ? `${task.error?.name ?? 'error'}: ${task.error?.message ?? ''}`.slice(0, 80)
            : task.market !== undefined ? `by ${task.market.executor}` : ''
      const state = task.state === 'done' ? s.green('done') : task.state === 'failed' ? s.red('failed') : task.state === 'waiting' ? s.yellow('waiting') : task.state
      const verified = task.verification === 'fraudulent' ? s.red('fraudulent') : task.verification === 'final' ? s.green('final') : task.verification ?? ''
      return [String(index), state, detail, task.market === undefined ? '' : String(task.market.price), task.market === undefined ? '' : String(task.market.cost), verified]
    })
    context.stdout.write(table(['#', 'state', 'detail', 'price', 'cost', 'verification'], rows, new Set([0, 3, 4])))
    const spent = view.tasks.reduce((sum, task) => sum + (task.market?.cost ?? 0), 0)
    context.stdout.write(`\nworkflow ${view.id}: ${view.running ? 'running' : view.ok ? 'finished, every task ok' : 'stopped'}; cost ${spent.toLocaleString('en-US')} credits, ${view.committed.toLocaleString('en-US')} committed\n`)
    return 0
  }
}
