import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { getSignedRecord, putSignedRecord, recordKey, selectSignedRecord, signRecord, validateSignedRecord } from '../../src/net/records.js'
import { loopbackNetwork, within } from './helpers.js'

const text = new TextEncoder()
/** The DHT validator as a promise (it may return synchronously). */
const validate = async (key: Uint8Array, value: Uint8Array): Promise<void> => { await validateSignedRecord(key, value) }

test('a signed record put by A is read and verified by C through the DHT; a newer seq wins', async t => {
  const [, a, c] = await loopbackNetwork(t, 3)
  const put = await putSignedRecord(a!, 'capacity', text.encode('2 cores'), { ...within(10_000), seq: 1 })
  assert.equal(put.storedBy, 2, 'both other peers accepted the record')
  const record = await getSignedRecord(c!, a!.peerId.toString(), 'capacity', within(10_000))
  assert.deepEqual(record, { publisher: a!.peerId.toString(), name: 'capacity', value: text.encode('2 cores'), seq: 1 })

  await putSignedRecord(a!, 'capacity', text.encode('4 cores'), { ...within(10_000), seq: 2 })
  const newer = await getSignedRecord(c!, a!.peerId.toString(), 'capacity', within(10_000))
  assert.equal(newer.seq, 2)
  assert.deepEqual(newer.value, text.encode('4 cores'))
})

test('unsigned, forged and malformed records are refused on put and never returned by get', async t => {
  const [bootstrap, a, mallory] = await loopbackNetwork(t, 3)
  const victim = a!.peerId.toString()
  const key = recordKey(victim, 'capacity')

  // Forged: Mallory signs a record under A's key with her own key.
  const forged = await signRecord(mallory!, 'capacity', text.encode('0 cores'))
  await assert.rejects(validate(key, forged.bytes), { name: 'InvalidRecordError' })
  // Unsigned: a bare value, and an envelope with an empty signature.
  await assert.rejects(validate(key, text.encode('0 cores')), { name: 'InvalidRecordError' })
  await assert.rejects(validate(key, dagCbor.encode({ value: text.encode('x'), seq: 1, signature: new Uint8Array() })), { name: 'InvalidRecordError' })
  // Malformed keys.
  await assert.rejects(validate(text.encode('/ipvm/not-a-peer-id/capacity'), forged.bytes), { name: 'InvalidRecordError' })
  await assert.rejects(validate(text.encode('/ipvm/capacity'), forged.bytes), { name: 'InvalidRecordError' })
  // A record moved to another key (or another name) no longer verifies.
  const genuine = await signRecord(a!, 'capacity', text.encode('2 cores'), 5)
  await validate(key, genuine.bytes)
  await assert.rejects(validate(recordKey(victim, 'memory'), genuine.bytes), { name: 'InvalidRecordError' })

  // Mallory pushes the forged record into the DHT: the put is refused and nobody can read it.
  const answers: string[] = []
  for await (const event of mallory!.dht.put(key, forged.bytes, within(10_000))) {
    if (event.name === 'QUERY_ERROR') answers.push('refused')
    if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE' && event.record !== undefined) answers.push('stored')
  }
  assert.ok(answers.length > 0 && answers.every(answer => answer === 'refused'), `answers: ${answers.join(', ')}`)
  await assert.rejects(getSignedRecord(bootstrap!, victim, 'capacity', within(10_000)), { name: 'RecordNotFoundError' })

  // The selector prefers the highest valid seq and ignores garbage.
  const older = await signRecord(a!, 'capacity', text.encode('1 core'), 1)
  assert.equal(await selectSignedRecord(key, [older.bytes, text.encode('garbage'), genuine.bytes]), 2)
})
