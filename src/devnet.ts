/**
 * An embedded devnet: one scheduler, N executors and M verifiers (1), each a
 * real libp2p node of its own on 127.0.0.1 in this process, wired exactly as
 * separate machines would be (DHT discovery through the scheduler as the
 * bootstrap node, blocks fetched over `/ipvm/blocks`, tasks over
 * `/ipvm/execute`, workflows over `/ipvm/submit`, bids over `/ipvm/market`).
 * `ipvm run` and `ipvm devnet` start one.
 *
 * Its scheduler runs a faucet: every executor gets a stake at start, and
 * `fund(did)` (or `ipvm deposit` against it) credits a requester. Escrows
 * settle as soon as a receipt is verified (no challenge window) unless
 * `market.challengeWindowMs` says otherwise.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createIpvmNode } from './net/node.js'
import { identityFromSeed } from './auth/identity.js'
import { memoryRepo } from './store/memory-repo.js'
import { startExecutorRole } from './executor/role.js'
import { startSchedulerRole } from '../scheduler/role.js'
import { startVerifierRole } from '../verifier/role.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { IpvmNode } from './net/node.js'
import type { NodeIdentity } from './auth/identity.js'
import type { Repo } from './store/interface.js'
import type { ExecutorRole } from './executor/role.js'
import type { SchedulerRole, SchedulerRoleInit } from '../scheduler/role.js'
import type { SchedulerEvent } from '../scheduler/scheduler.js'
import type { VerifierRole } from '../verifier/role.js'
import type { BidPolicyInit } from './executor/bid-policy.js'
import type { DID } from './auth/types.js'
import { DEFAULT_SAMPLE_RATE, DEVNET_FAUCET_CREDITS, DEVNET_STAKE } from './constants.js'
import type { VerificationEvent } from '../scheduler/verification.js'

/** Options of {@link startDevnet}. */
export interface DevnetInit {
  /** Executor nodes. @default 3 */
  executors?: number
  /** Worker threads of each executor. @default 1 */
  threads?: number
  /** The scheduler's repo (receipts, memo). @default a fresh in-memory repo */
  repo?: Repo
  /** The scheduler's state directory. @default a temporary directory, removed at stop */
  dir?: string
  /** The scheduler's listen address. @default /ip4/127.0.0.1/tcp/0 */
  listen?: string
  /** Most tasks in flight. @default 8 per executor */
  concurrency?: number
  onEvent?: (event: SchedulerEvent) => void
  /** How the scheduler reaches executors (timeouts, attempts). */
  remote?: SchedulerRoleInit['remote']
  /** Market settings. @default { challengeWindowMs: 0 } */
  market?: SchedulerRoleInit['market']
  /** Each executor's bid policy, by index (missing ones: the defaults). */
  bidPolicies?: BidPolicyInit[]
  /** Credits staked for each executor (and verifier) at start. @default 10^13 (DEVNET_STAKE) */
  stake?: number
  /** Verifier nodes. @default 1 */
  verifiers?: number
  /** Each verifier's sample rate, and what the scheduler reckons collateral from. @default 0.05 */
  sampleRate?: number
  /** Whether the scheduler takes the devnet's verifiers' attestations as final (as the requester's own would be). @default true */
  trustVerifiers?: boolean
  /** FOR TESTS AND BENCHMARKS: executor i cheats at rate `dishonestCheatRates[i]` (see `dishonestCheatRateForTesting`). */
  dishonestCheatRates?: number[]
  /** Verification events at the scheduler (fraud proven, attestations, …). */
  onVerification?: (event: VerificationEvent) => void
}

/** A running devnet. */
export interface Devnet {
  readonly scheduler: { node: IpvmNode, role: SchedulerRole, identity: NodeIdentity }
  readonly executors: Array<{ node: IpvmNode, role: ExecutorRole }>
  /** The first verifier (absent with `verifiers: 0`). */
  readonly verifier: { node: IpvmNode, role: VerifierRole } | undefined
  readonly verifiers: Array<{ node: IpvmNode, role: VerifierRole, identity: NodeIdentity, dir: string }>
  /** Resolves when every receipt so far was sent to the verifiers and they finished checking it. */
  verified(): Promise<void>
  /** The scheduler's address (with `/p2p/`): the bootstrap address of the devnet. */
  readonly address: Multiaddr
  /** Credits `did` from the faucet (a requester before it submits). @default 1e9 credits */
  fund(did: DID, amount?: number): Promise<void>
  /** Stops every role and node; removes the temporary state. Safe to call twice. */
  stop(): Promise<void>
}

async function freshIdentity (): Promise<NodeIdentity> {
  return await identityFromSeed(randomBytes(32))
}

/**
 * @example
 * ```ts
 * const devnet = await startDevnet({ executors: 3 })
 * console.log(devnet.address.toString())   // point `ipvm submit --scheduler` at it
 * await devnet.stop()
 * ```
 */
