/**
 * The verifier role assembled on a node: it serves its blocks, fetches
 * modules and inputs from providers, announces itself in the DHT so
 * schedulers send it their receipts (`check` over `/ipvm/market/1.0.0`), and
 * checks a secret, unpredictable sample of them (see {@link Verifier}).
 */
import { join } from 'node:path'
import { BlockExchange } from '../src/net/protocols/blocks.js'
import { NetworkBlocks } from '../src/net/network-blocks.js'
import { MarketService, MAX_VERIFICATION_MESSAGE_BYTES } from '../src/net/protocols/market.js'
import { startRole } from '../src/net/discovery.js'
import { LocalExecutor } from '../src/executor/local.js'
import { Sampler, loadSamplingSecret } from '../src/verify/sampling.js'
import { DEFAULT_SAMPLE_RATE } from '../src/constants.js'
import { Verifier } from './verifier.js'
import type { VerifierEvent } from './verifier.js'
import type { IpvmNode } from '../src/net/node.js'
import type { Repo } from '../src/store/interface.js'
import type { DID, Signer } from '../src/auth/types.js'

/** Name of the sampling secret's file in the verifier's directory (mode 0600). */
export const SAMPLING_SECRET_FILE = 'sampling.secret'

/** Options of {@link startVerifierRole}. */
export interface VerifierRoleInit {
  /** A started node. */
  node: IpvmNode
  repo: Repo
  /** Signs attestations and challenge receipts (same key as the node's PeerId). */
  signer: Signer & { did(): DID }
  /** The verifier's directory: its sampling secret, `verifier.lmdb`, `proofs/`. */
  dir: string
  /** Probability of checking each receipt. @default 0.05 */
  sampleRate?: number
  /** The sampling secret; by default read from (or created in) `dir/sampling.secret`. */
  secret?: Uint8Array
  /** Worker threads for re-running. @default 1 */
  threads?: number
  /** Checks at once. @default 1 */
  concurrency?: number
  /** Announce the role in the DHT (as soon as the node has a DHT peer; see `advertised`). @default true */
  advertise?: boolean
  onEvent?: (event: VerifierEvent) => void
}

/** A running verifier role. */
export interface VerifierRole {
  readonly verifier: Verifier
  readonly exchange: BlockExchange
  readonly blocks: NetworkBlocks
  readonly executor: LocalExecutor
  /** Resolves once the role is announced in the DHT (it waits for a first DHT peer). */
  readonly advertised: Promise<void>
  /** Stops serving and checking (unfinished checks resume at the next start). Safe to call twice. */
  stop(): Promise<void>
}

/**
 * @example
 * ```ts
 * const role = await startVerifierRole({ node, repo, signer: identity.signer, dir: home, sampleRate: 0.1 })
 * ```
 */
export async function startVerifierRole (init: VerifierRoleInit): Promise<VerifierRole> {
  const { node, repo } = init
  const secret = init.secret ?? await loadSamplingSecret(join(init.dir, SAMPLING_SECRET_FILE))
  const sampler = new Sampler(secret, init.sampleRate ?? DEFAULT_SAMPLE_RATE)
  const exchange = new BlockExchange(node.libp2p, { blocks: repo.blocks })
  const blocks = new NetworkBlocks({ local: repo.blocks, node, exchange, queryTimeoutMs: 10_000 })
  const executor = new LocalExecutor(blocks, { threads: init.threads ?? 1 })
  const verifier = Verifier.open({
    node,
    signer: init.signer,
    blocks,
    executor,
    sampler,
    dir: init.dir,
    ...(init.concurrency !== undefined ? { concurrency: init.concurrency } : {}),
    ...(init.onEvent !== undefined ? { onEvent: init.onEvent } : {})
  })
  const market = new MarketService(node.libp2p, {
    maxRequestBytes: MAX_VERIFICATION_MESSAGE_BYTES,
    handlers: { check: async (body, remote) => await verifier.receive(body, remote) }
  })
  const { advertised, stop } = await startRole({
    node,
    role: 'verifier',
    ...(init.advertise !== undefined ? { advertise: init.advertise } : {}),
    start: async () => {
      await exchange.start()
      await market.start()
      await verifier.start()
    },
    stop: async () => {
      await market.stop()
      await verifier.stop()
      await executor.stop()
      await exchange.stop()
    }
  })
  return { verifier, exchange, blocks, executor, advertised, stop }
}
