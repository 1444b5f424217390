import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import * as dagCbor from '@ipld/dag-cbor'
import { identityFromSeed } from '../../src/auth/identity.js'
import { cidOf, codecs, encodeBlock } from '../../src/model/block.js'
import { instructionCid } from '../../src/model/instruction.js'
import { marketRequest } from '../../src/net/protocols/market.js'
import { signReceipt } from '../../src/auth/sign.js'
import { receiptValue } from '../../src/model/receipt.js'
import { openClaim } from '../../src/verify/recheck.js'
import { makeFraudProof } from '../../src/verify/fraud-proof.js'
import { signAttestation } from '../../src/verify/attestation.js'
import { collateralFor } from '../../scheduler/verification.js'
import { DISHONEST_OUTPUT } from '../../src/executor/role.js'
import { DEFAULT_MIN_STAKE, DEFAULT_BOUNTY_SHARE, DEVNET_STAKE } from '../../src/constants.js'
import { task, workflowFile } from '../helpers.js'
import { loopbackNode } from '../net/helpers.js'
import { conserved, devnet, marketFixtures, submit } from '../scheduler/devnet-helpers.js'
import { startVerifierRole } from '../../verifier/role.js'
import { memoryRepo } from '../../src/store/memory-repo.js'
import type { TestContext } from 'node:test'
import type { Devnet } from '../../src/devnet.js'
import type { Instruction, Receipt } from '../../src/model/types.js'
import type { VerificationEvent } from '../../scheduler/verification.js'

const { module } = await marketFixtures()

/** Every verification event of a devnet, in order. */
function recorder (): { events: VerificationEvent[], onVerification: (event: VerificationEvent) => void } {
  const events: VerificationEvent[] = []
  return { events, onVerification: event => { events.push(event) } }
}

const STAKE = DEVNET_STAKE

/** The receipts of a finished workflow, by task index. */
function receiptsOf (net: Devnet, tasks: unknown[]): string[] {
  const id = cidOf(workflowFile(tasks), codecs.raw).toString()
  return net.scheduler.role.scheduler.summary(id).tasks.map(state => 'receipt' in state ? state.receipt : '')
}

async function receiptBlock (net: Devnet, cid: string): Promise<{ cid: CID, bytes: Uint8Array, value: Receipt }> {
  const bytes = await net.scheduler.role.verification!.document(cid) ?? await net.scheduler.role.repo.blocks.get(CID.parse(cid))
  assert.ok(bytes !== undefined, `receipt ${cid} is stored`)
  return { cid: CID.parse(cid), bytes, value: dagCbor.decode<Receipt>(bytes) }
}

test('every receipt is re-run at p = 1: a trusted verifier attests it and it is final; its escrow settles then', async t => {
  const { events, onVerification } = recorder()
  const net = await devnet(t, { executors: 2, verifiers: 1, sampleRate: 1, market: { challengeWindowMs: 600_000 }, onVerification })
  const tasks = [task(module, 'add', [2, 3]), task(module, 'mul', [4, 5]), task(module, 'add', [40, 2])]
  const report = await submit(t, net, tasks)
  assert.equal(report.ok, true)
  await net.verified()
  const verifier = net.verifier!.role.verifier
  assert.equal(verifier.stats.sampled, 3)
  assert.equal(verifier.stats.attested, 3)
  assert.equal(verifier.stats.frauds, 0)
  const id = cidOf(workflowFile(tasks), codecs.raw).toString()
  const summary = net.scheduler.role.scheduler.summary(id)
  assert.deepEqual(summary.tasks.map(x => 'verification' in x ? x.verification : undefined), ['final', 'final', 'final'])
  assert.equal(events.filter(e => e.type === 'attested' && e.trusted).length, 3)
  // Final by attestation, long before the 10-minute window: every escrow is settled.
  for (const state of summary.tasks) {
    assert.ok('market' in state && state.market !== undefined)
    assert.equal(net.scheduler.role.ledger.escrow(state.market.escrow)?.state, 'settled')
  }
  // The verifier's record at the scheduler.
  const [record] = net.scheduler.role.verification!.verifiers()
  assert.equal(record?.did, net.verifiers[0]!.identity.did)
  assert.equal(record?.attested, 3)
  await conserved(net)
})

