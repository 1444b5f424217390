/**
 * The verification core against real parts: a memory repo, real Wasm run by a
 * LocalExecutor, fixed Ed25519 identities (alice is the executor, bob the
 * verifier, carol the scheduler).
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import * as CarBufferWriter from '@ipld/car/buffer-writer'
import { CarBufferReader } from '@ipld/car/buffer-reader'
import { delegate } from '@ucanto/core'
import { CID } from 'multiformats/cid'
import { wat, putModule, tempDir, MATH_WAT } from '../helpers.js'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { LocalExecutor } from '../../src/executor/local.js'
import { signInvocation, signReceipt } from '../../src/auth/sign.js'
import { archiveDelegation } from '../../src/auth/delegation.js'
import { alice, bob, carol } from '../../src/auth/fixtures.js'
import { cidOf, codecs, encodeBlock } from '../../src/model/block.js'
import { instructionBlock } from '../../src/model/instruction.js'
import { outcomeDigest, receiptBlock, receiptValue } from '../../src/model/receipt.js'
import { recheck, openClaim } from '../../src/verify/recheck.js'
import { makeFraudProof, judgeFraudProof, fraudProofCar, readFraudProofCar, mapBlocks, decodeFraudProof } from '../../src/verify/fraud-proof.js'
import { signAttestation, openAttestation } from '../../src/verify/attestation.js'
import { Sampler, loadSamplingSecret } from '../../src/verify/sampling.js'
import type { Block } from '../../src/model/block.js'
import type { Instruction, IpldValue, Receipt } from '../../src/model/types.js'
import type { Signer } from '../../src/auth/types.js'
import type { ExecutionResult } from '../../src/executor/interface.js'
import type { FraudProof } from '../../src/verify/fraud-proof.js'
import type { Repo } from '../../src/store/interface.js'

const FUEL = 1_000_000

interface Ran {
  instruction: Block<Instruction>
  invocation: CID
  /** alice's honest receipt. */
  receipt: Block<Receipt>
  result: ExecutionResult
}

/**
 * Runs `func(args)` like a remote executor does: alice signs an invocation
 * committing to the arguments (`meta.args`), the task runs, alice signs the
 * receipt. Everything is committed to `repo`.
 */
async function run (repo: Repo, module: CID, executor: LocalExecutor, func: string, args: IpldValue[], template: IpldValue[] = args): Promise<Ran> {
  const instruction = instructionBlock({ rsc: `ipfs://${module}`, op: 'wasm/run', input: { func, args: template }, nnc: '' })
  const argsBlock = encodeBlock(args)
  const signed = await signInvocation({ run: instruction.cid, meta: { fuel: FUEL, args: argsBlock.cid }, prf: [] }, alice)
  const result = await executor.execute({ instruction: instruction.value, instructionCid: instruction.cid, module, func, args, meta: { fuel: FUEL } })
  assert.notEqual(result.fuel, null, 'the honest run is metered')
  const receipt = await signReceipt(receiptValue({ ran: signed.invocation.cid, out: result.out, meta: { fuel: result.fuel } }), alice)
  await repo.commit({ blocks: [instruction, argsBlock, signed.invocation, signed.authorization, receipt] })
  return { instruction, invocation: signed.invocation.cid, receipt, result }
}

/** A receipt for the same invocation, claiming `out` and `fuel`, signed by `signer`. */
async function claim (repo: Repo, ran: CID, out: Receipt['out'], fuel: number | bigint | null, signer: Signer): Promise<Block<Receipt>> {
  const receipt = await signReceipt(receiptValue({ ran, out, meta: fuel === null ? {} : { fuel } }), signer)
  await repo.commit({ blocks: [receipt] })
  return receipt
}

/** A proof block linking any two receipts, stored. */
async function proofOf (repo: Repo, instruction: CID, accused: CID, challenge: CID): Promise<Block<FraudProof>> {
  const proof = encodeBlock<FraudProof>({ type: 'ipvm/fraud-proof', v: 1, instruction, accused, challenge })
  await repo.commit({ blocks: [proof] })
  return proof
}

const repo = memoryRepo()
const module = await putModule(repo.blocks, await wat(MATH_WAT))
const executor = new LocalExecutor(repo.blocks, { threads: 1 })
test.after(async () => { await executor.stop() })

