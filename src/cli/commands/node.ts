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
import { CID } from 'multiformats/cid'
import { UsageError } from '../../errors.js'
import { repoPath } from '../config.js'
import { commonOptions, commonHelp } from '../command.js'
import { enableNodeLogs, integerFlag, loopbackConfigured, parseAddresses, rateFlag, untilAborted } from '../network.js'
import type { Command } from '../command.js'
import type { Role } from '../../net/discovery.js'
import type { VerificationEvent } from '../../../scheduler/verification.js'
import { isDidKey } from '../../net/protocols/market.js'
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
             budget delegation), keeps them in REPO/scheduler.lmdb, and
             awards their tasks in a market: it announces each task, collects
             executors' bids, awards the best by price, reputation, locality
             and load, and holds the task's fuel limit at that price in
             escrow (REPO/ledger.lmdb) until the receipt comes and the
             challenge window ends. After a crash or restart it resumes
             every unfinished workflow without re-running a finished task.
  executor   bids on announced tasks by its price policy, runs the tasks it
             is awarded in its worker pool after checking their UCAN chain
             (price and escrow included), fetches modules and inputs from
             the network, and signs the receipts. It needs a stake in the
             scheduler's ledger (\`ipvm deposit --stake\`) to be awarded.
  verifier   receives every receipt schedulers finish, checks a sample of
             them (probability --sample-rate, drawn with a secret kept in
             REPO/sampling.secret, so no executor can tell which) by
             re-running them, and answers with a signed attestation, or with
             a fraud proof (also written to REPO/proofs/) that the scheduler
             judges and pays a bounty for. It needs a stake to file proofs:
             a false accusation costs it.