export async function startDevnet (init: DevnetInit = {}): Promise<Devnet> {
  const count = init.executors ?? 3
  if (!Number.isInteger(count) || count < 1 || count > 64) throw new RangeError(`executors must be an integer from 1 to 64, got ${count}`)
  const cleanups: Array<() => Promise<void>> = []
  let stopScheduler: (() => Promise<void>) | undefined
  const stop = async (): Promise<void> => {
    // The scheduler first: tasks in flight stay unfinished instead of failing as their executors go.
    await stopScheduler?.().catch(() => {})
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {})
  }
  try {
    const dir = init.dir ?? await mkdtemp(join(tmpdir(), 'ipvm-devnet-'))
    if (init.dir === undefined) cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })

    const schedulerIdentity = await freshIdentity()
    const schedulerNode = await createIpvmNode({ privateKey: schedulerIdentity.privateKey, listen: [init.listen ?? '/ip4/127.0.0.1/tcp/0'], allowLoopback: true })
    cleanups.push(async () => { await schedulerNode.stop() })
    await schedulerNode.start()
    const address = schedulerNode.getMultiaddrs()[0]
    if (address === undefined) throw new Error('the devnet scheduler has no address')
    const verifierCount = init.verifiers ?? 1
    if (!Number.isInteger(verifierCount) || verifierCount < 0 || verifierCount > 16) throw new RangeError(`verifiers must be an integer from 0 to 16, got ${verifierCount}`)
    const sampleRate = init.sampleRate ?? DEFAULT_SAMPLE_RATE
    const verifierIdentities = await Promise.all(Array.from({ length: verifierCount }, async () => await freshIdentity()))
    const schedulerRole = await startSchedulerRole({
      node: schedulerNode,
      repo: init.repo ?? memoryRepo(),
      signer: schedulerIdentity.signer,
      dir,
      concurrency: init.concurrency ?? 8 * count,
      market: init.market ?? { challengeWindowMs: 0 },
      faucet: DEVNET_FAUCET_CREDITS,
      sampleRate,
      verification: {
        ...(init.trustVerifiers !== false ? { trustedVerifiers: verifierIdentities.map(identity => identity.did) } : {}),
        ...(init.onVerification !== undefined ? { onEvent: init.onVerification } : {})
      },
      ...(init.remote !== undefined ? { remote: init.remote } : {}),
      ...(init.onEvent !== undefined ? { onEvent: init.onEvent } : {})
    })
    stopScheduler = schedulerRole.stop
    cleanups.push(async () => { await schedulerRole.stop() })

    const join_ = async (): Promise<{ node: IpvmNode, identity: NodeIdentity }> => {
      const identity = await freshIdentity()
      const node = await createIpvmNode({ privateKey: identity.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [address.toString()], allowLoopback: true })
      cleanups.push(async () => { await node.stop() })
      await node.start()
      return { node, identity }
    }
    const executors = await Promise.all(Array.from({ length: count }, async (_, index) => {
      const { node, identity } = await join_()
      // By position: executor i (in `executors`) has policy i.
      const policy = init.bidPolicies?.[index]
      const cheatRate = init.dishonestCheatRates?.[index]
      const role = await startExecutorRole({
        node,
        repo: memoryRepo(),
        signer: identity.signer,
        threads: init.threads ?? 1,
        ...(policy !== undefined ? { bidPolicy: policy } : {}),
        ...(cheatRate !== undefined && cheatRate > 0 ? { dishonestCheatRateForTesting: cheatRate } : {})
      })
      cleanups.push(async () => { await role.stop() })
      return { node, role }
    }))
    const verifiers = await Promise.all(verifierIdentities.map(async (identity, index) => {
      const node = await createIpvmNode({ privateKey: identity.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [address.toString()], allowLoopback: true })
      cleanups.push(async () => { await node.stop() })
      await node.start()
      const verifierDir = join(dir, `verifier-${index}`)
      const role = await startVerifierRole({ node, repo: memoryRepo(), signer: identity.signer, dir: verifierDir, sampleRate })
      cleanups.push(async () => { await role.stop() })
      return { node, role, identity, dir: verifierDir }
    }))
    // Every executor and verifier has a stake: to be awarded tasks, to file fraud proofs.
    const stake = init.stake ?? DEVNET_STAKE
    if (stake > 0) {
      for (const executor of executors) await schedulerRole.ledger.deposit(executor.role.policy.did, stake, { stake: true, memo: 'devnet stake' })
      for (const verifier of verifiers) await schedulerRole.ledger.deposit(verifier.identity.did, stake, { stake: true, memo: 'devnet stake' })
    }
    // Ready when every executor and verifier can be found.
    await Promise.all([...executors, ...verifiers].map(async member => await member.role.advertised))
    if (verifiers.length > 0) await schedulerRole.verification?.discover()
    return {
      fund: async (did, amount = DEVNET_FAUCET_CREDITS) => { await schedulerRole.ledger.deposit(did, amount, { memo: 'devnet faucet' }) },
      scheduler: { node: schedulerNode, role: schedulerRole, identity: schedulerIdentity },
      executors,
      verifier: verifiers[0],
      verifiers,
      verified: async () => {
        await schedulerRole.verification?.pushed()
        await Promise.all(verifiers.map(async verifier => { await verifier.role.verifier.idle() }))
      },
      address,
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}
