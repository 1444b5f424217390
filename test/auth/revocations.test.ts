import test from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { MemoryRevocationStore, openRevocationStore, revocationsPath } from '../../src/auth/revocations.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { tempDir } from '../helpers.js'
import type { RevocationStore } from '../../src/auth/revocations.js'

const one = cidOf(new TextEncoder().encode('delegation one'), codecs.dagCbor)
const two = cidOf(new TextEncoder().encode('delegation two'), codecs.dagCbor)

const implementations: Array<[string, (t: { after: (fn: () => Promise<void>) => void }) => Promise<RevocationStore>]> = [
  ['memory', async () => new MemoryRevocationStore()],
  ['lmdb', async t => {
    const store = openRevocationStore({ path: revocationsPath(join(await tempDir(t), 'repo')) })
    t.after(async () => { await store.close() })
    return store
  }]
]

for (const [name, open] of implementations) {
  test(`${name}: revoke, then isRevoked and get; other CIDs stay valid`, async t => {
    const store = await open(t)
    assert.equal(await store.isRevoked(one), false)
    const record = await store.revoke(one, { reason: 'key leaked', at: 1_700_000_000 })
    assert.deepEqual({ ...record, cid: record.cid.toString() }, { cid: one.toString(), at: 1_700_000_000, reason: 'key leaked' })
    assert.equal(await store.isRevoked(one), true)
    assert.equal(await store.isRevoked(two), false)
    assert.equal((await store.get(one))?.reason, 'key leaked')
    assert.equal(await store.get(two), undefined)
  })

  test(`${name}: revoking twice keeps the first record; list is oldest first`, async t => {
    const store = await open(t)
    await store.revoke(two, { at: 20 })
    await store.revoke(one, { at: 10 })
    const again = await store.revoke(one, { at: 30, reason: 'later' })
    assert.equal(again.at, 10)
    assert.deepEqual((await store.list()).map(entry => [entry.cid.toString(), entry.at]), [[one.toString(), 10], [two.toString(), 20]])
  })
}

test('lmdb: revocations survive closing and reopening the store', async t => {
  const path = revocationsPath(await tempDir(t))
  const first = openRevocationStore({ path })
  await first.revoke(one)
  await first.close()
  await first.close()
  const second = openRevocationStore({ path })
  t.after(async () => { await second.close() })
  assert.equal(await second.isRevoked(one), true)
})
