/**
 * `ipvm verify` as a process: re-running receipts from the store and from
 * files, writing and judging fraud proofs, and its exit codes. alice (a fixed
 * identity) is the executor; each node home has its own random identity.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as dagJson from '@ipld/dag-json'
import * as CarBufferWriter from '@ipld/car/buffer-writer'
import { tempDir, wat, MATH_WAT } from '../helpers.js'
import { openLmdbRepo } from '../../src/store/lmdb-repo.js'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { LocalExecutor } from '../../src/executor/local.js'
import { receiptBundle, signInvocation, signReceipt } from '../../src/auth/sign.js'
import { alice, bob } from '../../src/auth/fixtures.js'
import { cidOf, codecs, encodeBlock } from '../../src/model/block.js'
import { instructionBlock } from '../../src/model/instruction.js'
import { receiptValue } from '../../src/model/receipt.js'
import { openClaim } from '../../src/verify/recheck.js'
import { fraudProofCar, makeFraudProof } from '../../src/verify/fraud-proof.js'
import type { CID } from 'multiformats/cid'
import type { Block } from '../../src/model/block.js'
import type { Receipt } from '../../src/model/types.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const bin = join(root, 'dist/src/cli/bin.js')

interface Result { code: number, stdout: string, stderr: string }

async function ipvm (args: string[], home: string, cwd?: string): Promise<Result> {
  return await new Promise(resolve => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, IPVM_HOME: home, NO_COLOR: '1' }, timeout: 30_000, ...(cwd !== undefined ? { cwd } : {}) }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

function assertClean (result: Result): void {
  assert.doesNotMatch(result.stderr + result.stdout, /\n\s+at .+:\d+:\d+/, 'printed a stack trace')
}

function car (rootCid: CID, blocks: Array<{ cid: CID, bytes: Uint8Array }>): Uint8Array {
  const unique = [...new Map(blocks.map(block => [block.cid.toString(), block])).values()]
  const headerSize = CarBufferWriter.headerLength({ roots: [rootCid] })
  const size = headerSize + unique.reduce((sum, block) => sum + CarBufferWriter.blockLength(block), 0)
  const writer = CarBufferWriter.createWriter(new ArrayBuffer(size), { roots: [rootCid], headerSize })
  for (const block of unique) writer.write(block)
  return writer.close()
}

// alice runs add(2, 3) as a remote executor does: a signed invocation committing to its arguments, a signed receipt.
const source = memoryRepo()
const math = await wat(MATH_WAT)
const module = { cid: cidOf(math, codecs.raw), bytes: math }
await source.blocks.put(module.cid, module.bytes)
const instruction = instructionBlock({ rsc: `ipfs://${module.cid}`, op: 'wasm/run', input: { func: 'add', args: [2, 3] }, nnc: '' })
const argsBlock = encodeBlock([2, 3])
const signed = await signInvocation({ run: instruction.cid, meta: { fuel: 1_000_000, args: argsBlock.cid }, prf: [] }, alice)
const executor = new LocalExecutor(source.blocks, { threads: 1 })
const result = await executor.execute({ instruction: instruction.value, instructionCid: instruction.cid, module: module.cid, func: 'add', args: [2, 3], meta: { fuel: 1_000_000 } })
await executor.stop()
const fuel = result.fuel as number
const honest = await signReceipt(receiptValue({ ran: signed.invocation.cid, out: result.out, meta: { fuel } }), alice)
const lie = await signReceipt(receiptValue({ ran: signed.invocation.cid, out: { ok: 6 }, meta: { fuel } }), alice)
const noFuel = await signReceipt(receiptValue({ ran: signed.invocation.cid, out: { ok: 5 }, meta: {} }), alice)
await source.commit({ blocks: [instruction, argsBlock, signed.invocation, signed.authorization, honest, lie] })

/** A self-contained receipt CAR: the receipt, what it rests on, and the module. */
async function receiptCar (receipt: Block<Receipt>): Promise<Uint8Array> {
  return car(receipt.cid, [receipt, ...await receiptBundle(source.blocks, receipt.value), module])
}

