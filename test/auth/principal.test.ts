import test from 'node:test'
import assert from 'node:assert/strict'
import { ed25519, RSA } from '@ucanto/principal'
import { Signature } from '@ucanto/core'
import { Ed25519Signer, Ed25519Verifier } from '../../src/auth/ed25519.js'
import { Secp256k1Signer, Secp256k1Verifier } from '../../src/auth/secp256k1.js'
import { parsePrincipal, verifySignature, decodeSignature } from '../../src/auth/principal.js'
import { alice, bob, dave, fixtureSeed } from '../../src/auth/fixtures.js'

const payload = new TextEncoder().encode('the same bytes for everyone')

test('fixtures are ucanto\'s: same DIDs as @ucanto/core\'s test fixtures', () => {
  assert.equal(alice.did(), 'did:key:z6Mkk89bC3JrVqKie71YEcc5M1SMVxuCgNx6zLZ8SYJsxALi')
  assert.equal(bob.did(), 'did:key:z6MkffDZCkCTWreg8868fG1FGFogcJj5X6PY93pPcWDn9bob')
  assert.match(dave.did(), /^did:key:zQ3s/)
})

test('node:crypto ed25519 signs byte-for-byte like ucanto\'s pure-JS signer, and each verifies the other', async () => {
  const ours = Ed25519Signer.fromSeed(fixtureSeed('alice'))
  const theirs = await ed25519.derive(fixtureSeed('alice'))
  assert.equal(ours.did(), theirs.did())
  const mine = ours.sign(payload)
  const reference = await theirs.sign(payload)
  assert.deepEqual(Uint8Array.from(mine), Uint8Array.from(reference))
  assert.equal(mine.code, Signature.EdDSA)
  assert.equal(await theirs.verifier.verify(payload, mine as never), true)
  assert.equal(ours.verifier.verify(payload, reference as never), true)
  // ucanto can import our archive bytes and we can import its.
  assert.equal(ed25519.decode(ours.encode()).did(), ours.did())
  assert.equal(Ed25519Signer.decode(theirs.encode()).did(), ours.did())
})

test('an ed25519 verifier rejects another payload and another key', () => {
  const signature = alice.sign(payload)
  assert.equal(alice.verifier.verify(new TextEncoder().encode('other bytes'), signature), false)
  assert.equal(bob.verifier.verify(payload, signature), false)
  assert.equal(Ed25519Verifier.parse(alice.did()).verify(payload, signature), true)
})

test('secp256k1 did:key signatures verify (ES256K through @noble/curves)', () => {
  const signature = dave.sign(payload)
  assert.equal(signature.code, 0xd0e7)
  assert.equal(signature.raw.length, 64)
  const verifier = parsePrincipal(dave.did())
  assert.ok(verifier instanceof Secp256k1Verifier)
  assert.deepEqual(verifySignature(dave.did(), payload, signature, { what: 'a test' }), { ok: dave.did() })
  const other = Secp256k1Signer.generate()
  assert.equal(verifySignature(other.did(), payload, signature, { what: 'a test' }).error?.name, 'InvalidSignature')
})

test('a signature with an algorithm this node does not verify is UnknownSignatureAlgorithm', () => {
  const raw = new Uint8Array(256).fill(7)
  const rs256 = Signature.create(Signature.RS256, raw)
  const result = verifySignature(alice.did(), payload, rs256, { what: 'the payload' })
  assert.equal(result.error?.name, 'UnknownSignatureAlgorithm')
  assert.match(result.error?.message ?? '', /RS256/)
})

test('an RSA or did:web principal is UnknownSignatureAlgorithm; a non-varsig signature is InvalidSignature', async () => {
  const rsa = await RSA.generate({ size: 1024 })
  assert.throws(() => parsePrincipal(rsa.did()), { name: 'UnknownSignatureAlgorithm', message: /RSA keys are not supported/ })
  assert.throws(() => parsePrincipal('did:web:example.com'), { name: 'UnknownSignatureAlgorithm' })
  assert.equal(verifySignature(alice.did(), payload, new Uint8Array([0xed, 0xa1, 0x03, 1, 2]), { what: 'x' }).error?.name, 'InvalidSignature')
  assert.equal(decodeSignature(new Uint8Array([0xff])), undefined)
})

test('an EdDSA signature presented for a secp256k1 key is InvalidSignature, not accepted', () => {
  const result = verifySignature(dave.did(), payload, alice.sign(payload), { what: 'the payload' })
  assert.equal(result.error?.name, 'InvalidSignature')
  assert.match(result.error?.message ?? '', /ES256K key/)
})
