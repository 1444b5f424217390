import test from 'node:test'
import assert from 'node:assert/strict'
import { claim } from '@ucanto/validator'
import { delegate } from '@ucanto/core'
import { WasmRun, TaskBid, ReceiptAttest, checkWasmRun } from '../../src/auth/capabilities.js'
import { delegateAward, delegateBudget } from '../../src/auth/delegation.js'
import { principalParser } from '../../src/auth/principal.js'
import { alice, bob, carol } from '../../src/auth/fixtures.js'
import { moduleA, moduleB } from './scenario.js'

const A = alice.did()

test('wasm/run: a child within every caveat of its proof derives', () => {
  assert.equal(checkWasmRun({ with: A, maxFuel: 10, maxPrice: 1, modules: [moduleA] }, { with: A, maxFuel: 10, maxPrice: 5, modules: [moduleA, moduleB] }), undefined)
  // An absent caveat in the proof is no limit.
  assert.equal(checkWasmRun({ with: A, maxFuel: 10 ** 12 }, { with: A }), undefined)
})

test('wasm/run: each escalation is named by its caveat', () => {
  const parent = { with: A, maxFuel: 1000, maxPrice: 10, modules: [moduleA] }
  assert.equal(checkWasmRun({ ...parent, maxFuel: 1001 }, parent)?.caveat, 'maxFuel')
  assert.equal(checkWasmRun({ ...parent, maxFuel: undefined }, parent)?.caveat, 'maxFuel', 'unbounded fuel exceeds a limit')
  assert.equal(checkWasmRun({ ...parent, maxPrice: 11 }, parent)?.caveat, 'maxPrice')
  assert.equal(checkWasmRun({ ...parent, modules: [moduleB] }, parent)?.caveat, 'modules')
  assert.equal(checkWasmRun({ ...parent, modules: undefined }, parent)?.caveat, 'modules', 'any module exceeds a list')
  assert.equal(checkWasmRun({ ...parent, with: bob.did() }, parent)?.caveat, 'with')
})

test('wasm/run: fuel beyond 2^53 (Homestar\'s u64::MAX) is compared exactly', () => {
  assert.equal(checkWasmRun({ maxFuel: 2n ** 64n - 1n }, { maxFuel: Number.MAX_SAFE_INTEGER })?.caveat, 'maxFuel')
  assert.equal(checkWasmRun({ maxFuel: 2n ** 53n - 1n }, { maxFuel: Number.MAX_SAFE_INTEGER }), undefined)
})

test('wasm/run schema: negative or fractional fuel and non-CID modules are malformed', () => {
  assert.throws(() => WasmRun.create({ with: A, nb: { maxFuel: -1 } } as never))
  assert.throws(() => WasmRun.create({ with: A, nb: { maxFuel: 1.5 } } as never))
  assert.throws(() => WasmRun.create({ with: A, nb: { modules: ['bafy-not-a-cid'] } } as never))
  assert.doesNotThrow(() => WasmRun.create({ with: A, nb: { maxFuel: 5, modules: [moduleA] } } as never))
})

test('ucanto\'s own claim() agrees: it accepts the requester → scheduler → executor chain', async () => {
  const now = Math.floor(Date.now() / 1000)
  const budget = await delegateBudget({ requester: alice, scheduler: bob.did(), caveats: { maxFuel: 1000, modules: [moduleA] }, expiration: now + 60 })
  const award = await delegateAward({ scheduler: bob, executor: carol.did(), budget, caveats: { maxFuel: 100, modules: [moduleA] } })
  const result = await claim(WasmRun, [award], { authority: carol.verifier as never, principal: principalParser as never, validateAuthorization: () => ({ ok: {} }) })
  assert.equal(result.error, undefined)
  assert.equal(result.ok?.capability.with, A)
})

test('ucanto\'s own claim() agrees: it rejects an award above the budget, through our derives', async () => {
  const now = Math.floor(Date.now() / 1000)
  const budget = await delegateBudget({ requester: alice, scheduler: bob.did(), caveats: { maxFuel: 1000, modules: [moduleA] }, expiration: now + 60 })
  // Issued with ucanto directly: our helpers refuse to sign an escalation.
  const escalated = await delegate({ issuer: bob as never, audience: carol as never, capabilities: [{ can: 'wasm/run', with: A, nb: { maxFuel: 5000, modules: [moduleA] } }], proofs: [budget], expiration: now + 60 })
  const result = await claim(WasmRun, [escalated], { authority: carol.verifier as never, principal: principalParser as never, validateAuthorization: () => ({ ok: {} }) })
  assert.equal(result.ok, undefined)
  assert.match(result.error?.message ?? '', /at most 1000/)
})

test('task/bid: a delegation may fix the task and lower the price, not raise it', async () => {
  const now = Math.floor(Date.now() / 1000)
  const market = await TaskBid.delegate({ issuer: bob as never, audience: carol as never, with: bob.did(), nb: { task: moduleA, maxPrice: 10 }, expiration: now + 60 })
  const tooHigh = await delegate({ issuer: carol as never, audience: alice as never, capabilities: [{ can: 'task/bid', with: bob.did(), nb: { task: moduleA, maxPrice: 11 } }], proofs: [market], expiration: now + 60 })
  const otherTask = await delegate({ issuer: carol as never, audience: alice as never, capabilities: [{ can: 'task/bid', with: bob.did(), nb: { task: moduleB, maxPrice: 5 } }], proofs: [market], expiration: now + 60 })
  const fine = await delegate({ issuer: carol as never, audience: alice as never, capabilities: [{ can: 'task/bid', with: bob.did(), nb: { task: moduleA, maxPrice: 5 } }], proofs: [market], expiration: now + 60 })
  const options = { authority: alice.verifier as never, principal: principalParser as never, validateAuthorization: () => ({ ok: {} }) }
  assert.ok((await claim(TaskBid, [fine], options)).ok)
  assert.match((await claim(TaskBid, [tooHigh], options)).error?.message ?? '', /exceed the proof's 10/)
  assert.match((await claim(TaskBid, [otherTask], options)).error?.message ?? '', /bids on task/)
})

test('receipt/attest: a delegation for one receipt does not cover another', async () => {
  const now = Math.floor(Date.now() / 1000)
  const one = await ReceiptAttest.delegate({ issuer: bob as never, audience: carol as never, with: bob.did(), nb: { receipt: moduleA }, expiration: now + 60 })
  const other = await delegate({ issuer: carol as never, audience: alice as never, capabilities: [{ can: 'receipt/attest', with: bob.did(), nb: { receipt: moduleB } }], proofs: [one], expiration: now + 60 })
  const same = await delegate({ issuer: carol as never, audience: alice as never, capabilities: [{ can: 'receipt/attest', with: bob.did(), nb: { receipt: moduleA } }], proofs: [one], expiration: now + 60 })
  const options = { authority: alice.verifier as never, principal: principalParser as never, validateAuthorization: () => ({ ok: {} }) }
  assert.ok((await claim(ReceiptAttest, [same], options)).ok)
  assert.ok((await claim(ReceiptAttest, [other], options)).error)
})
