import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { createIpvmNode, isLoopback } from '../../src/net/node.js'
import { DHT_PROTOCOL } from '../../src/net/constants.js'
import { fixedKey, loopbackNode, within } from './helpers.js'

test('start and stop are safe to call twice, and a node restarts', async t => {
  const node = await loopbackNode(t, 0)
  await Promise.all([node.start(), node.start()])
  assert.equal(node.isStarted(), true)
  await node.start()
  assert.ok(node.getMultiaddrs().length > 0)
  await node.stop()
  await node.stop()
  assert.equal(node.isStarted(), false)
  await node.start()
  assert.equal(node.isStarted(), true)
  await node.stop()
})

test('the node speaks the private /ipvm DHT protocol with its persistent PeerId', async t => {
  const a = await loopbackNode(t, 0)
  await a.start()
  const b = await loopbackNode(t, 1, { bootstrap: [a.getMultiaddrs()[0]!.toString()] })
  await b.start()
  assert.equal(b.connectedBootstrapPeers, 1)
  assert.equal(a.peerId.toString(), (await createIpvmNode({ privateKey: await fixedKey(0) })).peerId.toString())
  const peer = await b.libp2p.peerStore.get(a.peerId, within(5_000))
  assert.ok(peer.protocols.includes(DHT_PROTOCOL), `protocols: ${peer.protocols.join(', ')}`)
  assert.ok(!peer.protocols.includes('/ipfs/kad/1.0.0'))
  assert.equal(b.dht.getMode(), 'server')
})

test('loopback is refused unless allowLoopback is set', async t => {
  const open = await loopbackNode(t, 0)
  await open.start()
  const strict = await createIpvmNode({ privateKey: await fixedKey(1), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [open.getMultiaddrs()[0]!.toString()], bootstrapDialTimeoutMs: 2_000 })
  t.after(async () => { await strict.stop() })
  await strict.start()
  assert.equal(strict.connectedBootstrapPeers, 0)
  await assert.rejects(open.libp2p.dial(strict.getMultiaddrs()[0]!, within(5_000)))
  assert.equal(isLoopback(multiaddr('/ip4/127.0.0.1/tcp/1')), true)
  assert.equal(isLoopback(multiaddr('/ip6/::1/tcp/1')), true)
  assert.equal(isLoopback(multiaddr('/ip4/10.0.0.1/tcp/1')), false)
})

test('bad options are refused at construction, naming the option', async () => {
  const privateKey = await fixedKey(0)
  await assert.rejects(createIpvmNode({ privateKey, maxConnections: 0 }), { name: 'RangeError', message: /maxConnections/ })
  await assert.rejects(createIpvmNode({ privateKey, bootstrap: ['/ip4/127.0.0.1/tcp/1'] }), { name: 'TypeError', message: /p2p/ })
})
