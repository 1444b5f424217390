import test from 'node:test'
import assert from 'node:assert/strict'
import { archiveDelegation, extractDelegation, delegateAward, delegateBudget, delegateWasmRun, delegationBlocks, loadDelegation, wasmRunGrants } from '../../src/auth/delegation.js'
import { alice, bob, carol, mallory } from '../../src/auth/fixtures.js'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { NOW, HOUR, moduleA, moduleB } from './scenario.js'

async function chain () {
  const budget = await delegateBudget({ requester: alice, scheduler: bob.did(), caveats: { maxFuel: 1000, maxPrice: 50, modules: [moduleA] }, expiration: NOW + HOUR })
  const award = await delegateAward({ scheduler: bob, executor: carol.did(), budget, caveats: { maxFuel: 100, maxPrice: 5, modules: [moduleA] } })
  return { budget, award }
}

test('fixed identities and a fixed clock give the same delegation CIDs on every run', async () => {
  const { budget, award } = await chain()
  const again = await chain()
  assert.equal(budget.cid.toString(), again.budget.cid.toString())
  assert.equal(award.cid.toString(), again.award.cid.toString())
  assert.equal(award.issuer.did(), bob.did())
  assert.equal(award.audience.did(), carol.did())
  assert.equal(award.expiration, NOW + HOUR, 'the award expires with its budget')
  const grants = wasmRunGrants(award).ok?.map(grant => ({ ...grant, modules: grant.modules?.map(String) }))
  assert.deepEqual(grants, [{ with: alice.did(), maxFuel: 100, maxPrice: 5, modules: [moduleA.toString()] }])
})

test('a delegation survives a CAR round trip with its proof attached', async () => {
  const { budget, award } = await chain()
  const car = await archiveDelegation(award)
  const result = extractDelegation(car)
  assert.equal(result.error, undefined)
  assert.equal(result.ok?.cid.toString(), award.cid.toString())
  const [proof] = result.ok?.proofs ?? []
  assert.equal((proof as { cid: unknown }).cid?.toString(), budget.cid.toString())
})

test('a truncated CAR is MalformedDelegation', async () => {
  const car = await archiveDelegation((await chain()).award)
  for (const cut of [car.length - 1, Math.floor(car.length / 2), 3]) {
    assert.equal(extractDelegation(car.subarray(0, cut)).error?.name, 'MalformedDelegation', `cut at ${cut}`)
  }
  assert.equal(extractDelegation(new TextEncoder().encode('hello')).error?.name, 'MalformedDelegation')
})

test('a CAR whose delegation bytes were tampered with is MalformedDelegation (bytes no longer match the CID)', async () => {
  const { award } = await chain()
  const car = await archiveDelegation(award)
  // Find the award's bytes inside the CAR and change one byte of its payload.
  const at = Buffer.from(car).indexOf(Buffer.from(award.bytes))
  assert.ok(at > 0)
  const tampered = Uint8Array.from(car)
  tampered[at + 40] = (tampered[at + 40] as number) ^ 0x01
  const result = extractDelegation(tampered)
  assert.equal(result.error?.name, 'MalformedDelegation')
  assert.match(result.error?.message ?? '', /does not match its CID/)
})

test('helpers refuse to sign an escalation or a misaligned chain', async () => {
  const { budget } = await chain()
  await assert.rejects(delegateAward({ scheduler: bob, executor: carol.did(), budget, caveats: { maxFuel: 1001, modules: [moduleA] } }), { name: 'EscalatedCapability', message: /at most 1000/ })
  await assert.rejects(delegateAward({ scheduler: bob, executor: carol.did(), budget, caveats: { maxFuel: 10, modules: [moduleB] } }), { name: 'EscalatedCapability', message: /module/ })
  await assert.rejects(delegateAward({ scheduler: mallory, executor: carol.did(), budget, caveats: { maxFuel: 10 } }), { name: 'BrokenChain' })
  await assert.rejects(delegateWasmRun({ issuer: bob, audience: carol.did(), caveats: { maxFuel: -5 }, expiration: NOW }), { name: 'MalformedDelegation' })
})

test('delegations load back from a block store by CID, bytes checked', async () => {
  const { award } = await chain()
  const repo = memoryRepo()
  for (const block of delegationBlocks(award)) await repo.blocks.put(block.cid, block.bytes)
  const loaded = await loadDelegation(award.cid as never, repo.blocks)
  assert.equal(loaded.ok?.cid.toString(), award.cid.toString())
  const missing = await loadDelegation(award.cid as never, memoryRepo().blocks)
  assert.equal(missing.error?.name, 'BrokenChain')
  const corrupt = memoryRepo()
  await corrupt.blocks.put(award.cid as never, award.bytes.subarray(1))
  assert.equal((await loadDelegation(award.cid as never, corrupt.blocks)).error?.name, 'MalformedDelegation')
})
