import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { BlockExchange, blockMatches } from '../../src/net/protocols/blocks.js'
import { NetworkBlocks } from '../../src/net/network-blocks.js'
import { loopbackNetwork, loopbackNode, within } from './helpers.js'
import type { CID } from 'multiformats/cid'
import type { TestContext } from 'node:test'
import type { Blocks } from '../../src/store/interface.js'
import type { IpvmNode } from '../../src/net/node.js'

/** A node's block stack: local memory store, exchange, network store. */
async function withBlocks (t: TestContext, node: IpvmNode, local: Blocks = memoryRepo().blocks, init: { timeoutMs?: number, maxBlockBytes?: number } = {}): Promise<{ local: Blocks, exchange: BlockExchange, blocks: NetworkBlocks }> {
  const exchange = new BlockExchange(node.libp2p, { blocks: local, ...init })
  await exchange.start()
  t.after(async () => { await exchange.stop() })
  return { local, exchange, blocks: new NetworkBlocks({ local, node, exchange, queryTimeoutMs: 10_000 }) }
}

/**
 * Stores that serve `cid` honestly except for the first one asked, which
 * flips a bit: whichever provider a fetcher tries first is the liar.
 */
function firstAskedLies (cid: CID): { store: (name: string) => Blocks, liar: () => string | undefined } {
  let liar: string | undefined
  return {
    liar: () => liar,
    store: name => {
      const inner = memoryRepo().blocks
      return {
        put: async (key, bytes) => { await inner.put(key, bytes) },
        has: async key => await inner.has(key),
        get: async key => {
          const bytes = await inner.get(key)
          if (bytes === undefined || !key.equals(cid)) return bytes
          liar ??= name
          if (liar !== name) return bytes
          const forged = new Uint8Array(bytes)
          forged[0] = forged[0]! ^ 1
          return forged
        }
      }
    }
  }
}

test('a block put on node A is found through the DHT and fetched by node C, verified and stored', async t => {
  const [, a, c] = await loopbackNetwork(t, 3)
  const atA = await withBlocks(t, a!)
  const atC = await withBlocks(t, c!)
  const bytes = randomBytes(256 * 1024)
  const cid = cidOf(bytes, codecs.raw)
  await atA.blocks.put(cid, bytes, within(10_000))

  assert.equal(await atC.blocks.has(cid), false)
  const fetched = await atC.blocks.get(cid, within(10_000))
  assert.ok(fetched !== undefined)
  assert.ok(blockMatches(cid, fetched))
  assert.deepEqual(Buffer.from(fetched), bytes)
  assert.equal(await atC.local.has(cid), true, 'the fetched block is stored locally')
  // An unknown block is simply not found.
  assert.equal(await atC.blocks.get(cidOf(randomBytes(32), codecs.raw), within(10_000)), undefined)
})

test('a provider that sends wrong bytes is rejected with InvalidBlockError and reported; the fetch retries on another provider', async t => {
  const [, x, y, fetcher] = await loopbackNetwork(t, 4)
  const bytes = randomBytes(4096)
  const cid = cidOf(bytes, codecs.raw)
  const stores = firstAskedLies(cid)
  const atX = await withBlocks(t, x!, stores.store(x!.peerId.toString()))
  const atY = await withBlocks(t, y!, stores.store(y!.peerId.toString()))
  await Promise.all([atX.blocks.put(cid, bytes, within(10_000)), atY.blocks.put(cid, bytes, within(10_000))])

  const atFetcher = await withBlocks(t, fetcher!)
  const fetched = await atFetcher.blocks.get(cid, within(15_000))
  assert.deepEqual(Buffer.from(fetched!), bytes)
  const liar = stores.liar()
  assert.ok(liar !== undefined, 'one provider lied')
  const honest = liar === x!.peerId.toString() ? y! : x!
  assert.equal(atFetcher.exchange.isReported(liar), true)
  assert.equal(atFetcher.exchange.isReported(honest.peerId), false)

})

test('when every provider lies, the fetch fails with BlockFetchError listing InvalidBlockError', async t => {
  const [, x, fetcher] = await loopbackNetwork(t, 3)
  const bytes = randomBytes(1024)
  const cid = cidOf(bytes, codecs.raw)
  const atX = await withBlocks(t, x!, firstAskedLies(cid).store('x'))
  await atX.blocks.put(cid, bytes, within(10_000))
  const atFetcher = await withBlocks(t, fetcher!)
  await assert.rejects(atFetcher.blocks.get(cid, within(10_000)), (err: Error & { causes?: Error[] }) => {
    assert.equal(err.name, 'BlockFetchError')
    assert.deepEqual(err.causes?.map(cause => cause.name), ['InvalidBlockError'])
    return true
  })
  assert.equal(await atFetcher.local.has(cid), false, 'wrong bytes are never stored')
  // Asked directly, the liar's answer is refused with the named error.
  await assert.rejects(atFetcher.exchange.fetchOne(x!.peerId, cid, within(5_000)), { name: 'InvalidBlockError' })
  assert.equal(atFetcher.exchange.misbehaviour().get(x!.peerId.toString()), 2)
})

test('a block larger than the fetcher accepts is refused with MessageTooLargeError', async t => {
  const [server, client] = await loopbackNetwork(t, 2)
  const bytes = randomBytes(64 * 1024)
  const cid = cidOf(bytes, codecs.raw)
  const atServer = await withBlocks(t, server!)
  await atServer.local.put(cid, bytes)
  const atClient = await withBlocks(t, client!, memoryRepo().blocks, { maxBlockBytes: 1024 })
  await assert.rejects(atClient.exchange.fetchOne(server!.peerId, cid, within(5_000)), { name: 'MessageTooLargeError' })
  assert.equal(await atServer.exchange.fetchOne(client!.peerId, cid, within(5_000)), undefined, 'a missing block is undefined')
})

test('on a node with no peers, put stores the block and fails fast with NoPeersError', async t => {
  const lone = await loopbackNode(t, 0)
  await lone.start()
  const { local, blocks } = await withBlocks(t, lone)
  const bytes = randomBytes(100)
  const cid = cidOf(bytes, codecs.raw)
  await assert.rejects(blocks.put(cid, bytes, within(5_000)), { name: 'NoPeersError' })
  assert.equal(await local.has(cid), true)
  assert.deepEqual(Buffer.from((await blocks.get(cid))!), bytes, "read back locally")
})
