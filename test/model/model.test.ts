import test from 'node:test'
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import { instructionCid, instructionMatches, parseResource, WASM_RUN } from '../../src/model/instruction.js'
import { outcomeDigest, receiptBlock, invocationBlock } from '../../src/model/receipt.js'
import { decodeBlock, hashes, cidOf, codecs } from '../../src/model/block.js'
import { toDagJson } from '../../src/model/dag-json.js'
import type { Instruction, Receipt } from '../../src/model/types.js'

// Test vectors from Homestar's own test fixtures (test-workflow-add-one.json and
// test-workflow-image-pipeline.json): the second task of each awaits the first by
// this sha3-256 InID, computed by Homestar.
const homestarAddOne: Instruction = {
  rsc: 'ipfs://bafkreidgxzucs63ums2yhzs4unin5a3vjemapc373rypon63kdp5xoqlzm',
  op: 'wasm/run',
  input: { args: [1], func: 'add_one' },
  nnc: ''
}
const homestarCrop: Instruction = {
  rsc: 'ipfs://bafybeichafzlolnoamugvfuyynjnj2gse7avstiqkeiuwuv2gyztap4qm4',
  op: 'wasm/run',
  input: { args: [CID.parse('bafybeiejevluvtoevgk66plh5t6xiy3ikyuuxg3vgofuvpeckb6eadresm'), 150, 350, 500, 500], func: 'crop' },
  nnc: ''
}

test('instruction CIDs match the sha3-256 InIDs Homestar computes', () => {
  assert.equal(instructionCid(homestarAddOne, hashes.sha3_256).toString(), 'bafyrmigpbec3fpc64hxkehxkszctb5f5roylk5ej2t2qgfylf64gpdn54m')
  assert.equal(instructionCid(homestarCrop, hashes.sha3_256).toString(), 'bafyrmigev36skyfjnslfswcez24rnrorzeaxkrpb3wci2arfkly5zcrepy')
})

test('the InID is CIDv1 dag-cbor sha2-256 and ignores key order and extra fields', () => {
  const cid = instructionCid(homestarAddOne)
  assert.equal(cid.version, 1)
  assert.equal(cid.code, codecs.dagCbor)
  assert.equal(cid.multihash.code, hashes.sha2_256)
  const reordered = { nnc: '', input: { func: 'add_one', args: [1] }, op: 'wasm/run', rsc: homestarAddOne.rsc }
  assert.ok(instructionCid(reordered).equals(cid))
  // meta or anything else beside the four instruction fields is not part of the InID
  assert.ok(instructionCid({ ...homestarAddOne, meta: { fuel: 5 } } as unknown as Instruction).equals(cid))
  assert.ok(!instructionCid({ ...homestarAddOne, nnc: 'x' }).equals(cid))
  assert.ok(!instructionCid({ ...homestarAddOne, input: { args: [2], func: 'add_one' } }).equals(cid))
})

test('instructionMatches re-hashes with the link\'s own hash function', () => {
  assert.ok(instructionMatches(CID.parse('bafyrmigpbec3fpc64hxkehxkszctb5f5roylk5ej2t2qgfylf64gpdn54m'), homestarAddOne))
  assert.ok(instructionMatches(instructionCid(homestarAddOne), homestarAddOne))
  assert.ok(!instructionMatches(instructionCid(homestarCrop), homestarAddOne))
  assert.ok(!instructionMatches(cidOf(new Uint8Array([1]), codecs.raw), homestarAddOne))
})

test('parseResource accepts ipfs://CID, /ipfs/CID and a bare CID, and nothing else', () => {
  const cid = 'bafkreidgxzucs63ums2yhzs4unin5a3vjemapc373rypon63kdp5xoqlzm'
  for (const rsc of [`ipfs://${cid}`, `/ipfs/${cid}`, cid]) assert.equal(parseResource(rsc)?.toString(), cid)
  for (const rsc of ['', 'ipfs://', 'https://example.com/x.wasm', `/ipfs/${cid}/path`, 'ipfs://notacid']) assert.equal(parseResource(rsc), null, rsc)
})

test('outcome digests depend on InID, out and fuel only', () => {
  const inid = instructionCid(homestarAddOne)
  const a = outcomeDigest(inid, { ok: 2 }, 10)
  assert.ok(a.equals(outcomeDigest(inid, { ok: 2 }, 10)))
  assert.ok(!a.equals(outcomeDigest(inid, { ok: 3 }, 10)))
  assert.ok(!a.equals(outcomeDigest(inid, { ok: 2 }, 11)))
  assert.ok(!a.equals(outcomeDigest(instructionCid(homestarCrop), { ok: 2 }, 10)))
  assert.ok(!a.equals(outcomeDigest(inid, { error: { name: 'Trap', message: 'x' } }, 10)))
})

test('receipts and invocations round-trip through DAG-CBOR', () => {
  const invocation = invocationBlock({ run: instructionCid(homestarAddOne), meta: { time: 5 }, prf: [] })
  const receipt = receiptBlock({ ran: invocation.cid, out: { ok: 2 }, meta: { time: 1.5 } })
  const decoded = decodeBlock<Receipt>(receipt.bytes)
  assert.ok(decoded.ran.equals(invocation.cid))
  assert.deepEqual(decoded.out, { ok: 2 })
  assert.deepEqual(decoded.fx, { fork: [] })
  assert.deepEqual(decoded.prf, [])
  assert.equal(decoded.meta.time, 1.5)
  assert.equal(WASM_RUN, 'wasm/run')
})

test('DAG-JSON rendering keeps links, bytes and every digit of big integers', () => {
  const cid = CID.parse('bafkreidgxzucs63ums2yhzs4unin5a3vjemapc373rypon63kdp5xoqlzm')
  const text = toDagJson({ big: 18446744073709551615n, link: cid, bytes: new Uint8Array([1, 2, 3]), list: [], map: {}, s: 'a,b:{c}"' })
  assert.match(text, /"big": 18446744073709551615/)
  assert.match(text, /"link": \{\n\s+"\/": "bafkreidgx/)
  assert.match(text, /"bytes": \{\n\s+"\/": \{\n\s+"bytes": "AQID"/)
  assert.match(text, /"list": \[\]/)
  assert.match(text, /"s": "a,b:\{c\}\\""/)
  assert.deepEqual(JSON.parse(text).map, {})
  assert.equal(toDagJson({ a: [1, 2] }, 0), '{"a":[1,2]}')
})
