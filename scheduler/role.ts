/**
 * The scheduler role assembled on a node: it takes workflows over
 * `/ipvm/submit/1.0.0`, keeps them in LMDB, sends their tasks to executors
 * found in the DHT, and advertises itself.
 */
import { BlockExchange } from '../src/net/protocols/blocks.js'
import { advertiseRoleWhenRouted } from '../src/net/discovery.js'
import { RemoteExecutor } from '../src/executor/remote.js'
import { Scheduler } from './scheduler.js'
import { SubmitService } from './submit-service.js'
import type { IpvmNode } from '../src/net/node.js'
import type { Repo } from '../src/store/interface.js'
import type { RemoteExecutorInit } from '../src/executor/remote.js'
import type { RevocationStore } from '../src/auth/revocations.js'
import type { SchedulerEvent } from './scheduler.js'

/** Options of {@link startSchedulerRole}. */
export interface SchedulerRoleInit {
  /** A started node. */
  node: IpvmNode
  /** Where receipts and blocks are committed (and the memo read). */
  repo: Repo
  /** The node's signer (same key as its PeerId). */
  signer: RemoteExecutorInit['signer']
  /** The scheduler's directory: `dir/scheduler.lmdb`. */
  dir: string
  /** Most tasks in flight over all workflows. @default 32 */
  concurrency?: number
  /** Refuse workflows without a budget delegation. @default true */
  requireProof?: boolean
  revocations?: RevocationStore
  /** Options for reaching executors (timeouts, attempts). */
  remote?: Omit<RemoteExecutorInit, 'node' | 'signer'>
  /** Progress of every workflow. */
  onEvent?: (event: SchedulerEvent) => void
  /** Announce the role in the DHT (as soon as the node has a DHT peer; see `advertised`). @default true */
  advertise?: boolean
}

/** A running scheduler role. */
export interface SchedulerRole {
  readonly scheduler: Scheduler
  readonly service: SubmitService
  readonly executor: RemoteExecutor
  readonly exchange: BlockExchange
  /** Workflows resumed from the state at start. */
  readonly resumed: string[]
  /** Resolves once the role is announced in the DHT (it waits for a first DHT peer). */
  readonly advertised: Promise<void>
  /** Stops taking and dispatching (unfinished workflows resume at the next start). Safe to call twice. */
  stop(): Promise<void>
}

/**
 * @example
 * ```ts
 * const role = await startSchedulerRole({ node, repo, signer: identity.signer, dir: home })
 * ```
 */
export async function startSchedulerRole (init: SchedulerRoleInit): Promise<SchedulerRole> {
  const { node, repo, signer } = init
  const exchange = new BlockExchange(node.libp2p, { blocks: repo.blocks })
  const executor = new RemoteExecutor({ ...init.remote, node, signer })
  const scheduler = new Scheduler({
    repo,
    executor,
    // It signs the receipts it writes itself (a failed dependency, no executor).
    signer,
    dir: init.dir,
    concurrency: init.concurrency ?? 32,
    ...(init.onEvent !== undefined ? { onEvent: init.onEvent } : {})
  })
  const service = new SubmitService(node.libp2p, {
    scheduler,
    repo,
    did: signer.did(),
    ...(init.requireProof !== undefined ? { requireProof: init.requireProof } : {}),
    ...(init.revocations !== undefined ? { revocations: init.revocations } : {})
  })
  let stopped = false
  const advertising = new AbortController()
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    advertising.abort(new Error('the role is stopping'))
    await service.stop()
    await executor.stop()
    await scheduler.stop()
    await exchange.stop()
  }
  let resumed: string[]
  try {
    await exchange.start()
    resumed = await scheduler.start()
    await service.start()
  } catch (err) {
    await stop()
    throw err
  }
  const advertised = init.advertise === false ? Promise.resolve() : advertiseRoleWhenRouted(node, 'scheduler', advertising.signal)
  advertised.catch(() => {})
  return { scheduler, service, executor, exchange, resumed, advertised, stop }
}
