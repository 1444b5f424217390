import test from 'node:test'
import assert from 'node:assert/strict'
import { chmod, readdir, stat, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { base58btc } from 'multiformats/bases/base58'
import { loadOrCreateIdentity, identityFromSeed, IDENTITY_FILE } from '../../src/auth/identity.js'
import { alice, fixtureSeed } from '../../src/auth/fixtures.js'
import { tempDir } from '../helpers.js'

test('the first load creates identity.key with mode 0600; DID and PeerId come from the same public key', async t => {
  const home = join(await tempDir(t), 'repo')
  const identity = await loadOrCreateIdentity(home)
  assert.equal(identity.created, true)
  assert.equal(identity.keyFile, join(home, IDENTITY_FILE))
  assert.equal((await stat(identity.keyFile)).mode & 0o777, 0o600)
  assert.equal((await stat(home)).mode & 0o777, 0o700)
  assert.match(identity.did, /^did:key:z6Mk/)
  assert.match(identity.peerId.toString(), /^12D3KooW/)
  // did:key = base58btc(0xed 0x01 ‖ public key); the PeerId carries the same 32 bytes.
  const fromDid = base58btc.decode(identity.did.slice('did:key:'.length)).subarray(2)
  assert.deepEqual(fromDid, identity.peerId.publicKey?.raw)
  assert.deepEqual(fromDid, identity.signer.publicKey)
  assert.deepEqual(identity.privateKey.publicKey.raw, identity.signer.publicKey)
  assert.deepEqual(await readdir(home), [IDENTITY_FILE], 'no temporary file is left behind')
})

test('the next load reads the same key back', async t => {
  const home = await tempDir(t)
  const first = await loadOrCreateIdentity(home)
  const second = await loadOrCreateIdentity(home)
  assert.equal(second.created, false)
  assert.equal(second.did, first.did)
  assert.equal(second.peerId.toString(), first.peerId.toString())
  const signature = second.signer.sign(new Uint8Array([1, 2, 3]))
  assert.equal(first.signer.verify(new Uint8Array([1, 2, 3]), signature), true)
})

test('a key file readable by group or others (mode 0644) is refused with a named error that says how to fix it', async t => {
  const home = await tempDir(t)
  const { keyFile } = await loadOrCreateIdentity(home)
  await chmod(keyFile, 0o644)
  await assert.rejects(loadOrCreateIdentity(home), (err: Error & { path?: string }) => {
    assert.equal(err.name, 'InsecureKeyFile')
    assert.equal(err.path, keyFile)
    assert.match(err.message, /mode 0644/)
    assert.ok(err.message.includes(`chmod 600 ${keyFile}`))
    return true
  })
  await chmod(keyFile, 0o600)
  assert.equal((await loadOrCreateIdentity(home)).created, false)
})

test('a key file that is not an ed25519 libp2p key is InvalidKeyFile, and is not overwritten', async t => {
  const home = await tempDir(t)
  await mkdir(home, { recursive: true })
  await writeFile(join(home, IDENTITY_FILE), 'not a key', { mode: 0o600 })
  await assert.rejects(loadOrCreateIdentity(home), { name: 'InvalidKeyFile' })
  assert.equal((await stat(join(home, IDENTITY_FILE))).size, 'not a key'.length)
})

test('nodes starting at once end up with one key', async t => {
  const home = await tempDir(t)
  const identities = await Promise.all([1, 2, 3, 4].map(async () => await loadOrCreateIdentity(home)))
  assert.equal(new Set(identities.map(identity => identity.did)).size, 1)
  assert.equal(identities.filter(identity => identity.created).length, 1)
  assert.deepEqual(await readdir(home), [IDENTITY_FILE])
})

test('a fixture seed gives the fixture\'s DID and a stable PeerId', async () => {
  const identity = await identityFromSeed(fixtureSeed('alice'))
  assert.equal(identity.did, alice.did())
  assert.equal(identity.peerId.toString(), '12D3KooWFVFiLve8MC6jwVgGBePaGhyCAifzJBnEFv1DzFVkvtHG')
})