const honest = await run(repo, module, executor, 'add', [2, 3])
const fuel = honest.result.fuel as number
// alice lies about the sum, and signs it.
const lie = await claim(repo, honest.invocation, { ok: 6 }, fuel, alice)

test('recheck: an honest receipt matches its re-run', async () => {
  assert.deepEqual(honest.result.out, { ok: 5 })
  const check = await recheck(honest.receipt, repo.blocks, executor)
  assert.ok(check.status === 'match', check.status)
  assert.equal(check.claim.issuer, alice.did())
  assert.ok(check.claim.instructionCid.equals(honest.instruction.cid))
  assert.ok(check.digest.equals(outcomeDigest(honest.instruction.cid, { ok: 5 }, fuel)))
  assert.ok(check.digest.equals(check.claim.digest))
  // The receipt's bytes alone are enough too.
  assert.equal((await recheck(honest.receipt.bytes, repo.blocks, executor)).status, 'match')
})

test('recheck: a receipt whose out was changed and re-signed is a mismatch', async () => {
  const check = await recheck(lie, repo.blocks, executor)
  assert.ok(check.status === 'mismatch', check.status)
  assert.deepEqual(check.rerun.out, { ok: 5 })
  assert.ok(check.digest.equals(outcomeDigest(honest.instruction.cid, { ok: 5 }, fuel)))
  assert.ok(!check.digest.equals(check.claim.digest))
  // Lying about the fuel alone is a mismatch as well: fuel is in the digest.
  const moreFuel = await claim(repo, honest.invocation, { ok: 5 }, fuel + 1, alice)
  assert.equal((await recheck(moreFuel, repo.blocks, executor)).status, 'mismatch')
})

test('recheck: uncheckable receipts name why and accuse nobody', async () => {
  const noFuel = await claim(repo, honest.invocation, { ok: 5 }, null, alice)
  const nondeterministic = await recheck(noFuel, repo.blocks, executor)
  assert.equal(nondeterministic.status, 'uncheckable')
  assert.equal(nondeterministic.status === 'uncheckable' && nondeterministic.error.name, 'Nondeterministic')

  // A negative fuel count is no fuel, however large (DAG-CBOR decodes it as a bigint).
  const negative = await claim(repo, honest.invocation, { ok: 5 }, -(2n ** 60n), alice)
  const negativeCheck = await recheck(negative, repo.blocks, executor)
  assert.equal(negativeCheck.status === 'uncheckable' && negativeCheck.error.name, 'Nondeterministic')

  // Awaited arguments without meta.args: the inputs it ran on are unknown.
  const upstream = honest.instruction.cid
  const awaiting = instructionBlock({ rsc: `ipfs://${module}`, op: 'wasm/run', input: { func: 'add-one', args: [{ 'await/ok': upstream }] }, nnc: '' })
  const unbound = await signInvocation({ run: awaiting.cid, meta: { fuel: FUEL }, prf: [] }, alice)
  const unboundReceipt = await signReceipt(receiptValue({ ran: unbound.invocation.cid, out: { ok: 6 }, meta: { fuel } }), alice)
  await repo.commit({ blocks: [awaiting, unbound.invocation, unbound.authorization, unboundReceipt] })
  const check = await recheck(unboundReceipt, repo.blocks, executor)
  assert.equal(check.status === 'uncheckable' && check.error.name, 'UnboundArguments')

  // With meta.args the awaited value is committed to, and the re-run uses it.
  const bound = await run(repo, module, executor, 'add-one', [5], [{ 'await/ok': upstream }])
  assert.deepEqual(bound.result.out, { ok: 6 })
  assert.equal((await recheck(bound.receipt, repo.blocks, executor)).status, 'match')

  // An invocation nobody has.
  const orphan = await signReceipt(receiptValue({ ran: encodeBlock({ nothing: true }).cid, out: { ok: 1 }, meta: { fuel: 1 } }), alice)
  const missing = await recheck(orphan, repo.blocks, executor)
  assert.equal(missing.status === 'uncheckable' && missing.error.name, 'MissingBlock')

  // An unsigned receipt is not a claim by anyone.
  const unsigned = receiptBlock({ ran: honest.invocation, out: { ok: 6 }, meta: { fuel } })
  const notSigned = await recheck(unsigned, repo.blocks, executor)
  assert.equal(notSigned.status === 'uncheckable' && notSigned.error.name, 'InvalidSignature')
})