test('an attestation from a verifier the requester does not trust leaves the result attested, not final: the escrow waits for the window', async t => {
  const net = await devnet(t, { executors: 1, verifiers: 1, sampleRate: 1, trustVerifiers: false, market: { challengeWindowMs: 600_000 } })
  const tasks = [task(module, 'add', [1, 1])]
  assert.equal((await submit(t, net, tasks)).ok, true)
  await net.verified()
  const [state] = net.scheduler.role.scheduler.summary(cidOf(workflowFile(tasks), codecs.raw).toString()).tasks
  assert.equal(state && 'verification' in state ? state.verification : undefined, 'attested')
  assert.ok(state !== undefined && 'market' in state && state.market !== undefined)
  assert.equal(net.scheduler.role.ledger.escrow(state.market.escrow)?.state, 'charged')
  // The requester can name its verifiers in the workflow: then the same kind of attestation makes the result final.
  const trusted = [task(module, 'add', [1, 2])]
  const extra = { market: { trustedVerifiers: [net.verifiers[0]!.identity.did] } }
  assert.equal((await submit(t, net, trusted, {}, extra)).ok, true)
  await net.verified()
  const [named] = net.scheduler.role.scheduler.summary(cidOf(workflowFile(trusted, extra), codecs.raw).toString()).tasks
  assert.equal(named && 'verification' in named ? named.verification : undefined, 'final')
  await conserved(net)
})

