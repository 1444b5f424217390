/**
 * `ipvm node --role ROLE`: runs a long-lived node of one role until Ctrl-C.
 */
import { openLmdbRepo } from '../../store/lmdb-repo.js'
import { loadOrCreateIdentity } from '../../auth/identity.js'
import { openRevocationStore, revocationsPath } from '../../auth/revocations.js'
import { createIpvmNode } from '../../net/node.js'
import { ROLES } from '../../net/discovery.js'
import { startExecutorRole } from '../../executor/role.js'
import { startSchedulerRole } from '../../../scheduler/role.js'
import { startVerifierRole } from '../../../verifier/role.js'
import { UsageError } from '../../errors.js'
import { repoPath } from '../config.js'
import { commonOptions, commonHelp } from '../command.js'
import { enableNodeLogs, integerFlag, loopbackConfigured, parseAddresses, untilAborted } from '../network.js'
import type { Command } from '../command.js'
import type { Role } from '../../net/discovery.js'
import type { SchedulerEvent } from '../../../scheduler/scheduler.js'

export const node: Command = {
  name: 'node',
  summary: 'run a scheduler, executor or verifier node until Ctrl-C',
  help: `Usage: ipvm node --role ROLE --listen ADDR [--bootstrap ADDR]… [options]

Runs a node of the ipvm network with the identity of the repository
(\`ipvm id\`: its PeerId and its did:key are one ed25519 key). It joins the
private ipvm DHT through the bootstrap peers, announces its role there, and
serves until interrupted (Ctrl-C or SIGTERM), then stops cleanly.

Roles:
  scheduler  takes workflows from \`ipvm submit\` (each with the requester's
             budget delegation), keeps them in REPO/scheduler.lmdb, and sends
             their tasks to executors found in the DHT. After a crash or
             restart it resumes every unfinished workflow without re-running
             a finished task.
  executor   runs tasks sent by schedulers in its worker pool after checking
             their UCAN chain, fetches modules and inputs from the network,
             and signs the receipts.
  verifier   joins and announces itself; re-running sampled receipts comes
             with optimistic verification (see the README's roadmap).

Options:
  --role ROLE        scheduler, executor or verifier (required)
  --listen ADDR      multiaddr to listen on, e.g. /ip4/0.0.0.0/tcp/4001
                     (required; repeat for several). Nothing else listens.
  --bootstrap ADDR   a peer to join through, with /p2p/<peerId> (repeat for
                     several). The first node of a network has none.
  --workers N        executor: worker threads (default: CPUs, at most 4)
  --max-tasks N      executor: most tasks accepted at once (default 32)
  --open             scheduler: accept workflows that bring no budget
                     delegation (their tasks spend this node's own authority)
${commonHelp}

Loopback addresses (127.0.0.0/8) are accepted only when --listen or
--bootstrap names one: for networks on one machine. The node logs what it
refuses (malformed or oversized messages, bad records, silent peers) on
stderr; DEBUG=ipvm:* (or libp2p:*) chooses other log lines.

Example:
  ipvm node --role scheduler --listen /ip4/0.0.0.0/tcp/4001
  ipvm node --role executor --listen /ip4/0.0.0.0/tcp/4002 \\
            --bootstrap /ip4/10.0.0.1/tcp/4001/p2p/12D3KooW…`,
  options: {
    ...commonOptions,
    role: { type: 'string' },
    listen: { type: 'string', multiple: true },
    bootstrap: { type: 'string', multiple: true },
    workers: { type: 'string' },
    'max-tasks': { type: 'string' },
    open: { type: 'boolean' }
  },
  async run (context) {
    const { values, positionals, env, signal, stdout } = context
    if (positionals.length > 0) throw new UsageError('ipvm node takes no arguments')
    const role = values.role as Role | undefined
    if (role === undefined || !ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`)
    const listen = parseAddresses(values.listen, 'listen')
    if (listen.length === 0) throw new UsageError('--listen ADDR is required, e.g. --listen /ip4/0.0.0.0/tcp/4001')
    const bootstrap = parseAddresses(values.bootstrap, 'bootstrap', true)
    const workers = values.workers === undefined ? undefined : integerFlag(values.workers, 'workers', 1, 64, 1)
    const maxTasks = integerFlag(values['max-tasks'], 'max-tasks', 1, 4096, 32)
    if (role !== 'executor' && (values.workers !== undefined || values['max-tasks'] !== undefined)) throw new UsageError('--workers and --max-tasks are for executors')
    if (role !== 'scheduler' && values.open === true) throw new UsageError('--open is for schedulers')
    const json = values.json === true
    enableNodeLogs(env)

    const home = repoPath(values.repo as string | undefined, env)
    const identity = await loadOrCreateIdentity(home)
    const repo = openLmdbRepo({ path: home })
    const revocations = openRevocationStore({ path: revocationsPath(home) })
    const closers: Array<() => Promise<void>> = [async () => { await revocations.close() }, async () => { await repo.close() }]
    const say = (line: string, value: Record<string, unknown>): void => {
      stdout.write(json ? JSON.stringify(value) + '\n' : line + '\n')
    }
    try {
      const ipvmNode = await createIpvmNode({
        privateKey: identity.privateKey,
        listen: listen.map(String),
        bootstrap: bootstrap.map(String),
        allowLoopback: loopbackConfigured(listen, bootstrap)
      })
      closers.unshift(async () => { await ipvmNode.stop() })
      await ipvmNode.start()
      if (bootstrap.length > 0 && ipvmNode.connectedBootstrapPeers === 0) {
        context.stderr.write(`ipvm node: none of the ${bootstrap.length} bootstrap peer(s) answered; waiting for peers to dial in\n`)
      }
      let stopRole: () => Promise<void>
      if (role === 'executor') {
        const started = await startExecutorRole({ node: ipvmNode, repo, signer: identity.signer, revocations, maxConcurrent: maxTasks, ...(workers !== undefined ? { threads: workers } : {}) })
        stopRole = started.stop
      } else if (role === 'scheduler') {
        const started = await startSchedulerRole({
          node: ipvmNode,
          repo,
          signer: identity.signer,
          dir: home,
          revocations,
          requireProof: values.open !== true,
          onEvent: event => { const line = describeEvent(event); if (line !== undefined) say(line, { event: event.type, ...event }) }
        })
        stopRole = started.stop
        if (started.resumed.length > 0) say(`resumed ${started.resumed.length} unfinished workflow(s)`, { event: 'resumed', workflows: started.resumed })
      } else {
        const started = await startVerifierRole({ node: ipvmNode, repo })
        stopRole = started.stop
      }
      closers.unshift(stopRole)
      const addresses = ipvmNode.getMultiaddrs().map(String)
      say(`ipvm ${role} ${identity.peerId.toString()}\n  did:key   ${identity.did}\n${addresses.map(a => `  listening ${a}`).join('\n')}\n  ${ipvmNode.connectedBootstrapPeers} bootstrap peer(s) connected; Ctrl-C to stop`,
        { event: 'started', role, peerId: identity.peerId.toString(), did: identity.did, addresses, bootstrapped: ipvmNode.connectedBootstrapPeers })
      await untilAborted(signal)
      say('stopping', { event: 'stopping' })
    } finally {
      for (const close of closers) await close().catch(() => {})
    }
    return 0
  }
}

function describeEvent (event: SchedulerEvent): string | undefined {
  const id = event.workflow.slice(-8)
  switch (event.type) {
    case 'workflow:resumed': return `workflow …${id} resumed`
    case 'task:memoized': return `workflow …${id} task ${event.index}: answered from a recorded receipt`
    case 'task:running': return `workflow …${id} task ${event.index}: running on ${event.executor}`
    case 'task:finished': return `workflow …${id} task ${event.index}: ${event.state.state}${event.state.state === 'failed' ? ` (${event.state.error.name}: ${event.state.error.message})` : ''}`
    case 'workflow:finished': return `workflow …${id} finished`
  }
}