test('fraud proof: a re-run that disagrees proves fraud', async () => {
  const check = await recheck(lie, repo.blocks, executor)
  assert.ok(check.status === 'mismatch')
  const made = await makeFraudProof(check.claim, check.rerun, bob)
  assert.equal(made.challenge.value.iss, bob.did())
  assert.ok(made.challenge.value.ran.equals(honest.invocation))
  assert.ok(encodeBlock(decodeFraudProof(made.proof.bytes)).cid.equals(made.proof.cid))
  await repo.commit({ blocks: [made.challenge] })
  const verdict = await judgeFraudProof(made.proof, repo.blocks, executor)
  assert.equal(verdict.verdict, 'fraud')
  assert.equal(verdict.accused, alice.did())
  assert.equal(verdict.challenger, bob.did())
  assert.equal(verdict.challengeRight, true)
  assert.ok(verdict.instruction.equals(honest.instruction.cid))
  assert.ok(verdict.accusedReceipt.equals(lie.cid))
  assert.ok(verdict.challengeReceipt.equals(made.challenge.cid))
  assert.ok(verdict.digests.rerun.equals(verdict.digests.challenge))
  assert.ok(!verdict.digests.rerun.equals(verdict.digests.accused))
})

test('fraud proof: a wrong challenge against an honest receipt is a false accusation', async () => {
  const opened = await openClaim(honest.receipt, repo.blocks)
  const made = await makeFraudProof(opened, { out: { ok: 99 }, fuel, executed: true, durationMs: 0 }, bob)
  await repo.commit({ blocks: [made.challenge] })
  const verdict = await judgeFraudProof(made.proof.bytes, repo.blocks, executor)
  assert.equal(verdict.verdict, 'false-accusation')
  assert.equal(verdict.accused, alice.did())
  assert.equal(verdict.challenger, bob.did())
  assert.equal(verdict.challengeRight, false)
  assert.ok(verdict.digests.rerun.equals(verdict.digests.accused))
})

test('fraud proof: when both receipts are wrong, it is fraud and the challenge is wrong too', async () => {
  const check = await recheck(lie, repo.blocks, executor)
  assert.ok(check.status === 'mismatch')
  const made = await makeFraudProof(check.claim, { ...check.rerun, out: { ok: 7 } }, bob)
  await repo.commit({ blocks: [made.challenge] })
  const verdict = await judgeFraudProof(made.proof, repo.blocks, executor)
  assert.equal(verdict.verdict, 'fraud')
  assert.equal(verdict.challengeRight, false)
})

test('fraud proof CAR: round trip, judged offline from its own blocks', async () => {
  const check = await recheck(lie, repo.blocks, executor)
  assert.ok(check.status === 'mismatch')
  const made = await makeFraudProof(check.claim, check.rerun, bob)
  // The challenge is not stored anywhere: it travels as `extra`.
  const car = await fraudProofCar(made.proof, repo.blocks, [made.challenge])
  const file = readFraudProofCar(car)
  assert.ok(file.proof.cid.equals(made.proof.cid))
  assert.ok(encodeBlock(file.proof.value).cid.equals(made.proof.cid))
  for (const cid of [lie.cid, made.challenge.cid, honest.invocation, honest.instruction.cid, module]) assert.ok(file.blocks.has(cid.toString()), `the CAR carries ${cid}`)
  const offline = mapBlocks(file.blocks)
  const judge = new LocalExecutor(offline, { threads: 1 })
  try {
    const verdict = await judgeFraudProof(file.proof, offline, judge)
    assert.equal(verdict.verdict, 'fraud')
    assert.equal(verdict.accused, alice.did())
    assert.equal(verdict.challenger, bob.did())
    assert.equal(verdict.challengeRight, true)
  } finally {
    await judge.stop()
  }
})

