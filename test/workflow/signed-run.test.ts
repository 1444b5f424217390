import test from 'node:test'
import assert from 'node:assert/strict'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { LocalExecutor } from '../../src/executor/local.js'
import { loadWorkflow } from '../../src/workflow/plan.js'
import { runWorkflow } from '../../src/workflow/run.js'
import { instructionCid } from '../../src/model/instruction.js'
import { decodeBlock, encodeBlock } from '../../src/model/block.js'
import { alice, bob, mallory } from '../../src/auth/fixtures.js'
import { delegateWasmRun } from '../../src/auth/delegation.js'
import { verifyReceipt } from '../../src/auth/sign.js'
import { MemoryRevocationStore } from '../../src/auth/revocations.js'
import { DelegationCache } from '../../src/auth/validate.js'
import { wat, MATH_WAT, putModule, task, workflowFile } from '../helpers.js'
import type { CID } from 'multiformats/cid'
import type { Instruction, Receipt, Invocation } from '../../src/model/types.js'

const math = await wat(MATH_WAT)

async function node (t: { after: (fn: () => Promise<void>) => void }, revocations = new MemoryRevocationStore()): Promise<{ repo: ReturnType<typeof memoryRepo>, executor: LocalExecutor, module: CID, revocations: MemoryRevocationStore }> {
  const repo = memoryRepo()
  const module = await putModule(repo.blocks, math)
  // bob runs the node; a fresh delegation cache per test keeps tests independent.
  const executor = new LocalExecutor(repo.blocks, { threads: 1, identity: bob, requireInvocation: true, revocations, delegationCache: new DelegationCache() })
  t.after(async () => { await executor.stop() })
  return { repo, executor, module, revocations }
}

test('a signed run: every receipt is signed by the node, its invocation by the node, one authorization for all', async t => {
  const { repo, executor, module } = await node(t)
  const a = task(module, 'add', [2, 3])
  const b = task(module, 'mul', [{ 'await/ok': instructionCid(a.run as Instruction) }, 4])
  const report = await runWorkflow(loadWorkflow(workflowFile([a, b])), { repo, executor, signer: bob })
  assert.equal(report.ok, true)
  const auths = new Set<string>()
  for (const entry of report.tasks) {
    const bytes = await repo.blocks.get(entry.receiptCid as CID) as Uint8Array
    const receipt = decodeBlock<Receipt>(bytes)
    assert.equal(receipt.iss, bob.did())
    assert.ok(receipt.sig instanceof Uint8Array)
    const invocation = decodeBlock<Invocation>(await repo.blocks.get(receipt.ran) as Uint8Array)
    auths.add(String(invocation.auth))
    const verified = await verifyReceipt(bytes, { blocks: repo.blocks, requireInvocation: true, issuer: bob.did() })
    assert.equal(verified.error, undefined, verified.error?.message)
    assert.equal(verified.ok?.invocation?.invoker, bob.did())
  }
  assert.equal(auths.size, 1, 'one authorization covers the workflow')
})

test('a tampered receipt or one claimed by someone else fails verification', async t => {
  const { repo, executor, module } = await node(t)
  const report = await runWorkflow(loadWorkflow(workflowFile([task(module, 'add', [1, 1])])), { repo, executor, signer: bob })
  const bytes = await repo.blocks.get(report.tasks[0]?.receiptCid as CID) as Uint8Array
  const receipt = decodeBlock<Receipt>(bytes)
  const forged = encodeBlock({ ...receipt, out: { ok: 3 } }).bytes
  assert.equal((await verifyReceipt(forged, { blocks: repo.blocks }))?.error?.name, 'InvalidSignature')
  assert.equal((await verifyReceipt(bytes, { issuer: mallory.did() }))?.error?.name, 'WrongIssuer')
})

test('running on behalf of alice: the caveats of her proof are enforced before anything runs', async t => {
  const { repo, executor, module } = await node(t)
  const proof = await delegateWasmRun({ issuer: alice, audience: bob.did(), caveats: { maxFuel: 1000 }, expiration: Math.floor(Date.now() / 1000) + 3600 })
  const cheap = task(module, 'add', [1, 2]);
  (cheap as any).meta = { fuel: 500 }
  const costly = task(module, 'add', [3, 4]);
  (costly as any).meta = { fuel: 5000 }
  const report = await runWorkflow(loadWorkflow(workflowFile([cheap, costly])), { repo, executor, signer: bob, proofs: [proof] })
  assert.equal((report.tasks[0]?.out as any).ok, 3)
  assert.equal((report.tasks[1]?.out as any).error.name, 'CaveatExceeded')
  assert.equal(report.executed, 1, 'the refused task never reached a worker')
  assert.equal(report.tasks[1]?.durationMs, undefined)
  // The receipt's invocation carries the chain: anyone can check it offline.
  const bytes = await repo.blocks.get(report.tasks[0]?.receiptCid as CID) as Uint8Array
  const verified = await verifyReceipt(bytes, { blocks: repo.blocks, requireInvocation: true })
  assert.equal(verified.error, undefined, verified.error?.message)
  assert.equal(verified.ok?.invocation?.subject, alice.did())
})

test('expired, revoked and misaddressed proofs are refused with their names; nothing runs', async t => {
  const now = Math.floor(Date.now() / 1000)
  const cases: Array<[string, (revocations: MemoryRevocationStore) => Promise<any>]> = [
    ['Expired', async () => await delegateWasmRun({ issuer: alice, audience: bob.did(), caveats: {}, expiration: now - 10 })],
    ['WrongAudience', async () => await delegateWasmRun({ issuer: alice, audience: mallory.did(), caveats: {}, expiration: now + 3600 })],
    ['Revoked', async revocations => {
      const proof = await delegateWasmRun({ issuer: alice, audience: bob.did(), caveats: {}, expiration: now + 3600 })
      await revocations.revoke(proof.cid as unknown as CID)
      return proof
    }]
  ]
  for (const [name, make] of cases) {
    const { repo, executor, module, revocations } = await node(t)
    const proof = await make(revocations)
    const report = await runWorkflow(loadWorkflow(workflowFile([task(module, 'add', [1, 2])])), { repo, executor, signer: bob, proofs: [proof] })
    assert.equal((report.tasks[0]?.out as any).error.name, name)
    assert.equal(report.executed, 0, name)
  }
})

test('an executor that requires invocations refuses unsigned tasks', async t => {
  const { repo, executor, module } = await node(t)
  const report = await runWorkflow(loadWorkflow(workflowFile([task(module, 'add', [1, 2])])), { repo, executor })
  assert.equal((report.tasks[0]?.out as any).error.name, 'Unauthorized')
  assert.equal(report.executed, 0)
})
