import test from 'node:test'
import assert from 'node:assert/strict'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { openLmdbRepo } from '../../src/store/lmdb-repo.js'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { cidOf, codecs, encodeBlock } from '../../src/model/block.js'
import { tempDir } from '../helpers.js'
import type { Repo } from '../../src/store/interface.js'

const implementations: Array<[string, (t: any) => Promise<Repo>]> = [
  ['memory', async () => memoryRepo()],
  ['lmdb', async t => openLmdbRepo({ path: await tempDir(t) })]
]

// One suite, run against every implementation of the Repo interface.
for (const [name, open] of implementations) {
  test(`${name} repo: blocks are stored, read back and copied out`, async t => {
    const repo = await open(t)
    t.after(async () => { await repo.close() })
    const bytes = new Uint8Array([1, 2, 3])
    const cid = cidOf(bytes, codecs.raw)
    assert.equal(await repo.blocks.has(cid), false)
    assert.equal(await repo.blocks.get(cid), undefined)
    await repo.blocks.put(cid, bytes)
    assert.equal(await repo.blocks.has(cid), true)
    const read = await repo.blocks.get(cid)
    assert.deepEqual(read, bytes)
    read?.fill(9)
    assert.deepEqual(await repo.blocks.get(cid), bytes, 'a caller mutating what it read does not change the store')
  })

  test(`${name} repo: commit stores blocks and every receipt key together`, async t => {
    const repo = await open(t)
    t.after(async () => { await repo.close() })
    const instruction = encodeBlock({ op: 'x' })
    const alias = cidOf(instruction.bytes, codecs.dagCbor, 0x16)
    const receipt = encodeBlock({ out: { ok: 1 } })
    assert.equal(await repo.receipts.get(instruction.cid), undefined)
    await repo.commit({ blocks: [instruction, receipt], receipt: { instructionCids: [instruction.cid, alias], receiptCid: receipt.cid } })
    assert.ok((await repo.receipts.get(instruction.cid))?.equals(receipt.cid))
    assert.ok((await repo.receipts.get(alias))?.equals(receipt.cid))
    assert.deepEqual(await repo.blocks.get(receipt.cid), receipt.bytes)
    const later = encodeBlock({ out: { ok: 2 } })
    await repo.receipts.put([instruction.cid], later.cid)
    assert.ok((await repo.receipts.get(instruction.cid))?.equals(later.cid), 'the latest receipt wins')
  })

  test(`${name} repo: close is safe to call twice`, async t => {
    const repo = await open(t)
    await repo.close()
    await repo.close()
  })
}

test('lmdb repo: data survives closing and reopening; the directory is private', async t => {
  const path = join(await tempDir(t), 'repo')
  const block = encodeBlock({ hello: 'world' })
  const first = openLmdbRepo({ path })
  await first.commit({ blocks: [block], receipt: { instructionCids: [block.cid], receiptCid: block.cid } })
  await first.close()
  assert.equal(statSync(path).mode & 0o777, 0o700)
  const second = openLmdbRepo({ path })
  t.after(async () => { await second.close() })
  assert.deepEqual(await second.blocks.get(block.cid), block.bytes)
  assert.ok((await second.receipts.get(block.cid))?.equals(block.cid))
})

test('lmdb repo: an unusable path is a StoreError', async t => {
  const file = join(await tempDir(t), 'file')
  const { writeFileSync } = await import('node:fs')
  writeFileSync(file, 'not a directory')
  assert.throws(() => openLmdbRepo({ path: join(file, 'repo') }), (err: Error) => err.name === 'StoreError' && err.message.includes(file))
})