test('fraud proof errors are named', async t => {
  const rejects = async (proof: Block<FraudProof>, name: string, message?: RegExp): Promise<void> => {
    await assert.rejects(judgeFraudProof(proof, repo.blocks, executor), (err: Error) => {
      assert.equal(err.name, name, err.message)
      if (message !== undefined) assert.match(err.message, message)
      return true
    })
  }
  const rightOut = honest.result.out
  const challenge = await claim(repo, honest.invocation, rightOut, fuel, bob)

  await t.test('UnsignedReceipt: an unsigned accused receipt', async () => {
    const unsigned = receiptBlock({ ran: honest.invocation, out: { ok: 6 }, meta: { fuel } })
    await repo.commit({ blocks: [unsigned] })
    await rejects(await proofOf(repo, honest.instruction.cid, unsigned.cid, challenge.cid), 'UnsignedReceipt')
  })

  await t.test('UnsignedReceipt: a signed receipt whose bytes were altered', async () => {
    const altered = encodeBlock<Receipt>({ ...dagCbor.decode<Receipt>(honest.receipt.bytes), out: { ok: 6 } })
    await repo.commit({ blocks: [altered] })
    await rejects(await proofOf(repo, honest.instruction.cid, altered.cid, challenge.cid), 'UnsignedReceipt', /InvalidSignature/)
    // The altered one as the challenge.
    const alteredChallenge = encodeBlock<Receipt>({ ...dagCbor.decode<Receipt>(challenge.bytes), out: { ok: 7 } })
    await repo.commit({ blocks: [alteredChallenge] })
    await rejects(await proofOf(repo, honest.instruction.cid, lie.cid, alteredChallenge.cid), 'UnsignedReceipt')
  })

  await t.test('DifferentInstructions: receipts for different invocations, or another InID than the proof names', async () => {
    const other = await run(repo, module, executor, 'mul', [2, 3])
    const otherChallenge = await claim(repo, other.invocation, { ok: 6 }, other.result.fuel, bob)
    await rejects(await proofOf(repo, honest.instruction.cid, lie.cid, otherChallenge.cid), 'DifferentInstructions')
    await rejects(await proofOf(repo, other.instruction.cid, lie.cid, challenge.cid), 'DifferentInstructions')
  })

  await t.test('NoDisagreement: both receipts claim the same outcome', async () => {
    const agrees = await claim(repo, honest.invocation, { ok: 6 }, fuel, bob)
    await rejects(await proofOf(repo, honest.instruction.cid, lie.cid, agrees.cid), 'NoDisagreement')
  })

  await t.test('Inconclusive: the accused receipt reports no fuel', async () => {
    const noFuel = await claim(repo, honest.invocation, { ok: 6 }, null, alice)
    await rejects(await proofOf(repo, honest.instruction.cid, noFuel.cid, challenge.cid), 'Inconclusive', /Nondeterministic/)
  })

  await t.test('InvalidFraudProof: a self-accusation', async () => {
    const own = await claim(repo, honest.invocation, rightOut, fuel, alice)
    await rejects(await proofOf(repo, honest.instruction.cid, lie.cid, own.cid), 'InvalidFraudProof', /cannot accuse its own signer/)
  })

  await t.test('InvalidFraudProof: a receipt that is not available', async () => {
    const absent = encodeBlock({ absent: true }).cid
    await rejects(await proofOf(repo, honest.instruction.cid, lie.cid, absent), 'InvalidFraudProof', /not available/)
  })

  await t.test('InvalidFraudProof: a block that is not a proof', async () => {
    assert.throws(() => decodeFraudProof(encodeBlock({ type: 'ipvm/fraud-proof', v: 2 }).bytes), { name: 'InvalidFraudProof' })
    assert.throws(() => decodeFraudProof(new Uint8Array([0xff, 0x00])), { name: 'InvalidFraudProof' })
  })

  await t.test('InvalidFraudProof: a file that is not a CAR', () => {
    assert.throws(() => readFraudProofCar(new TextEncoder().encode('not a car at all')), { name: 'InvalidFraudProof', message: /not a CAR/ })
    assert.throws(() => readFraudProofCar(new Uint8Array()), { name: 'InvalidFraudProof' })
  })

  await t.test('InvalidFraudProof: a CAR whose block does not match its CID', async () => {
    const check = await recheck(lie, repo.blocks, executor)
    assert.ok(check.status === 'mismatch')
    const made = await makeFraudProof(check.claim, check.rerun, bob)
    const forged = { cid: made.challenge.cid, bytes: (await claim(repo, honest.invocation, { ok: 8 }, fuel, bob)).bytes }
    const car = writeCar(made.proof.cid, [{ cid: made.proof.cid, bytes: made.proof.bytes }, forged])
    assert.throws(() => readFraudProofCar(car), { name: 'InvalidFraudProof', message: /does not match its CID/ })
  })
})

