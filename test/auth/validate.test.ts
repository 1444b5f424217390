import test from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { delegate, Signature } from '@ucanto/core'
import { RSA } from '@ucanto/principal'
import { CID } from 'multiformats/cid'
import { cidOf, codecs, encodeBlock } from '../../src/model/block.js'
import { alice, bob, carol, dave, mallory } from '../../src/auth/fixtures.js'
import { delegateAward, delegateBudget, delegationBlocks } from '../../src/auth/delegation.js'
import { signInvocation, signInvocations } from '../../src/auth/sign.js'
import { validateInvocation, DelegationCache } from '../../src/auth/validate.js'
import { MemoryRevocationStore } from '../../src/auth/revocations.js'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { scenario, NOW, HOUR, moduleA, moduleB } from './scenario.js'
import type { AuthResult } from '../../src/auth/types.js'
import type { Invocation } from '../../src/model/types.js'
import type { Authorization } from '../../src/auth/types.js'

/** Asserts a rejection with this name (and message pattern), and returns the error for more checks. */
function rejected<T> (result: AuthResult<T>, name: string, message?: RegExp): NonNullable<AuthResult<T>['error']> {
  assert.equal(result.ok, undefined, `expected ${name}, got ok`)
  assert.equal(result.error?.name, name, result.error?.message)
  if (message !== undefined) assert.match(result.error?.message ?? '', message)
  return result.error as NonNullable<AuthResult<T>['error']>
}

test('a valid chain alice → bob → carol lets carol run the task', async () => {
  const s = await scenario()
  const result = await validateInvocation(s.signed.invocation, { executor: carol.did(), task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache })
  assert.equal(result.error, undefined)
  assert.equal(result.ok?.invoker, carol.did())
  assert.equal(result.ok?.subject, alice.did())
  assert.deepEqual(result.ok?.chain.map(String), [s.award.cid.toString(), s.budget.cid.toString()])
  assert.equal(result.ok?.grant.maxFuel, 10_000)
})

test('after the first task of a chain, proofs come from the cache (no proof block is read again)', async () => {
  const s = await scenario()
  assert.ok((await validateInvocation(s.signed.invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache })).ok)
  assert.equal(s.cache.size, 2)
  // A second task, validated against a store that holds only its authorization: the chain is known by CID.
  const next = await signInvocation(await s.taskNumbered(1), carol, [s.award])
  const bare = memoryRepo()
  await bare.blocks.put(next.authorization.cid, next.authorization.bytes)
  const result = await validateInvocation(next.invocation, { executor: carol, task: s.terms, blocks: bare.blocks, now: NOW, cache: s.cache })
  assert.equal(result.error, undefined)
  // With a cold cache the same store is not enough: the proofs are missing.
  rejected(await validateInvocation(next.invocation, { executor: carol, task: s.terms, blocks: bare.blocks, now: NOW, cache: new DelegationCache() }), 'BrokenChain', /not available/)
})