test('a cheating executor is caught: fraud proven by re-running, its stake slashed (bounty to the verifier, rest to the requester), the escrow refunded, and the task rerun elsewhere', async t => {
  const { events, onVerification } = recorder()
  // The cheater bids lowest and always cheats; the honest executor asks more.
  const net = await devnet(t, {
    executors: 2,
    verifiers: 1,
    sampleRate: 1,
    dishonestCheatRates: [1, 0],
    bidPolicies: [{ price: 1 }, { price: 5, minPrice: 5 }],
    market: { challengeWindowMs: 600_000 },
    onVerification
  })
  const cheater = net.executors[0]!.role.policy.did
  const honest = net.executors[1]!.role.policy.did
  const verifierDid = net.verifiers[0]!.identity.did
  const ledger = net.scheduler.role.ledger
  const first = task(module, 'add', [20, 22])
  const tasks = [first, task(module, 'mul', [{ 'await/ok': instructionCid(first.run as Instruction) }, 2])]
  const report = await submit(t, net, tasks)
  // The requester got the cheater's made-up result first …
  assert.equal(report.ok, true)
  assert.deepEqual(report.tasks[0]?.out, { ok: DISHONEST_OUTPUT })
  await net.verified()
  const fraud = events.find((e): e is Extract<VerificationEvent, { type: 'fraud' }> => e.type === 'fraud')
  assert.ok(fraud !== undefined, 'a fraud was proven')
  assert.equal(fraud.executor, cheater)
  assert.equal(fraud.challenger, verifierDid)
  // It cheated on every task it was given: each was proven.
  const frauds = events.filter(e => e.type === 'fraud')
  // Slashed by the award's collateral (at p = 1 it is the minimum stake); half to the verifier.
  const escrowAmount = net.scheduler.role.verification!.record(fraud.receipt)?.escrowAmount ?? 0
  assert.ok(escrowAmount > 0)
  const collateral = collateralFor(escrowAmount, 1, DEFAULT_MIN_STAKE)
  assert.equal(collateral, DEFAULT_MIN_STAKE)
  assert.equal(fraud.slashed, collateral)
  assert.equal(fraud.bounty, Math.floor(collateral * DEFAULT_BOUNTY_SHARE))
  assert.equal(ledger.account(cheater).staked, STAKE - collateral * frauds.length)
  assert.equal(ledger.account(verifierDid).available, frauds.reduce((sum, e) => sum + (e.type === 'fraud' ? e.bounty : 0), 0))
  assert.deepEqual(frauds.map(e => e.type === 'fraud' && e.executor), frauds.map(() => cheater))
  assert.equal(net.scheduler.role.market!.reputation.get(cheater)?.fraudulent, frauds.length)
  // … and the task was retracted and run again by the honest executor, with the task that used its output.
  const id = cidOf(workflowFile(tasks), codecs.raw).toString()
  // The retraction and the rerun happen in the background: wait (bounded) until both tasks are final again.
  const scheduler = net.scheduler.role.scheduler
  const deadline = Date.now() + 20_000
  for (;;) {
    await net.verified()
    const now = scheduler.summary(id)
    if (now.ok && now.tasks.every(state => 'verification' in state && state.verification === 'final')) break
    assert.ok(Date.now() < deadline, `not final in time: ${JSON.stringify(now.tasks)}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  const again = scheduler.summary(id)
  const outs = await Promise.all(again.tasks.map(async state => 'receipt' in state ? (await receiptBlock(net, state.receipt)).value.out : undefined))
  assert.deepEqual(outs, [{ ok: 42 }, { ok: 84 }])
  for (const state of again.tasks) assert.ok('market' in state && state.market?.executor === honest, 'the rerun went to the honest executor')
  assert.equal(net.scheduler.role.verification!.stateOf(fraud.receipt), 'fraudulent')
  // The honest executor was never slashed, and the books balance.
  assert.equal(ledger.account(honest).staked, STAKE)
  await conserved(net)
})

test('a fraud proof after the challenge window is refused (ChallengeWindowClosed) and nobody is slashed', async t => {
  const net = await devnet(t, { executors: 1, verifiers: 1, sampleRate: 1, dishonestCheatRates: [1], market: { challengeWindowMs: 0 } })
  const tasks = [task(module, 'add', [1, 2])]
  assert.equal((await submit(t, net, tasks)).ok, true)
  await net.verified()
  const [record] = net.verifier!.role.verifier.records()
  assert.equal(record?.outcome, 'refused')
  assert.equal(record?.detail, 'ChallengeWindowClosed')
  assert.equal(net.scheduler.role.ledger.account(net.executors[0]!.role.policy.did).staked, STAKE)
  await conserved(net)
})

/** A requester-side node that speaks to the devnet's scheduler as `identity`. */
async function speaker (t: TestContext, net: Devnet, seed: number): Promise<{ did: string, request: (body: Parameters<typeof marketRequest>[2]) => Promise<unknown>, signer: Awaited<ReturnType<typeof identityFromSeed>>['signer'] }> {
  const identity = await identityFromSeed(new Uint8Array(32).fill(seed))
  const node = await loopbackNode(t, seed, { privateKey: identity.privateKey, bootstrap: [net.address.toString()] })
  await node.start()
  return { did: identity.did, signer: identity.signer, request: async body => await marketRequest(node.libp2p, net.address, body, { timeoutMs: 30_000, maxMessageBytes: 16 * 1024 * 1024 }) }
}

async function refusal (promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    return (err as Error).name
  }
  return 'accepted'
}

test('bad attestations and fraud proofs are refused by name, a lying verifier pays, and honest executors are never slashed', async t => {
  const { events, onVerification } = recorder()
  const net = await devnet(t, { executors: 1, verifiers: 0, market: { challengeWindowMs: 600_000 }, onVerification })
  const tasks = [task(module, 'add', [5, 6])]
  assert.equal((await submit(t, net, tasks)).ok, true)
  const [receiptCid] = receiptsOf(net, tasks)
  const receipt = await receiptBlock(net, receiptCid as string)
  const executorDid = net.executors[0]!.role.policy.did
  const schedulerDid = net.scheduler.identity.did
  const liar = await speaker(t, net, 81)
  const ledger = net.scheduler.role.ledger

  // Attestations.
  const claim = await openClaim(receipt, net.scheduler.role.repo.blocks)
  const good = await signAttestation({ signer: liar.signer, audience: schedulerDid, receipt: receipt.cid, digest: claim.digest })
  const forged = Uint8Array.from(good.bytes)
  forged[forged.length - 10] = (forged[forged.length - 10] as number) ^ 1
  assert.equal(await refusal(liar.request({ attest: forged })), 'InvalidAttestation')
  const unknown = await signAttestation({ signer: liar.signer, audience: schedulerDid, receipt: encodeBlock({ not: 'a receipt' }).cid, digest: claim.digest })
  assert.equal(await refusal(liar.request({ attest: unknown.bytes })), 'UnknownReceipt')
  const wrongDigest = await signAttestation({ signer: liar.signer, audience: schedulerDid, receipt: receipt.cid, digest: encodeBlock({ other: 1 }).cid })
  assert.equal(await refusal(liar.request({ attest: wrongDigest.bytes })), 'WrongDigest')
  const other = await identityFromSeed(new Uint8Array(32).fill(82))
  const someoneElses = await signAttestation({ signer: other.signer, audience: schedulerDid, receipt: receipt.cid, digest: claim.digest })
  assert.equal(await refusal(liar.request({ attest: someoneElses.bytes })), 'NotYourAttestation')
  assert.deepEqual(await liar.request({ attest: good.bytes }), { state: 'attested' })

  // Fraud proofs: a lie about an honest receipt.
  const lie = await makeFraudProof(claim, { out: { ok: 12 }, executed: true, durationMs: 1, fuel: 7 }, liar.signer)
  const filing = { fraud: { proof: lie.proof.bytes, blocks: [{ cid: lie.challenge.cid, bytes: lie.challenge.bytes }] } }
  assert.equal(await refusal(liar.request(filing)), 'InsufficientStake', 'an unstaked verifier cannot accuse')
  await ledger.deposit(liar.did as never, 5_000, { stake: true })
  const unsignedChallenge = encodeBlock(receiptValue({ ran: receipt.value.ran, out: { ok: 12 }, meta: { fuel: 7 } }))
  const unsignedProof = encodeBlock({ type: 'ipvm/fraud-proof', v: 1, instruction: claim.instructionCid, accused: receipt.cid, challenge: unsignedChallenge.cid })
  assert.equal(await refusal(liar.request({ fraud: { proof: unsignedProof.bytes, blocks: [{ cid: unsignedChallenge.cid, bytes: unsignedChallenge.bytes }] } })), 'NotYourProof')
  const elsewhere = await signReceipt(receiptValue({ ran: encodeBlock({ another: 'invocation' }).cid, out: { ok: 12 }, meta: { fuel: 7 } }), liar.signer)
  const differentProof = encodeBlock({ type: 'ipvm/fraud-proof', v: 1, instruction: claim.instructionCid, accused: receipt.cid, challenge: elsewhere.cid })
  assert.equal(await refusal(liar.request({ fraud: { proof: differentProof.bytes, blocks: [{ cid: elsewhere.cid, bytes: elsewhere.bytes }] } })), 'DifferentInstructions')
  assert.equal(await refusal(liar.request({ fraud: { proof: new Uint8Array([1, 2, 3]), blocks: [] } })), 'InvalidFraudProof')
  const verdict = await liar.request(filing) as { verdict: string, penalty: number }
  assert.equal(verdict.verdict, 'false-accusation')
  assert.equal(verdict.penalty, DEFAULT_MIN_STAKE)
  assert.equal(ledger.account(liar.did as never).staked, 4_000)
  assert.equal(ledger.account(executorDid).staked, STAKE, 'the honest executor is not slashed')
  assert.ok(events.some(e => e.type === 'false-accusation' && e.challenger === liar.did))
  assert.equal(net.scheduler.role.verification!.stateOf(receiptCid as string), 'attested')
  const [record] = net.scheduler.role.verification!.verifiers().filter(v => v.did === liar.did)
  assert.equal(record?.falseAccusations, 1)
  assert.ok((record?.reputation ?? 1) < 0.5)
  // The scheduler kept serving: the state query answers.
  const answer = await liar.request({ verification: { receipts: [receiptCid as string, 'bafynot'] } }) as { receipts: Array<{ state: string | null }> }
  assert.deepEqual(answer.receipts.map(r => r.state), ['attested', null])
  await conserved(net)
})

test('a verifier that stops mid-check takes the check up again when it restarts, and its attestation still counts', async t => {
  const net = await devnet(t, { executors: 1, verifiers: 1, sampleRate: 1, market: { challengeWindowMs: 600_000 } })
  const first = net.verifiers[0]!
  // A task that burns its whole fuel limit (a deterministic OutOfFuel): long enough to stop the check in the middle.
  const tasks = [task(module, 'spin', [], { fuel: 300_000_000 })]
  const report = await submit(t, net, tasks)
  assert.equal(report.tasks[0]?.out && 'error' in report.tasks[0].out ? report.tasks[0].out.error.name : undefined, 'OutOfFuel')
  const deadline = Date.now() + 10_000
  while (first.role.verifier.stats.sampled === 0) {
    assert.ok(Date.now() < deadline, 'the verifier received the receipt')
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  await first.role.stop()
  assert.equal(first.role.verifier.stats.attested + first.role.verifier.stats.uncheckable, 0, 'stopped before the check ended')
  // Restarted with the same key and directory (and an empty block store): the check is taken up again.
  const node = await loopbackNode(t, 90, { privateKey: first.identity.privateKey, bootstrap: [net.address.toString()] })
  await node.start()
  const again = await startVerifierRole({ node, repo: memoryRepo(), signer: first.identity.signer, dir: first.dir, sampleRate: 1, advertise: false })
  t.after(async () => { await again.stop() })
  await again.verifier.idle()
  const [record] = again.verifier.records()
  assert.equal(record?.outcome, 'attested')
  const [receipt] = receiptsOf(net, tasks)
  assert.equal(net.scheduler.role.verification!.stateOf(receipt as string), 'final')
})