test('attestations: round trip, forged signature, another ability', async () => {
  const digest = outcomeDigest(honest.instruction.cid, honest.result.out, fuel)
  const attestation = await signAttestation({ signer: bob, audience: carol.did(), receipt: honest.receipt.cid, digest })
  const opened = await openAttestation(attestation.bytes)
  assert.equal(opened.verifier, bob.did())
  assert.equal(opened.audience, carol.did())
  assert.ok(opened.cid.equals(attestation.cid))
  assert.ok(opened.receipt.equals(honest.receipt.cid))
  assert.ok(opened.digest.equals(digest))

  // Flip one byte of the signature and re-hash the block, so only the signature is wrong.
  const archive = CarBufferReader.fromBytes(attestation.bytes)
  const rootCid = archive.getRoots()[0] as CID
  const blocks = [...archive.blocks()].map(block => ({ cid: CID.asCID(block.cid) as CID, bytes: block.bytes }))
  const ucan = blocks.find(block => block.cid.equals(attestation.cid)) as { cid: CID, bytes: Uint8Array }
  const [signature] = findSignature(ucan.bytes, await bob.sign(new Uint8Array()))
  assert.ok(signature !== undefined, 'the UCAN holds a 64-byte ed25519 signature')
  const bytes = Uint8Array.from(ucan.bytes)
  bytes[signature + 10] = (bytes[signature + 10] as number) ^ 0x01
  const forgedUcan = { cid: cidOf(bytes, ucan.cid.code), bytes }
  // The archive's root names the UCAN: point it at the forged one.
  const relink = (value: unknown): unknown => {
    const link = CID.asCID(value)
    if (link !== null) return link.equals(ucan.cid) ? forgedUcan.cid : link
    if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return value
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, relink(item)]))
  }
  const root = rootCid.equals(ucan.cid) ? forgedUcan : encodeBlock(relink(dagCbor.decode(blocks.find(block => block.cid.equals(rootCid))?.bytes as Uint8Array)))
  const forged = writeCar(root.cid, [root, forgedUcan, ...blocks.filter(block => !block.cid.equals(rootCid) && !block.cid.equals(ucan.cid))])
  await assert.rejects(openAttestation(forged), { name: 'InvalidAttestation', message: /InvalidSignature/ })

  // A signed UCAN granting something else is not an attestation.
  const bid = await delegate({
    issuer: bob as never,
    audience: { did: () => carol.did() },
    capabilities: [{ can: 'task/bid', with: bob.did(), nb: {} }] as never,
    expiration: Infinity
  })
  await assert.rejects(openAttestation(await archiveDelegation(bid)), { name: 'InvalidAttestation', message: /receipt\/attest/ })

  // Attesting on someone else's behalf.
  const onBehalf = await delegate({
    issuer: bob as never,
    audience: { did: () => carol.did() },
    capabilities: [{ can: 'receipt/attest', with: alice.did(), nb: { receipt: honest.receipt.cid, digest } }] as never,
    expiration: Infinity
  })
  await assert.rejects(openAttestation(await archiveDelegation(onBehalf)), { name: 'InvalidAttestation', message: /speaks for its issuer/ })

  // Expired.
  const expired = await delegate({
    issuer: bob as never,
    audience: { did: () => carol.did() },
    capabilities: [{ can: 'receipt/attest', with: bob.did(), nb: { receipt: honest.receipt.cid, digest } }] as never,
    expiration: Math.floor(Date.now() / 1000) - 60
  })
  await assert.rejects(openAttestation(await archiveDelegation(expired)), { name: 'InvalidAttestation' })
  await assert.rejects(openAttestation(new TextEncoder().encode('garbage')), { name: 'InvalidAttestation' })
})

