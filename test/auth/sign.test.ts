import test from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { Signature } from '@ucanto/core'
import { encodeBlock } from '../../src/model/block.js'
import { receiptBlock } from '../../src/model/receipt.js'
import { alice, carol, dave, mallory } from '../../src/auth/fixtures.js'
import { signInvocation, signReceipt, verifyReceipt, receiptPayload } from '../../src/auth/sign.js'
import { MemoryRevocationStore } from '../../src/auth/revocations.js'
import { scenario, receiptFor, NOW, HOUR } from './scenario.js'
import type { Receipt } from '../../src/model/types.js'

test('signReceipt sets iss and sig; the signature covers the receipt without sig', async () => {
  const s = await scenario()
  const signed = await signReceipt(receiptFor(s.signed.invocation.cid), carol)
  assert.equal(signed.value.iss, carol.did())
  assert.ok(signed.value.sig instanceof Uint8Array)
  assert.equal(Signature.decode(signed.value.sig).code, Signature.EdDSA)
  assert.equal(carol.verify(receiptPayload(signed.value as Receipt & { iss: string }), Signature.decode(signed.value.sig) as never), true)
  // The block is canonical: decoding and re-encoding gives the same CID.
  assert.equal(encodeBlock(dagCbor.decode(signed.bytes)).cid.toString(), signed.cid.toString())
})

test('verifyReceipt: a receipt and its invocation\'s whole chain verify offline', async () => {
  const s = await scenario()
  const signed = await signReceipt(receiptFor(s.signed.invocation.cid), carol)
  const alone = await verifyReceipt(signed.bytes)
  assert.equal(alone.ok?.issuer, carol.did())
  assert.equal(alone.ok?.invocation, undefined, 'without blocks only the signature is checked')
  const full = await verifyReceipt(signed.bytes, { blocks: s.repo.blocks, now: NOW, cache: s.cache })
  assert.equal(full.error, undefined, full.error?.message)
  assert.equal(full.ok?.cid.toString(), signed.cid.toString())
  assert.equal(full.ok?.invocation?.subject, alice.did())
  assert.equal(full.ok?.invocation?.chain.length, 2)
})

test('WrongIssuer: a receipt signed by someone else than the executor the chain authorises', async () => {
  const s = await scenario()
  const forged = await signReceipt(receiptFor(s.signed.invocation.cid, { ok: 666 }), mallory)
  assert.ok((await verifyReceipt(forged.bytes)).ok, 'the signature itself is mallory\'s and valid')
  const result = await verifyReceipt(forged.bytes, { blocks: s.repo.blocks, now: NOW, cache: s.cache })
  assert.equal(result.error?.name, 'WrongIssuer')
  assert.match(result.error?.message ?? '', /authorises did:key:z6Mkqctbb2/)
  assert.equal((await verifyReceipt(forged.bytes, { issuer: carol.did() })).error?.name, 'WrongIssuer')
})

test('InvalidSignature: a receipt whose result was changed after signing', async () => {
  const s = await scenario()
  const signed = await signReceipt(receiptFor(s.signed.invocation.cid), carol)
  const tampered = { ...signed.value, out: { ok: 4 } }
  const result = await verifyReceipt(tampered)
  assert.equal(result.error?.name, 'InvalidSignature')
  // An added field is not covered by the old signature either.
  assert.equal((await verifyReceipt({ ...signed.value, meta: { ...signed.value.meta, paid: 1000 } })).error?.name, 'InvalidSignature')
})

test('InvalidSignature: a flipped bit in the receipt\'s signature', async () => {
  const s = await scenario()
  const signed = await signReceipt(receiptFor(s.signed.invocation.cid), carol)
  const sig = Uint8Array.from(signed.value.sig as Uint8Array)
  sig[10] = (sig[10] as number) ^ 0x04
  assert.equal((await verifyReceipt({ ...signed.value, sig })).error?.name, 'InvalidSignature')
})

test('UnknownSignatureAlgorithm, MissingSignature, MalformedReceipt', async () => {
  const s = await scenario()
  const signed = await signReceipt(receiptFor(s.signed.invocation.cid), carol)
  const bls = Signature.create(Signature.BLS12381G2, new Uint8Array(96))
  assert.equal((await verifyReceipt({ ...signed.value, sig: bls })).error?.name, 'UnknownSignatureAlgorithm')
  assert.equal((await verifyReceipt(receiptBlock({ ran: s.signed.invocation.cid, out: { ok: 1 } }).bytes)).error?.name, 'MissingSignature')
  assert.equal((await verifyReceipt(new Uint8Array([0xff, 0x00, 0x13]))).error?.name, 'MalformedReceipt')
  assert.equal((await verifyReceipt(dagCbor.encode({ hello: 'world' }))).error?.name, 'MalformedReceipt')
  assert.equal((await verifyReceipt({ ...signed, bytes: signed.bytes.subarray(1) })).error?.name, 'MalformedReceipt', 'bytes that do not match the block CID')
})

test('a secp256k1 (Homestar-style) executor\'s receipt verifies with its chain', async () => {
  const s = await scenario()
  const signed = await signInvocation(s.task, dave)
  await s.store(signed)
  const receipt = await signReceipt(receiptFor(signed.invocation.cid), dave)
  assert.equal(Signature.decode(receipt.value.sig as Uint8Array).code, 0xd0e7)
  const result = await verifyReceipt(receipt.bytes, { blocks: s.repo.blocks, now: NOW, cache: s.cache })
  assert.equal(result.error, undefined, result.error?.message)
  assert.equal(result.ok?.issuer, dave.did())
})

test('the chain is checked at the time asked for, honours revocations, and can be required', async () => {
  const s = await scenario()
  const signed = await signReceipt(receiptFor(s.signed.invocation.cid), carol)
  assert.equal((await verifyReceipt(signed.bytes, { blocks: s.repo.blocks, now: NOW + 2 * HOUR, cache: s.cache })).error?.name, 'Expired')
  const revocations = new MemoryRevocationStore()
  await revocations.revoke(s.award.cid as never)
  assert.equal((await verifyReceipt(signed.bytes, { blocks: s.repo.blocks, now: NOW, revocations, cache: s.cache })).error?.name, 'Revoked')
  const required = await verifyReceipt(signed.bytes, { requireInvocation: true })
  assert.equal(required.error?.name, 'MissingBlock')
})