test('Expired: an expired award is named', async () => {
  const s = await scenario({ award: { expiration: NOW - 1 } })
  const error = rejected(await validateInvocation(s.signed.invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'Expired', /expired at/)
  assert.equal(error.details.delegation, s.award.cid.toString())
})

test('Expired: a child that outlives its proof is bounded by the proof\'s expiry', async () => {
  const s = await scenario({ budget: { expiration: NOW + 10 } })
  // ucanto lets bob sign an award that outlives the budget; validation still applies the budget's exp.
  const award = await delegate({ issuer: bob as never, audience: carol as never, capabilities: [{ can: 'wasm/run', with: alice.did(), nb: { maxFuel: 100, maxPrice: 10, modules: [moduleA] } }], proofs: [s.budget], expiration: NOW + HOUR })
  const signed = await signInvocation(s.task, carol, [award])
  await s.store(signed)
  assert.ok((await validateInvocation(signed.invocation, { executor: carol, task: { module: moduleA, fuel: 50 }, blocks: s.repo.blocks, now: NOW, cache: s.cache })).ok)
  const error = rejected(await validateInvocation(signed.invocation, { executor: carol, task: { module: moduleA, fuel: 50 }, blocks: s.repo.blocks, now: NOW + 11, cache: s.cache }), 'Expired')
  assert.equal(error.details.delegation, s.budget.cid.toString())
})

test('NotValidBefore: an award that is not valid yet, and valid once its time comes', async () => {
  const s = await scenario({ award: { notBefore: NOW + 60 } })
  const options = { executor: carol, task: s.terms, blocks: s.repo.blocks, cache: s.cache }
  rejected(await validateInvocation(s.signed.invocation, { ...options, now: NOW }), 'NotValidBefore', /not valid before/)
  assert.ok((await validateInvocation(s.signed.invocation, { ...options, now: NOW + 61 })).ok)
})

test('WrongAudience: mallory cannot run a task awarded to carol', async () => {
  const s = await scenario()
  const error = rejected(await validateInvocation(s.signed.invocation, { executor: mallory, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'WrongAudience')
  assert.equal(error.details.audience, carol.did())
})

test('InvalidSignature: mallory signs an invocation claiming carol\'s award', async () => {
  const s = await scenario({ invoker: mallory })
  rejected(await validateInvocation(s.signed.invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'InvalidSignature', /does not verify/)
})

test('BrokenChain: the budget the award cites is not available', async () => {
  const s = await scenario()
  const repo = memoryRepo()
  // Only the award's own block, the invocation's authorization: the budget is nowhere.
  await repo.blocks.put(s.award.cid as never, s.award.bytes)
  await repo.blocks.put(s.signed.authorization.cid, s.signed.authorization.bytes)
  const error = rejected(await validateInvocation(s.signed.invocation, { executor: carol, task: s.terms, blocks: repo.blocks, now: NOW, cache: s.cache }), 'BrokenChain', /not available/)
  assert.equal(error.details.proof, s.budget.cid.toString())
})

test('BrokenChain: mallory re-delegates bob\'s budget to carol (issuer is not the proof\'s audience)', async () => {
  const s = await scenario()
  const forged = await delegate({ issuer: mallory as never, audience: carol as never, capabilities: [{ can: 'wasm/run', with: alice.did(), nb: { maxFuel: 100, maxPrice: 10, modules: [moduleA] } }], proofs: [s.budget], expiration: NOW + HOUR })
  const signed = await signInvocation(s.task, carol, [forged])
  await s.store(signed)
  rejected(await validateInvocation(signed.invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'BrokenChain', /addressed to .* not to its issuer/)
})

test('BrokenChain: bob grants alice\'s resource with no proof (the root does not own it)', async () => {
  const s = await scenario()
  const rootless = await delegate({ issuer: bob as never, audience: carol as never, capabilities: [{ can: 'wasm/run', with: alice.did(), nb: { maxFuel: 100 } }], expiration: NOW + HOUR })
  const signed = await signInvocation(s.task, carol, [rootless])
  await s.store(signed)
  rejected(await validateInvocation(signed.invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'BrokenChain', /does not own/)
})

test('EscalatedCapability: an award with more fuel than the budget is rejected, naming the caveat', async () => {
  const s = await scenario()
  const escalated = await delegate({ issuer: bob as never, audience: carol as never, capabilities: [{ can: 'wasm/run', with: alice.did(), nb: { maxFuel: 2_000_000, maxPrice: 10, modules: [moduleA] } }], proofs: [s.budget], expiration: NOW + HOUR })
  const signed = await signInvocation(s.task, carol, [escalated])
  await s.store(signed)
  const error = rejected(await validateInvocation(signed.invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'EscalatedCapability', /at most 1000000/)
  assert.equal(error.details.caveat, 'maxFuel')
})

test('EscalatedCapability: an award for a module outside the budget\'s list, or for any module', async () => {
  const s = await scenario()
  for (const nb of [{ maxFuel: 100, maxPrice: 10, modules: [moduleB] }, { maxFuel: 100, maxPrice: 10 }]) {
    const escalated = await delegate({ issuer: bob as never, audience: carol as never, capabilities: [{ can: 'wasm/run', with: alice.did(), nb }], proofs: [s.budget], expiration: NOW + HOUR })
    const signed = await signInvocation(s.task, carol, [escalated])
    await s.store(signed)
    const error = rejected(await validateInvocation(signed.invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'EscalatedCapability')
    assert.equal(error.details.caveat, 'modules')
  }
})

test('CaveatExceeded: a task asking for more fuel than the award names maxFuel', async () => {
  const s = await scenario({ meta: { fuel: 50_000, price: 5 } })
  const error = rejected(await validateInvocation(s.signed.invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'CaveatExceeded', /maxFuel exceeded/)
  assert.equal(error.details.caveat, 'maxFuel')
  assert.equal(error.details.limit, 10_000)
})

test('CaveatExceeded: a price above the award names maxPrice', async () => {
  const s = await scenario()
  const error = rejected(await validateInvocation(s.signed.invocation, { executor: carol, task: { ...s.terms, price: 11 }, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'CaveatExceeded')
  assert.equal(error.details.caveat, 'maxPrice')
})

test('CaveatExceeded: a task committing more than the award\'s maxSpend (fuel limit × price) names maxSpend', async () => {
  // 5,000 fuel at 5 credits per million fuel commits 1 credit (rounded up): allowed by maxSpend 1, not by 0.
  const fits = await scenario({ award: { maxSpend: 1 } })
  assert.equal((await validateInvocation(fits.signed.invocation, { executor: carol, task: fits.terms, blocks: fits.repo.blocks, now: NOW, cache: fits.cache })).error, undefined)
  const s = await scenario({ award: { maxSpend: 0 } })
  const error = rejected(await validateInvocation(s.signed.invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'CaveatExceeded', /commits 1 credits but the proof allows at most 0/)
  assert.equal(error.details.caveat, 'maxSpend')
  // Free tasks commit nothing: any maxSpend allows them.
  assert.equal((await validateInvocation(s.signed.invocation, { executor: carol, task: { ...s.terms, price: 0 }, blocks: s.repo.blocks, now: NOW, cache: s.cache })).error, undefined)
})

test('CaveatExceeded: a module not allowed names modules', async () => {
  const s = await scenario({ module: moduleB })
  const error = rejected(await validateInvocation(s.signed.invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'CaveatExceeded', new RegExp(moduleB.toString()))
  assert.equal(error.details.caveat, 'modules')
})

test('CaveatExceeded: unbounded fuel, and Homestar\'s u64::MAX fuel, exceed a fuel limit', async () => {
  const s = await scenario({ meta: { price: 1 } })
  assert.equal(rejected(await validateInvocation(s.signed.invocation, { executor: carol, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'CaveatExceeded').details.caveat, 'maxFuel')
  const huge = rejected(await validateInvocation(s.signed.invocation, { executor: carol, task: { module: moduleA, fuel: 2n ** 64n - 1n }, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'CaveatExceeded')
  assert.equal(huge.details.caveat, 'maxFuel')
  // The error travels in an error receipt: it must encode as DAG-CBOR and JSON, with its name.
  const value = dagCbor.decode<Record<string, unknown>>(dagCbor.encode(huge.toValue()))
  assert.deepEqual({ name: value.name, caveat: value.caveat, requested: value.requested, limit: value.limit }, { name: 'CaveatExceeded', caveat: 'maxFuel', requested: '18446744073709551615', limit: 10_000 })
  assert.deepEqual(JSON.parse(JSON.stringify(huge)), { ...value, limit: 10_000 })
})

test('Revoked: a revoked budget stops the chain, even after the chain was cached', async () => {
  const s = await scenario()
  const revocations = new MemoryRevocationStore()
  const options = { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache, revocations }
  assert.ok((await validateInvocation(s.signed.invocation, options)).ok)
  await revocations.revoke(s.budget.cid as never, { reason: 'test' })
  const error = rejected(await validateInvocation(s.signed.invocation, options), 'Revoked', /revoked/)
  assert.equal(error.details.delegation, s.budget.cid.toString())
})

test('MalformedDelegation: tampered delegation bytes stored under the original CID', async () => {
  const s = await scenario()
  const repo = memoryRepo()
  const tampered = Uint8Array.from(s.award.bytes)
  tampered[30] = (tampered[30] as number) ^ 0x20
  await repo.blocks.put(s.award.cid as never, tampered)
  for (const block of delegationBlocks(s.budget)) await repo.blocks.put(block.cid, block.bytes)
  await repo.blocks.put(s.signed.authorization.cid, s.signed.authorization.bytes)
  rejected(await validateInvocation(s.signed.invocation, { executor: carol, task: s.terms, blocks: repo.blocks, now: NOW, cache: s.cache }), 'MalformedDelegation', /do not match its CID/)
})

test('InvalidSignature: a delegation whose payload was changed and re-hashed keeps a signature that no longer verifies', async () => {
  const s = await scenario()
  const model = dagCbor.decode<{ att: Array<{ nb: { maxFuel: number } }> }>(s.award.bytes)
  const first = model.att[0]
  assert.ok(first !== undefined)
  first.nb.maxFuel = 9_999
  const bytes = dagCbor.encode(model)
  const cid = cidOf(bytes, codecs.dagCbor)
  await s.repo.blocks.put(cid, bytes)
  const signed = await signInvocation({ ...s.task, prf: [cid] }, carol)
  await s.store(signed)
  const error = rejected(await validateInvocation(signed.invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'InvalidSignature', /does not verify/)
  assert.equal(error.details.delegation, cid.toString())
})

/** Re-signs an invocation's task with a hand-made authorization `s`. */
async function withSignature (s: Awaited<ReturnType<typeof scenario>>, signature: Uint8Array): Promise<{ invocation: ReturnType<typeof encodeBlock<Invocation>> }> {
  const taskCid = encodeBlock(s.signed.invocation.value.task).cid
  const authorization = encodeBlock<Authorization>({ scope: [taskCid], s: signature })
  await s.repo.blocks.put(authorization.cid, authorization.bytes)
  return { invocation: encodeBlock<Invocation>({ task: s.signed.invocation.value.task, auth: authorization.cid }) }
}

test('InvalidSignature: a tampered invocation signature', async () => {
  const s = await scenario()
  const signature = Uint8Array.from(s.signed.authorization.value.s)
  signature[signature.length - 1] = (signature[signature.length - 1] as number) ^ 0x01
  const { invocation } = await withSignature(s, signature)
  rejected(await validateInvocation(invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'InvalidSignature')
})

test('UnknownSignatureAlgorithm: an invocation signed with RS256', async () => {
  const s = await scenario()
  const { invocation } = await withSignature(s, Signature.create(Signature.RS256, new Uint8Array(256).fill(1)))
  rejected(await validateInvocation(invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'UnknownSignatureAlgorithm', /RS256/)
})

test('UnknownSignatureAlgorithm: a budget issued by an RSA requester', async () => {
  const s = await scenario()
  const rsa = await RSA.generate({ size: 1024 })
  const budget = await delegateBudget({ requester: rsa as never, scheduler: bob.did(), caveats: { maxFuel: 1000 }, expiration: NOW + HOUR })
  const award = await delegateAward({ scheduler: bob, executor: carol.did(), budget, caveats: { maxFuel: 1000 } })
  const signed = await signInvocation(s.task, carol, [award])
  await s.store(signed)
  const error = rejected(await validateInvocation(signed.invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'UnknownSignatureAlgorithm')
  assert.equal(error.details.delegation, budget.cid.toString())
})

test('InvalidSignature: an authorization that does not cover the task', async () => {
  const s = await scenario()
  const other = await signInvocation(await s.taskNumbered(7), carol, [s.award])
  await s.store(other)
  const invocation = encodeBlock<Invocation>({ task: s.signed.invocation.value.task, auth: other.authorization.cid })
  rejected(await validateInvocation(invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'InvalidSignature', /does not cover/)
})

test('MissingSignature, MalformedInvocation, MissingBlock: unsigned, misshapen, or without its authorization', async () => {
  const s = await scenario()
  const options = { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }
  rejected(await validateInvocation({ task: s.task }, options), 'MissingSignature')
  rejected(await validateInvocation({ task: { ...s.task, run: 'bafy' as never }, auth: s.signed.authorization.cid }, options), 'MalformedInvocation')
  rejected(await validateInvocation({ task: { ...s.task, prf: ['x' as never] }, auth: s.signed.authorization.cid }, options), 'MalformedInvocation')
  rejected(await validateInvocation(s.signed.invocation, { ...options, blocks: memoryRepo().blocks, proofs: [s.award] }), 'MissingBlock', /authorization/)
})

test('MalformedDelegation: a proof that is not a UCAN, and a wasm/run capability with a malformed caveat', async () => {
  const s = await scenario()
  const junk = new TextEncoder().encode('not a ucan at all')
  const junkCid = cidOf(junk, codecs.dagCbor)
  await s.repo.blocks.put(junkCid, junk)
  const first = await signInvocation({ ...s.task, prf: [junkCid] }, carol)
  await s.store(first)
  rejected(await validateInvocation(first.invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'MalformedDelegation')

  const odd = await delegate({ issuer: bob as never, audience: carol as never, capabilities: [{ can: 'wasm/run', with: alice.did(), nb: { maxFuel: 'lots' } }], proofs: [s.budget], expiration: NOW + HOUR })
  const second = await signInvocation(s.task, carol, [odd])
  await s.store(second)
  rejected(await validateInvocation(second.invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'MalformedDelegation', /malformed wasm\/run/)
})

test('BrokenChain: proofs addressed to different principals', async () => {
  const s = await scenario()
  const signed = await signInvocation({ ...s.task, prf: [s.award.cid as never, s.budget.cid as never] }, carol)
  await s.store(signed)
  rejected(await validateInvocation(signed.invocation, { executor: carol, task: s.terms, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'BrokenChain', /different principals/)
})

test('secp256k1: a Homestar-style requester and executor validate', async () => {
  const s = await scenario()
  const budget = await delegateBudget({ requester: dave, scheduler: bob.did(), caveats: { maxFuel: 1000, modules: [moduleA] }, expiration: NOW + HOUR })
  const award = await delegateAward({ scheduler: bob, executor: dave.did(), budget, caveats: { maxFuel: 800, modules: [moduleA] } })
  const signed = await signInvocation(s.task, dave, [award])
  await s.store(signed)
  const result = await validateInvocation(signed.invocation, { executor: dave.did(), task: { module: moduleA, fuel: 800 }, blocks: s.repo.blocks, now: NOW, cache: s.cache })
  assert.equal(result.error, undefined)
  assert.equal(result.ok?.subject, dave.did())
})

test('a self-issued invocation (no proofs) is valid for its signer only', async () => {
  const s = await scenario()
  const signed = await signInvocation(s.task, carol)
  await s.store(signed)
  const result = await validateInvocation(signed.invocation, { executor: carol, blocks: s.repo.blocks, now: NOW, cache: s.cache })
  assert.deepEqual(result.ok?.chain, [])
  assert.equal(result.ok?.subject, carol.did())
  rejected(await validateInvocation(signed.invocation, { executor: bob, blocks: s.repo.blocks, now: NOW, cache: s.cache }), 'InvalidSignature')
})

test('one authorization signs a whole batch; each task validates, terms read from the invocation', async () => {
  const s = await scenario()
  const tasks = await Promise.all([1, 2, 3].map(async n => await s.taskNumbered(n)))
  const batch = await signInvocations(tasks, carol, [s.award])
  assert.equal(new Set(batch.map(signed => signed.authorization.cid.toString())).size, 1)
  assert.equal(batch[0]?.authorization.value.scope.length, 3)
  for (const signed of batch) {
    await s.store(signed)
    const result = await validateInvocation(signed.invocation, { executor: carol, blocks: s.repo.blocks, now: NOW, cache: s.cache })
    assert.equal(result.error, undefined, result.error?.message)
  }
  const withoutInstruction = memoryRepo()
  const first = batch[0]
  assert.ok(first !== undefined)
  await withoutInstruction.blocks.put(first.authorization.cid, first.authorization.bytes)
  rejected(await validateInvocation(first.invocation, { executor: carol, blocks: withoutInstruction.blocks, proofs: [s.award], now: NOW, cache: new DelegationCache() }), 'MissingBlock', /instruction/)
})

test('delegations at hand (from a CAR) need no block store', async () => {
  const s = await scenario()
  const result = await validateInvocation(s.signed.invocation, { executor: carol, task: s.terms, authorization: s.signed.authorization, proofs: [s.award], now: NOW, cache: new DelegationCache() })
  assert.equal(result.error, undefined)
  assert.equal(CID.asCID(result.ok?.chain[1])?.toString(), s.budget.cid.toString())
})