/** A CAR of `blocks` under `root`, written as given (no check that the bytes match the CIDs). */
function writeCar (root: CID, blocks: Array<{ cid: CID, bytes: Uint8Array }>): Uint8Array {
  const headerSize = CarBufferWriter.headerLength({ roots: [root] })
  const size = headerSize + blocks.reduce((sum, block) => sum + CarBufferWriter.blockLength(block), 0)
  const writer = CarBufferWriter.createWriter(new ArrayBuffer(size), { roots: [root], headerSize })
  for (const block of blocks) writer.write(block)
  return writer.close()
}

/**
 * Offsets of ed25519 signatures in `bytes`: a varsig has the same 4-byte
 * header as `sample` (varint code, varint length 64) followed by 64 bytes.
 */
function findSignature (bytes: Uint8Array, sample: Uint8Array): number[] {
  const header = sample.subarray(0, sample.byteLength - 64)
  const found: number[] = []
  for (let i = 0; i + header.byteLength + 64 <= bytes.byteLength; i++) {
    if (header.every((byte, j) => bytes[i + j] === byte)) found.push(i + header.byteLength)
  }
  return found
}

const randomCids = (count: number): CID[] => Array.from({ length: count }, () => cidOf(randomBytes(32), codecs.raw))

test('sampler: rates 0 and 1, the rate within 5 sigma, independent secrets', () => {
  const cids = randomCids(20_000)
  const secret = randomBytes(32)
  assert.equal(cids.filter(cid => new Sampler(secret, 0).chooses(cid)).length, 0)
  assert.equal(cids.filter(cid => new Sampler(secret, 1).chooses(cid)).length, cids.length)

  const rate = 0.1
  const chosen = cids.filter(cid => new Sampler(secret, rate).chooses(cid)).length
  const sigma = Math.sqrt(cids.length * rate * (1 - rate))
  assert.ok(Math.abs(chosen - cids.length * rate) < 5 * sigma, `${chosen} of ${cids.length} chosen at rate ${rate}`)

  // Reproducible for one secret.
  const again = new Sampler(Uint8Array.from(secret), rate)
  assert.equal(cids.filter(cid => again.chooses(cid)).length, chosen)

  // Two secrets: the draws are uncorrelated (|r| within 5/√n of 0).
  const first = new Sampler(secret, 0.5)
  const second = new Sampler(randomBytes(32), 0.5)
  const x = cids.map(cid => first.draw(cid))
  const y = cids.map(cid => second.draw(cid))
  const r = correlation(x, y)
  assert.ok(Math.abs(r) < 5 / Math.sqrt(cids.length), `correlation ${r}`)
  // Both chose about half, and not the same half.
  const both = cids.filter(cid => first.chooses(cid) && second.chooses(cid)).length
  const bothSigma = Math.sqrt(cids.length * 0.25 * 0.75)
  assert.ok(Math.abs(both - cids.length * 0.25) < 5 * bothSigma, `${both} chosen by both`)

  assert.throws(() => new Sampler(secret, 1.5), RangeError)
  assert.throws(() => new Sampler(secret, Number.NaN), RangeError)
  assert.throws(() => new Sampler(new Uint8Array(8), 0.5), RangeError)
})

function correlation (x: number[], y: number[]): number {
  const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length
  const mx = mean(x)
  const my = mean(y)
  let sxy = 0
  let sxx = 0
  let syy = 0
  x.forEach((xi, i) => {
    const dx = xi - mx
    const dy = (y[i] as number) - my
    sxy += dx * dy
    sxx += dx * dx
    syy += dy * dy
  })
  return sxy / Math.sqrt(sxx * syy)
}

test('sampling secret: created 0600, re-read the same, short files refused', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'verifier', 'sampling.key')
  const secret = await loadSamplingSecret(path)
  assert.equal(secret.byteLength, 32)
  if (process.platform !== 'win32') assert.equal((await stat(path)).mode & 0o777, 0o600)
  assert.deepEqual(await loadSamplingSecret(path), secret)

  const short = join(dir, 'short.key')
  await writeFile(short, new Uint8Array(8))
  await assert.rejects(loadSamplingSecret(short), { name: 'InputError', message: /needs 32/ })
})
