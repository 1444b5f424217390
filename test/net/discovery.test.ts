import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { advertiseRole, findPeersByRole, roleCid } from '../../src/net/discovery.js'
import { loopbackNetwork, within } from './helpers.js'

test('two nodes: a node finds the bootstrap node by its role', async t => {
  const [bootstrap, other] = await loopbackNetwork(t, 2)
  await advertiseRole(bootstrap!, 'scheduler', within(10_000))
  const schedulers = await findPeersByRole(other!, 'scheduler', { timeoutMs: 10_000, limit: 1 })
  assert.deepEqual(schedulers.map(peer => peer.id.toString()), [bootstrap!.peerId.toString()])
})

test('three nodes that know only the bootstrap address find each other by role through the DHT', async t => {
  const [, executor, verifier, scheduler] = await loopbackNetwork(t, 4)
  await Promise.all([advertiseRole(executor!, 'executor', within(10_000)), advertiseRole(verifier!, 'verifier', within(10_000))])

  const executors = await findPeersByRole(scheduler!, 'executor', { timeoutMs: 10_000 })
  const verifiers = await findPeersByRole(scheduler!, 'verifier', { timeoutMs: 10_000 })
  assert.deepEqual(executors.map(peer => peer.id.toString()), [executor!.peerId.toString()])
  assert.deepEqual(verifiers.map(peer => peer.id.toString()), [verifier!.peerId.toString()])
  assert.ok(executors[0]!.multiaddrs.length > 0, 'the DHT gives addresses')
  // The scheduler can reach the executor by PeerId alone.
  await scheduler!.libp2p.services.ping.ping(executor!.peerId, within(5_000))
  assert.deepEqual(await findPeersByRole(executor!, 'scheduler', { timeoutMs: 10_000 }), [])
})

test('role CIDs are fixed and unknown roles are refused', () => {
  assert.equal(roleCid('executor').toString(), roleCid('executor').toString())
  assert.notEqual(roleCid('executor').toString(), roleCid('verifier').toString())
  assert.throws(() => roleCid('miner' as never), RangeError)
})
