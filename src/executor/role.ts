/**
 * The executor role assembled on a node: it serves its blocks, fetches
 * modules and inputs from providers, runs tasks sent over
 * `/ipvm/execute/1.0.0` in its worker pool after checking their UCAN chain,
 * signs the receipts, and advertises itself in the DHT.
 */
import { BlockExchange } from '../net/protocols/blocks.js'
import { NetworkBlocks } from '../net/network-blocks.js'
import { ExecuteService } from '../net/protocols/execute.js'
import { advertiseRoleWhenRouted } from '../net/discovery.js'
import { LocalExecutor } from './local.js'
import { DelegationCache } from '../auth/validate.js'
import type { IpvmNode } from '../net/node.js'
import type { Repo } from '../store/interface.js'
import type { Signer } from '../auth/types.js'
import type { RevocationStore } from '../auth/revocations.js'

/** Options of {@link startExecutorRole}. */
export interface ExecutorRoleInit {
  /** A started node. */
  node: IpvmNode
  /** Where fetched modules, inputs and the receipts it signs are kept. */
  repo: Repo
  /** The node's signer: its DID must be the one of the node's PeerId (same key). */
  signer: Signer
  /** Worker threads. @default the number of CPUs, at most 4 */
  threads?: number
  /** Most tasks accepted at once; more are refused as busy. @default 32 */
  maxConcurrent?: number
  revocations?: RevocationStore
  /** Announce the role in the DHT (as soon as the node has a DHT peer; see `advertised`). @default true */
  advertise?: boolean
}

/** A running executor role. */
export interface ExecutorRole {
  readonly executor: LocalExecutor
  readonly service: ExecuteService
  readonly exchange: BlockExchange
  readonly blocks: NetworkBlocks
  /** Resolves once the role is announced in the DHT (it waits for a first DHT peer). */
  readonly advertised: Promise<void>
  /** Stops serving, aborts running tasks and stops the workers (the node stays up). Safe to call twice. */
  stop(): Promise<void>
}

/**
 * @example
 * ```ts
 * const role = await startExecutorRole({ node, repo, signer: identity.signer })
 * // … later
 * await role.stop()
 * ```
 */
export async function startExecutorRole (init: ExecutorRoleInit): Promise<ExecutorRole> {
  const { node, repo, signer } = init
  const exchange = new BlockExchange(node.libp2p, { blocks: repo.blocks })
  // It announces what it fetched: the modules it holds can be found in the DHT (and fetched from it).
  const blocks = new NetworkBlocks({ local: repo.blocks, node, exchange, queryTimeoutMs: 10_000, provideFetched: true })
  const executor = new LocalExecutor(blocks, {
    ...(init.threads !== undefined ? { threads: init.threads } : {}),
    identity: signer,
    requireInvocation: true,
    delegationCache: new DelegationCache(),
    ...(init.revocations !== undefined ? { revocations: init.revocations } : {})
  })
  const service = new ExecuteService(node.libp2p, { signer, executor, blocks, repo, maxConcurrent: init.maxConcurrent ?? 32 })
  let stopped = false
  const advertising = new AbortController()
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    advertising.abort(new Error('the role is stopping'))
    await service.stop()
    await executor.stop()
    await exchange.stop()
  }
  try {
    await exchange.start()
    await service.start()
  } catch (err) {
    await stop()
    throw err
  }
  const advertised = init.advertise === false ? Promise.resolve() : advertiseRoleWhenRouted(node, 'executor', advertising.signal)
  advertised.catch(() => {})
  return { executor, service, exchange, blocks, advertised, stop }
}