Options:
  --role ROLE        scheduler, executor or verifier (required)
  --listen ADDR      multiaddr to listen on, e.g. /ip4/0.0.0.0/tcp/4001
                     (required; repeat for several). Nothing else listens.
  --bootstrap ADDR   a peer to join through, with /p2p/<peerId> (repeat for
                     several). The first node of a network has none.
  --workers N        executor, verifier: worker threads (default: CPUs, at
                     most 4; a verifier 1)
  --max-tasks N      executor: most tasks accepted at once (default 32); it
                     declines to bid beyond them
  --price P          executor: asking price, credits per million fuel
                     (default 1)
  --min-price P      executor: lowest price it takes (default: --price); it
                     bids down to a scheduler's maximum, never below this
  --refuse-module CID  executor: never bid on or run this module (repeat)
  --dishonest-cheat-rate R  executor, FOR TESTS ONLY: sign made-up results
                     for this share of tasks instead of running them (it
                     will be caught and slashed)
  --sample-rate P    verifier: share of receipts it checks (default 0.05);
                     scheduler: the check rate award collateral is reckoned
                     from, stake ≥ escrow × (1 − P) / P (default 0.05)
  --trust-verifier DID  scheduler: an attestation from this verifier makes a
                     result final at once (repeat; workflows add their own
                     in market.trustedVerifiers)
  --open             scheduler: accept workflows that bring no budget
                     delegation (their tasks spend this node's own authority)
  --max-price P      scheduler: highest price announced when a budget sets
                     none (default 10)
  --min-stake N      scheduler: least stake an executor needs (default 1000)
  --bid-window MS    scheduler: how long bids are collected (default 500; a
                     round ends earlier once every executor asked answered)
  --challenge-window SECONDS  scheduler: a receipt's escrow settles this long
                     after it arrives, unless challenged (default 600)
  --announce WHEN    scheduler: publish task announcements as DHT records for
                     tasks that wait for a bid (waiting, the default), for
                     every task (always), or never
  --faucet N         scheduler: answer \`ipvm deposit\` by creating up to N
                     credits per request (test networks only)
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
    price: { type: 'string' },
    'min-price': { type: 'string' },
    'refuse-module': { type: 'string', multiple: true },
    open: { type: 'boolean' },
    'max-price': { type: 'string' },
    'min-stake': { type: 'string' },
    'bid-window': { type: 'string' },
    'challenge-window': { type: 'string' },
    faucet: { type: 'string' },
    announce: { type: 'string' },
    'sample-rate': { type: 'string' },
    'trust-verifier': { type: 'string', multiple: true },
    'dishonest-cheat-rate': { type: 'string' }
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
    // Which roles take each role-specific flag.
    const accepts: Record<string, Role[]> = {
      ...Object.fromEntries(['max-tasks', 'price', 'min-price', 'refuse-module', 'dishonest-cheat-rate'].map(flag => [flag, ['executor']])),
      ...Object.fromEntries(['open', 'max-price', 'min-stake', 'bid-window', 'challenge-window', 'faucet', 'announce', 'trust-verifier'].map(flag => [flag, ['scheduler']])),
      workers: ['executor', 'verifier'],
      'sample-rate': ['scheduler', 'verifier']
    }
    const misplaced = Object.keys(accepts).find(flag => values[flag] !== undefined && !(accepts[flag] as Role[]).includes(role))
    if (misplaced !== undefined) throw new UsageError(`--${misplaced} is for ${(accepts[misplaced] as Role[]).map(r => `${r}s`).join(' and ')}`)
    const sampleRate = values['sample-rate'] === undefined ? undefined : rateFlag(values['sample-rate'] as string, 'sample-rate')
    const cheatRate = values['dishonest-cheat-rate'] === undefined ? undefined : rateFlag(values['dishonest-cheat-rate'] as string, 'dishonest-cheat-rate')
    const trusted = ((values['trust-verifier'] ?? []) as string[]).map(did => {
      if (!isDidKey(did)) throw new UsageError(`--trust-verifier ${did} is not a did:key`)
      return did
    })
    const price = values.price === undefined ? undefined : integerFlag(values.price, 'price', 0, 1_000_000_000, 0)
    const minPrice = values['min-price'] === undefined ? undefined : integerFlag(values['min-price'], 'min-price', 0, 1_000_000_000, 0)
    if (price !== undefined && minPrice !== undefined && minPrice > price) throw new UsageError('--min-price must not be above --price')
    const refuseModules = ((values['refuse-module'] ?? []) as string[]).map(text => {
      try {
        return CID.parse(text)
      } catch {
        throw new UsageError(`--refuse-module ${text} is not a CID`)
      }
    })
    const maxPrice = values['max-price'] === undefined ? undefined : integerFlag(values['max-price'], 'max-price', 0, 1_000_000_000, 0)
    const minStake = values['min-stake'] === undefined ? undefined : integerFlag(values['min-stake'], 'min-stake', 0, Number.MAX_SAFE_INTEGER, 0)
    const bidWindowMs = values['bid-window'] === undefined ? undefined : integerFlag(values['bid-window'], 'bid-window', 1, 60_000, 0)
    const challengeWindowMs = values['challenge-window'] === undefined ? undefined : 1000 * integerFlag(values['challenge-window'], 'challenge-window', 0, 30 * 86_400, 0)
    const announce = values.announce as string | undefined
    if (announce !== undefined && !['waiting', 'always', 'never'].includes(announce)) throw new UsageError('--announce must be waiting, always or never')
    const faucet = values.faucet === undefined ? undefined : integerFlag(values.faucet, 'faucet', 1, Number.MAX_SAFE_INTEGER, 0)
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
        const started = await startExecutorRole({
          node: ipvmNode,
          repo,
          signer: identity.signer,
          revocations,
          maxConcurrent: maxTasks,
          ...(workers !== undefined ? { threads: workers } : {}),
          bidPolicy: { ...(price !== undefined ? { price } : {}), ...(minPrice !== undefined ? { minPrice } : price !== undefined ? { minPrice: price } : {}), refuseModules },
          ...(cheatRate !== undefined && cheatRate > 0 ? { dishonestCheatRateForTesting: cheatRate } : {})
        })
        if (cheatRate !== undefined && cheatRate > 0) context.stderr.write(`ipvm node: WARNING: this executor is DISHONEST on purpose (--dishonest-cheat-rate ${cheatRate}); verifiers will catch it and its stake will be slashed\n`)
        stopRole = started.stop
      } else if (role === 'scheduler') {
        const started = await startSchedulerRole({
          node: ipvmNode,
          repo,
          signer: identity.signer,
          dir: home,
          revocations,
          requireProof: values.open !== true,
          market: { ...(announce !== undefined ? { announceInDht: announce as 'waiting' | 'always' | 'never' } : {}), ...(minStake !== undefined ? { minStake } : {}), ...(bidWindowMs !== undefined ? { bidWindowMs } : {}), ...(challengeWindowMs !== undefined ? { challengeWindowMs } : {}) },
          ...(maxPrice !== undefined ? { maxPrice } : {}),
          ...(faucet !== undefined ? { faucet } : {}),
          ...(sampleRate !== undefined ? { sampleRate } : {}),
          verification: {
            ...(trusted.length > 0 ? { trustedVerifiers: trusted } : {}),
            onEvent: event => { const line = describeVerification(event); if (line !== undefined) say(line, { event: `verification:${event.type}`, ...event }) }
          },
          onEvent: event => { const line = describeEvent(event); if (line !== undefined) say(line, { event: event.type, ...event }) }
        })
        stopRole = started.stop
        if (started.resumed.length > 0) say(`resumed ${started.resumed.length} unfinished workflow(s)`, { event: 'resumed', workflows: started.resumed })
      } else {
        const started = await startVerifierRole({
          node: ipvmNode,
          repo,
          signer: identity.signer,
          dir: home,
          ...(sampleRate !== undefined ? { sampleRate } : {}),
          ...(workers !== undefined ? { threads: workers } : {}),
          onEvent: event => {
            if (event.type !== 'checked') return
            const { record } = event
            say(`receipt ${record.receipt}: ${record.outcome}${record.detail !== undefined ? ` (${record.detail})` : ''}`, { event: 'checked', ...record })
          }
        })
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
    case 'task:waiting': return `workflow …${id} task ${event.index}: waiting (${event.reason})`
    case 'task:running': return `workflow …${id} task ${event.index}: running on ${event.executor}`
    case 'task:finished': return `workflow …${id} task ${event.index}: ${event.state.state}${event.state.state === 'failed' ? ` (${event.state.error.name}: ${event.state.error.message})` : ''}`
    case 'workflow:finished': return `workflow …${id} finished`
    case 'task:retracted': return `workflow …${id} task ${event.index}: receipt ${event.receipt} retracted (${event.reason}); running it again`
  }
}

function describeVerification (event: VerificationEvent): string | undefined {
  switch (event.type) {
    case 'attested': return `receipt ${event.receipt}: attested by ${event.verifier}${event.trusted ? ' (trusted: final)' : ''}`
    case 'fraud': return `receipt ${event.receipt}: FRAUD proven by ${event.challenger}; ${event.executor} slashed ${event.slashed} credits (bounty ${event.bounty})`
    case 'false-accusation': return `receipt ${event.receipt}: false accusation by ${event.challenger}; it loses ${event.penalty} credits`
    case 'false-attestation': return `receipt ${event.receipt}: ${event.verifier} attested a wrong outcome; it loses ${event.penalty} credits`
    case 'refused': return `${event.kind} from ${event.from} refused: ${event.name}: ${event.message}`
    case 'pushed': return undefined
  }
}