test('ipvm verify: a receipt in the store, by InID and by CID, and as DAG-JSON', async t => {
  const home = await tempDir(t)
  const dir = await tempDir(t)
  const repo = openLmdbRepo({ path: home })
  await repo.commit({ blocks: [module, instruction, argsBlock, signed.invocation, signed.authorization, honest], receipt: { instructionCids: [instruction.cid], receiptCid: honest.cid } })
  await repo.close()

  // DAG-JSON, what `ipvm receipt` prints: the rest comes from the store.
  await writeFile(join(dir, 'receipt.json'), dagJson.encode(honest.value))
  const [byInId, json, text] = await Promise.all([
    ipvm(['verify', instruction.cid.toString()], home),
    ipvm(['verify', honest.cid.toString(), '--json'], home),
    ipvm(['verify', join(dir, 'receipt.json')], home)
  ])
  assert.equal(byInId.code, 0, byInId.stderr)
  assert.match(byInId.stdout, new RegExp(`^valid: ${honest.cid} \\(outcome digest bafyrei\\w+, fuel ${fuel}\\)$`, 'm'))

  assert.equal(json.code, 0, json.stderr)
  const report = JSON.parse(json.stdout)
  assert.equal(report.ok, true)
  assert.equal(report.status, 'valid')
  assert.equal(report.receipt, honest.cid.toString())
  assert.equal(report.issuer, alice.did())
  assert.equal(report.fuel, String(fuel))

  assert.equal(text.code, 0, text.stderr)
  assert.match(text.stdout, new RegExp(`^valid: ${honest.cid}`))
})

