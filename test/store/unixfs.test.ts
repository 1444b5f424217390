import test from 'node:test'
import assert from 'node:assert/strict'
import { writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import * as dagPb from '@ipld/dag-pb'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { addFile, addRawBlock, readBytes } from '../../src/store/unixfs.js'
import { codecs, cidOf } from '../../src/model/block.js'
import { tempDir } from '../helpers.js'

/** Deterministic pseudo-random bytes. */
function bytesOf (size: number, seed: string): Uint8Array {
  const out = new Uint8Array(size)
  let block = createHash('sha256').update(seed).digest()
  for (let i = 0; i < size; i += 32) {
    out.set(block.subarray(0, Math.min(32, size - i)), i)
    block = createHash('sha256').update(block).digest()
  }
  return out
}

test('a small file gets the CID `ipfs add --cid-version 1` gives (a raw leaf)', async t => {
  const dir = await tempDir(t)
  const repo = memoryRepo()
  await writeFile(join(dir, 'hello.txt'), 'hello world')
  const added = await addFile(repo.blocks, join(dir, 'hello.txt'))
  // The well-known CIDv1 of "hello world" (no newline) in IPFS.
  assert.equal(added.cid.toString(), 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e')
  assert.equal(added.size, 11)
  await writeFile(join(dir, 'empty'), '')
  assert.equal((await addFile(repo.blocks, join(dir, 'empty'))).cid.toString(), 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')
})

test('a large file is chunked in 256 KiB raw leaves under a DAG-PB root, and reads back whole', async t => {
  const dir = await tempDir(t)
  const repo = memoryRepo()
  const content = bytesOf(1024 * 1024 + 100, 'large')
  await writeFile(join(dir, 'big.bin'), content)
  const added = await addFile(repo.blocks, join(dir, 'big.bin'))
  assert.equal(added.cid.code, codecs.dagPb)
  assert.equal(added.size, content.byteLength)
  const root = dagPb.decode((await repo.blocks.get(added.cid)) as Uint8Array)
  assert.equal(root.Links.length, 5)
  assert.ok(root.Links.every(link => link.Hash.code === codecs.raw))
  assert.deepEqual(root.Links.map(l => l.Tsize), [262144, 262144, 262144, 262144, 100])
  assert.deepEqual(await readBytes(repo.blocks, added.cid), content)
  await assert.rejects(readBytes(repo.blocks, added.cid, { maxBytes: 1000, what: 'argument 0' }), /argument 0 .* over the limit of 1000/)
})

test('raw blocks: the CID of the bytes, limited to 2 MiB', async () => {
  const repo = memoryRepo()
  const bytes = new TextEncoder().encode('hello world')
  const added = await addRawBlock(repo.blocks, bytes)
  assert.equal(added.cid.toString(), 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e')
  assert.deepEqual(await readBytes(repo.blocks, added.cid), bytes)
  await assert.rejects(addRawBlock(repo.blocks, new Uint8Array(2 * 1024 * 1024 + 1), 'huge.bin'), (err: Error) => err.name === 'InputError' && /huge\.bin .* without --raw/.test(err.message))
})

test('bad input: missing files, directories and CIDs give named errors', async t => {
  const dir = await tempDir(t)
  const repo = memoryRepo()
  await assert.rejects(addFile(repo.blocks, join(dir, 'nope')), (err: Error) => err.name === 'InputError' && /no such file/.test(err.message))
  await mkdir(join(dir, 'sub'))
  await assert.rejects(addFile(repo.blocks, join(dir, 'sub')), (err: Error) => err.name === 'InputError' && /directory/.test(err.message))
  const missing = cidOf(new Uint8Array([7]), codecs.raw)
  await assert.rejects(readBytes(repo.blocks, missing, { what: 'module' }), (err: Error) => err.name === 'BlockNotFoundError' && err.message.includes(`module ${missing}`))
})

test('a UnixFS file with a missing leaf names the missing block', async t => {
  const dir = await tempDir(t)
  const repo = memoryRepo()
  await writeFile(join(dir, 'big.bin'), bytesOf(300_000, 'leaf'))
  const added = await addFile(repo.blocks, join(dir, 'big.bin'))
  const root = dagPb.decode((await repo.blocks.get(added.cid)) as Uint8Array)
  const leaf = root.Links[1]?.Hash
  assert.ok(leaf !== undefined)
  // Copy every block but one leaf into a second store.
  const partial = memoryRepo()
  await partial.blocks.put(added.cid, (await repo.blocks.get(added.cid)) as Uint8Array)
  const first = root.Links[0]?.Hash
  if (first !== undefined) await partial.blocks.put(first, (await repo.blocks.get(first)) as Uint8Array)
  await assert.rejects(readBytes(partial.blocks, added.cid), (err: Error) => err.name === 'BlockNotFoundError' && err.message.includes(leaf.toString()))
})
