/**
 * `ipvm devnet`: an embedded network on loopback for `ipvm submit`.
 */
import { startDevnet } from '../../devnet.js'
import { UsageError } from '../../errors.js'
import { commonOptions, commonHelp } from '../command.js'
import { enableNodeLogs, integerFlag, parseAddresses, rateFlag, untilAborted } from '../network.js'
import { isLoopback } from '../../net/node.js'
import type { Command } from '../command.js'
import type { SchedulerEvent } from '../../../scheduler/scheduler.js'

export const devnet: Command = {
  name: 'devnet',
  summary: 'start a network on 127.0.0.1 (a scheduler, executors, a verifier) for `ipvm submit`',
  help: `Usage: ipvm devnet [options]

Starts a network on this machine: one scheduler, --executors executor nodes
and --verifiers verifier nodes, each a libp2p node of its own on 127.0.0.1 inside this
process, with fresh identities. It prints the scheduler's address (the
network's bootstrap address) and serves until Ctrl-C. Point \`ipvm submit
--scheduler ADDR\` at it, or join more nodes with
\`ipvm node --role executor --listen /ip4/127.0.0.1/tcp/0 --bootstrap ADDR\`.

Tasks are paid for: the scheduler's faucet gives credits to whoever asks
(\`ipvm deposit 1000000 --scheduler ADDR\`), each executor starts with a stake,
executors bid 1 credit per million fuel, and escrows settle as soon as a
receipt is verified (no challenge window unless --challenge-window). The
verifiers re-run a --sample-rate share of receipts; the scheduler trusts
their attestations.

Nothing is kept: the scheduler's state lives in a temporary directory that is
removed on exit. \`ipvm run\` starts the same network for one workflow.

Options:
  --executors N   executor nodes (default 3)
  --workers N     worker threads per executor (default 1)
  --verifiers N   verifier nodes (default 1; 0 for none)
  --sample-rate P share of receipts each verifier re-runs (default 0.05)
  --challenge-window SECONDS  how long a receipt can be challenged before
                  its escrow settles (default 0)
  --listen ADDR   the scheduler's address, on 127.0.0.0/8
                  (default /ip4/127.0.0.1/tcp/0: a free port)
${commonHelp.split('\n').filter(line => !line.includes('--repo')).join('\n')}

Example:
  ipvm devnet --executors 4 --listen /ip4/127.0.0.1/tcp/4001`,
  options: { json: commonOptions.json, help: commonOptions.help, executors: { type: 'string' }, workers: { type: 'string' }, listen: { type: 'string' }, verifiers: { type: 'string' }, 'sample-rate': { type: 'string' }, 'challenge-window': { type: 'string' } },
  async run ({ values, positionals, env, signal, stdout }) {
    if (positionals.length > 0) throw new UsageError('ipvm devnet takes no arguments')
    const executors = integerFlag(values.executors, 'executors', 1, 16, 3)
    const threads = integerFlag(values.workers, 'workers', 1, 16, 1)
    const verifiers = integerFlag(values.verifiers, 'verifiers', 0, 16, 1)
    const sampleRate = values['sample-rate'] === undefined ? undefined : rateFlag(values['sample-rate'] as string, 'sample-rate')
    const challengeWindowMs = 1000 * integerFlag(values['challenge-window'], 'challenge-window', 0, 86_400, 0)
    const [listen] = parseAddresses(values.listen, 'listen')
    if (listen !== undefined && !isLoopback(listen)) throw new UsageError('--listen must be a loopback address (127.0.0.0/8): a devnet is for one machine')
    const json = values.json === true
    enableNodeLogs(env)
    const say = (line: string, value: Record<string, unknown>): void => { stdout.write(json ? JSON.stringify(value) + '\n' : line + '\n') }
    const net = await startDevnet({
      executors,
      threads,
      verifiers,
      ...(sampleRate !== undefined ? { sampleRate } : {}),
      market: { challengeWindowMs },
      ...(listen !== undefined ? { listen: listen.toString() } : {}),
      onEvent: (event: SchedulerEvent) => {
        if (event.type === 'task:waiting') say(`task ${event.index} of …${event.workflow.slice(-8)} waiting: ${event.reason}`, { event: event.type, ...event })
        else if (event.type === 'task:running') say(`task ${event.index} of …${event.workflow.slice(-8)} running on …${event.executor.slice(-6)}`, { event: event.type, ...event })
        else if (event.type === 'workflow:finished') say(`workflow …${event.workflow.slice(-8)} finished`, { event: event.type, ...event })
      }
    })
    try {
      const address = net.address.toString()
      say(`devnet ready: 1 scheduler, ${executors} executor${executors === 1 ? '' : 's'}, ${verifiers} verifier${verifiers === 1 ? '' : 's'} on 127.0.0.1
  scheduler ${address}

  ipvm deposit 1000000 --scheduler ${address}
  ipvm submit --scheduler ${address} WORKFLOW

Ctrl-C to stop.`, { event: 'ready', scheduler: address, executors: net.executors.map(e => e.node.getMultiaddrs()[0]?.toString()), verifiers: net.verifiers.map(v => v.node.getMultiaddrs()[0]?.toString()) })
      await untilAborted(signal)
      say('stopping', { event: 'stopping' })
    } finally {
      await net.stop()
    }
    return 0
  }
}