test('ipvm verify: a wrong receipt gives a fraud proof, and --proof judges it', async t => {
  const home = await tempDir(t)
  const judge = await tempDir(t)
  const dir = await tempDir(t)
  await writeFile(join(dir, 'honest.car'), await receiptCar(honest))
  await writeFile(join(dir, 'lie.car'), await receiptCar(lie))

  // Offline from the CAR alone: this home has no store. Its identity is made first, so the runs share it.
  const id = JSON.parse((await ipvm(['id', '--json'], home)).stdout) as { did: string }
  const proofPath = join(dir, 'proof.car')
  const [valid, fraud, json] = await Promise.all([
    ipvm(['verify', join(dir, 'honest.car')], home),
    ipvm(['verify', join(dir, 'lie.car'), '--out', proofPath], home),
    // The default --out, in the current directory; --json names the challenger (this node).
    ipvm(['verify', join(dir, 'lie.car'), '--json'], home, dir)
  ])
  assert.equal(valid.code, 0, valid.stderr)
  assert.match(valid.stdout, new RegExp(`^valid: ${honest.cid}`))
  assertClean(fraud)
  assert.equal(fraud.code, 1, fraud.stderr)
  assert.match(fraud.stdout, new RegExp(`^fraud: ${alice.did()}'s receipt ${lie.cid} .* proof written to ${proofPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'))
  assert.ok(existsSync(proofPath))

  assert.equal(json.code, 1, json.stderr)
  const report = JSON.parse(json.stdout)
  assert.equal(report.status, 'fraud')
  assert.equal(report.issuer, alice.did())
  assert.equal(report.challenger, id.did)
  assert.equal(report.proof, join(dir, `fraud-${lie.cid}.car`))
  assert.ok(existsSync(join(dir, `fraud-${lie.cid}.car`)))

  // Judged by another node with nothing stored: the proof carries what it needs.
  const [proven, provenText] = await Promise.all([ipvm(['verify', '--proof', proofPath], judge), ipvm(['verify', '--proof', proofPath, '--json'], judge)])
  assertClean(proven)
  assert.equal(proven.code, 0, proven.stderr)
  assert.match(proven.stdout, new RegExp(`^fraud proven: ${alice.did()}'s receipt ${lie.cid} is wrong`))
  const provenJson = JSON.parse(provenText.stdout)
  assert.equal(provenJson.verdict, 'fraud')
  assert.equal(provenJson.accused, alice.did())
  assert.equal(provenJson.challenger, id.did)
  assert.equal(provenJson.challengeRight, true)
})

test('ipvm verify --proof: a false accusation exits 1', async t => {
  const judge = await tempDir(t)
  const dir = await tempDir(t)
  // bob accuses alice's honest receipt with a wrong result.
  const claim = await openClaim(honest, source.blocks)
  const made = await makeFraudProof(claim, { out: { ok: 99 }, fuel, executed: true, durationMs: 0 }, bob)
  await writeFile(join(dir, 'false.car'), await fraudProofCar(made.proof, source.blocks, [made.challenge, honest]))
  const judged = await ipvm(['verify', '--proof', join(dir, 'false.car')], judge)
  assertClean(judged)
  assert.equal(judged.code, 1)
  assert.match(judged.stdout, new RegExp(`^false accusation: ${bob.did()}'s challenge ${made.challenge.cid} is wrong`))
})

test('ipvm verify: garbage, uncheckable receipts and invalid proofs are named errors', async t => {
  const home = await tempDir(t)
  const dir = await tempDir(t)
  const garbage = join(dir, 'garbage.bin')
  await writeFile(garbage, new TextEncoder().encode('this is not a receipt\n'))

  await writeFile(join(dir, 'honest.car'), await receiptCar(honest))
  await writeFile(join(dir, 'no-fuel.car'), await receiptCar(noFuel))
  await writeFile(join(dir, 'bare.cbor'), honest.bytes)
  // Independent processes: run together.
  const [notReceipt, notProof, receiptAsProof, nondeterministic, missing, unknown] = await Promise.all([
    ipvm(['verify', garbage], home),
    ipvm(['verify', '--proof', garbage], home),
    // A CAR that is a receipt, not a proof.
    ipvm(['verify', '--proof', join(dir, 'honest.car'), '--json'], home),
    ipvm(['verify', join(dir, 'no-fuel.car')], home),
    // The receipt alone, with no store: its invocation is missing.
    ipvm(['verify', join(dir, 'bare.cbor')], home),
    ipvm(['verify', instruction.cid.toString()], await tempDir(t))
  ])
  for (const result of [notReceipt, notProof, receiptAsProof, nondeterministic, missing, unknown]) {
    assertClean(result)
    assert.equal(result.code, 1, result.stderr)
  }
  assert.match(notReceipt.stderr, /^ipvm verify: MalformedReceipt: /m)
  assert.match(notProof.stderr, /^ipvm verify: InvalidFraudProof: not a CAR/m)
  assert.equal(JSON.parse(receiptAsProof.stdout).error.name, 'InvalidFraudProof')
  assert.match(nondeterministic.stderr, /^ipvm verify: Nondeterministic: /m)
  assert.match(missing.stderr, /^ipvm verify: MissingBlock: invocation /m)
  assert.match(unknown.stderr, /^ipvm verify: no receipt /m)
  assert.equal(existsSync(join(home, 'store.lmdb')), false, 'verifying files creates no store')
})

test('ipvm verify: misuse exits 2, --help exits 0', async t => {
  const home = await tempDir(t)
  const dir = await tempDir(t)
  const file = join(dir, 'x.car')
  await writeFile(file, new Uint8Array([1]))
  const misuses = [[], [file, '--proof', file], ['--frobnicate', file], [file, file], ['not-a-file-nor-a-cid'], ['--proof', file, '--out', file]]
  const [help, ...results] = await Promise.all([ipvm(['verify', '--help'], home), ...misuses.map(async args => await ipvm(['verify', ...args], home))])
  results.forEach((misuse, i) => {
    assertClean(misuse)
    assert.equal(misuse.code, 2, `ipvm verify ${(misuses[i] as string[]).join(' ')}: ${misuse.stderr}`)
    assert.match(misuse.stderr, /^ipvm verify: /)
  })
  assert.equal(help?.code, 0)
  assert.match(help?.stdout ?? '', /^Usage: ipvm verify \[options\] RECEIPT/)
  assert.match(help?.stdout ?? '', /--proof FILE/)
  assert.equal((await readFile(file)).byteLength, 1)
})
