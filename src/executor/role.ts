/**
 * The executor role assembled on a node: it serves its blocks, fetches
 * modules and inputs from providers, runs tasks sent over
 * `/ipvm/execute/1.0.0` in its worker pool after checking their UCAN chain,
 * signs the receipts, and advertises itself in the DHT. It answers calls for
 * bids over `/ipvm/market/1.0.0` by its {@link BidPolicy}, and takes only
 * awards that policy accepts.
 */
import { BlockExchange } from '../net/protocols/blocks.js'
import { NetworkBlocks } from '../net/network-blocks.js'
import { ExecuteService } from '../net/protocols/execute.js'
import { startRole } from '../net/discovery.js'
import { LocalExecutor } from './local.js'
import { DelegationCache } from '../auth/validate.js'
import { BidPolicy } from './bid-policy.js'
import { MarketService, openAnnouncement } from '../net/protocols/market.js'
import { peerDid } from './remote.js'
import type { BidPolicyInit } from './bid-policy.js'
import type { DID } from '../auth/types.js'
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
  signer: Signer & { did(): DID }
  /** Worker threads. @default the number of CPUs, at most 4 */
  threads?: number
  /** Most tasks accepted at once; more are refused as busy. @default 32 */
  maxConcurrent?: number
  revocations?: RevocationStore
  /** Announce the role in the DHT (as soon as the node has a DHT peer; see `advertised`). @default true */
  advertise?: boolean
  /** How it bids: price, minimum price, concurrency, refused modules. */
  bidPolicy?: BidPolicyInit
  /**
   * FOR TESTS AND BENCHMARKS ONLY: a dishonest executor. At this rate it does
   * not run a task at all and signs a receipt with a made-up result, which
   * verifiers will catch and for which its stake will be slashed. Off (0) by
   * default; see {@link DishonestExecution}.
   */
  dishonestCheatRateForTesting?: number
}

/** What a dishonest executor did (present only when cheating is on). */
export interface DishonestExecution {
  readonly rate: number
  /** InIDs of the tasks it answered with a made-up result, in order. */
  readonly cheats: string[]
}

/** The result a dishonest executor signs instead of running the task. */
export const DISHONEST_OUTPUT = 'ipvm-dishonest-executor: not computed'

/** A running executor role. */
export interface ExecutorRole {
  readonly executor: LocalExecutor
  readonly service: ExecuteService
  readonly exchange: BlockExchange
  readonly blocks: NetworkBlocks
  readonly policy: BidPolicy
  readonly market: MarketService
  /** Present only on a dishonest executor (`dishonestCheatRateForTesting`). */
  readonly dishonesty?: DishonestExecution
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
  const maxConcurrent = init.maxConcurrent ?? 32
  const policy = new BidPolicy(signer, { concurrency: maxConcurrent, slots: init.threads ?? 1, ...init.bidPolicy })
  const rate = init.dishonestCheatRateForTesting ?? 0
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new RangeError(`the cheat rate must be from 0 to 1, got ${String(rate)}`)
  const dishonesty: DishonestExecution | undefined = rate > 0 ? { rate, cheats: [] } : undefined
  const service = new ExecuteService(node.libp2p, {
    signer,
    // Each task's run time informs the `expectedStart` of the next bids.
    executor: {
      execute: async (task, options) => {
        if (dishonesty !== undefined && Math.random() < dishonesty.rate) {
          dishonesty.cheats.push(task.instructionCid.toString())
          // Nothing runs: a made-up result and a plausible fuel figure, signed like an honest one.
          return { out: { ok: DISHONEST_OUTPUT }, executed: true, durationMs: 0, fuel: 1_000 + Math.floor(Math.random() * 1_000) }
        }
        const result = await executor.execute(task, options)
        if (result.executed) policy.observe(result.durationMs)
        return result
      },
      stop: async () => { await executor.stop() }
    },
    blocks,
    repo,
    maxConcurrent,
    checkAward: request => {
      try {
        policy.checkAward({ task: request.instructionCid, module: request.module, ...(request.meta.price !== undefined ? { price: request.meta.price } : {}), ...(request.bid !== undefined ? { bid: request.bid } : {}) })
        return undefined
      } catch (err) {
        return err as Error
      }
    }
  })
  const market = new MarketService(node.libp2p, {
    handlers: {
      // The stream is authenticated as `remote`: the announcement must be its own, so its signature need not be checked again.
      bids: async (body, remote) => {
        const bytes = (body as { announcement?: unknown } | null)?.announcement
        if (!(bytes instanceof Uint8Array)) return { decline: { code: 'invalid', reason: 'a call for bids is { announcement: bytes }' } }
        const announcement = openAnnouncement(bytes, { trustedIssuer: peerDid(remote) })
        return await policy.answer(announcement, { running: service.active, cached: await repo.blocks.has(announcement.payload.module) })
      }
    }
  })
  const { advertised, stop } = await startRole({
    node,
    role: 'executor',
    ...(init.advertise !== undefined ? { advertise: init.advertise } : {}),
    start: async () => {
      await exchange.start()
      await service.start()
      await market.start()
    },
    stop: async () => {
      await market.stop()
      await service.stop()
      await executor.stop()
      await exchange.stop()
    }
  })
  return { executor, service, exchange, blocks, policy, market, advertised, stop, ...(dishonesty !== undefined ? { dishonesty } : {}) }
}
