/**
 * The verifier role assembled on a node. For now it joins the network,
 * serves its blocks and announces itself in the DHT so schedulers can find
 * it; sampling receipts, re-running them and filing fraud proofs are the
 * optimistic-verification work that comes next (see the README's roadmap).
 */
import { BlockExchange } from '../src/net/protocols/blocks.js'
import { advertiseRoleWhenRouted } from '../src/net/discovery.js'
import type { IpvmNode } from '../src/net/node.js'
import type { Repo } from '../src/store/interface.js'

/** Options of {@link startVerifierRole}. */
export interface VerifierRoleInit {
  /** A started node. */
  node: IpvmNode
  repo: Repo
  /** Announce the role in the DHT (as soon as the node has a DHT peer; see `advertised`). @default true */
  advertise?: boolean
}

/** A running verifier role. */
export interface VerifierRole {
  readonly exchange: BlockExchange
  /** Resolves once the role is announced in the DHT (it waits for a first DHT peer). */
  readonly advertised: Promise<void>
  /** Stops serving. Safe to call twice. */
  stop(): Promise<void>
}

export async function startVerifierRole (init: VerifierRoleInit): Promise<VerifierRole> {
  const exchange = new BlockExchange(init.node.libp2p, { blocks: init.repo.blocks })
  await exchange.start()
  const advertising = new AbortController()
  const advertised = init.advertise === false ? Promise.resolve() : advertiseRoleWhenRouted(init.node, 'verifier', advertising.signal)
  advertised.catch(() => {})
  let stopped = false
  return {
    exchange,
    advertised,
    async stop () {
      if (stopped) return
      stopped = true
      advertising.abort(new Error('the role is stopping'))
      await exchange.stop()
    }
  }
}
