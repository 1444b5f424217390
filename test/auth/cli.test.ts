import test from 'node:test'
import assert from 'node:assert/strict'
import { parseArgs } from 'node:util'
import { Writable } from 'node:stream'
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CAR } from '@ucanto/core'
import { IpvmError, UsageError } from '../../src/errors.js'
import { id } from '../../src/cli/commands/id.js'
import { delegate } from '../../src/cli/commands/delegate.js'
import { revoke } from '../../src/cli/commands/revoke.js'
import { verifyReceiptCommand } from '../../src/cli/commands/verify-receipt.js'
import { extractDelegation } from '../../src/auth/delegation.js'
import { signReceipt } from '../../src/auth/sign.js'
import { carol, mallory } from '../../src/auth/fixtures.js'
import { openLmdbRepo } from '../../src/store/lmdb-repo.js'
import { base64 } from 'multiformats/bases/base64'
import { toDagJson } from '../../src/model/dag-json.js'
import { tempDir } from '../helpers.js'
import { scenario, receiptFor } from './scenario.js'
import type { Command } from '../../src/cli/command.js'

class Capture extends Writable {
  text = ''
  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString()
    callback()
  }
}

interface Result { code: number, stdout: string, stderr: string }

/** Runs a command the way src/cli/main.ts does: parse, run, IpvmError → message and exit code. */
async function ipvm (command: Command, args: string[], home: string): Promise<Result> {
  const stdout = new Capture()
  const stderr = new Capture()
  let code: number
  try {
    let parsed
    try {
      parsed = parseArgs({ args, options: command.options, allowPositionals: true, strict: true })
    } catch (err) {
      throw new UsageError((err as Error).message)
    }
    code = parsed.values.help === true
      ? (stdout.write(command.help + '\n'), 0)
      : await command.run({ values: parsed.values, positionals: parsed.positionals, env: { IPVM_HOME: home }, stdout, stderr, signal: new AbortController().signal })
  } catch (err) {
    if (!(err instanceof IpvmError)) throw err
    stderr.write(`ipvm ${command.name}: ${err.message}\n`)
    code = err instanceof UsageError ? 2 : 1
  }
  assert.doesNotMatch(stdout.text + stderr.text, /\n\s+at .+:\d+:\d+/, 'printed a stack trace')
  return { code, stdout: stdout.text, stderr: stderr.text }
}

test('every command has full --help text', async t => {
  const home = await tempDir(t)
  for (const [command, flags] of [[id, []], [delegate, ['--to', '--max-fuel', '--module', '--expires', '--not-before', '--proof', '--out']], [revoke, ['--reason', '--list']], [verifyReceiptCommand, ['--issuer', '--at', '--require-chain']]] as const) {
    const result = await ipvm(command, ['--help'], home)
    assert.equal(result.code, 0)
    assert.match(result.stdout, new RegExp(`^Usage: ipvm ${command.name}`))
    for (const flag of [...flags, '--json', '--repo']) assert.ok(result.stdout.includes(flag), `${command.name} --help mentions ${flag}`)
  }
})

test('ipvm id creates the identity once and prints the same DID and PeerId after', async t => {
  const home = await tempDir(t)
  const first = await ipvm(id, [], home)
  assert.equal(first.code, 0, first.stderr)
  assert.match(first.stdout, /^DID {5}did:key:z6Mk\w+\nPeerId {2}12D3KooW\w+\n\(new key written to /)
  const json = JSON.parse((await ipvm(id, ['--json'], home)).stdout)
  assert.equal(json.created, false)
  assert.equal(first.stdout.split('\n')[0]?.split(/\s+/)[1], json.did)
  assert.ok(!first.stdout.includes((await readFile(join(home, 'identity.key'))).toString('hex')), 'the key is never printed')
})

test('ipvm id refuses a key file readable by others, exit 1, with the fix', async t => {
  const home = await tempDir(t)
  await ipvm(id, [], home)
  await chmod(join(home, 'identity.key'), 0o644)
  const result = await ipvm(id, [], home)
  assert.equal(result.code, 1)
  assert.match(result.stderr, /ipvm id: refusing to use .*identity\.key.*mode 0644.*chmod 600/)
})

test('ipvm delegate: requester → scheduler budget, scheduler → executor award, escalation refused', async t => {
  const requesterHome = await tempDir(t)
  const schedulerHome = await tempDir(t)
  const dir = await tempDir(t)
  const requester = JSON.parse((await ipvm(id, ['--json'], requesterHome)).stdout).did as string
  const scheduler = JSON.parse((await ipvm(id, ['--json'], schedulerHome)).stdout).did as string
  const module = 'bafkreid5a4tieythwmatz36cnoapkrxsrgldsz4cpcrvgkn6uugo7r4zyq'

  const budget = await ipvm(delegate, ['--to', scheduler, '--max-fuel', '1_000_000', '--max-price', '100', '--module', module, '--expires', '1h', '--out', join(dir, 'budget.car')], requesterHome)
  assert.equal(budget.code, 0, budget.stderr)
  assert.match(budget.stdout, /^delegation bafyrei\w+\n/)
  const extracted = extractDelegation(await readFile(join(dir, 'budget.car')))
  assert.equal(extracted.ok?.issuer.did(), requester)
  assert.equal(extracted.ok?.audience.did(), scheduler)
  assert.deepEqual(extracted.ok?.capabilities.map(c => c.can), ['wasm/run'])

  const award = await ipvm(delegate, ['--to', carol.did(), '--max-fuel', '5000', '--max-price', '10', '--module', module, '--expires', '30m', '--proof', join(dir, 'budget.car'), '--json'], schedulerHome)
  assert.equal(award.code, 0, award.stderr)
  const awardJson = JSON.parse(award.stdout)
  assert.equal(awardJson.proofs[0], extracted.ok?.cid.toString())
  assert.equal(awardJson.capabilities[0].with, requester, 'the award spends the requester\'s resource')
  assert.equal(extractDelegation(base64.decode(awardJson.car)).ok?.cid.toString(), awardJson.cid)

  const escalated = await ipvm(delegate, ['--to', carol.did(), '--max-fuel', '2000000', '--max-price', '10', '--module', module, '--expires', '30m', '--proof', join(dir, 'budget.car')], schedulerHome)
  assert.equal(escalated.code, 1)
  assert.match(escalated.stderr, /EscalatedCapability: .*at most 1000000/)

  const notMine = await ipvm(delegate, ['--to', carol.did(), '--max-fuel', '10', '--expires', '30m', '--proof', join(dir, 'budget.car')], requesterHome)
  assert.equal(notMine.code, 1)
  assert.match(notMine.stderr, /BrokenChain/)
})

test('ipvm delegate: base64 on stdout is a valid --proof; bad input is a usage error (exit 2)', async t => {
  const home = await tempDir(t)
  const dir = await tempDir(t)
  const printed = await ipvm(delegate, ['--to', carol.did(), '--max-fuel', '10', '--expires', '2030-01-01T00:00:00Z', '--not-before', '1m'], home)
  assert.equal(printed.code, 0, printed.stderr)
  assert.match(printed.stdout, /^m[A-Za-z0-9+/]+=*\n$/)
  const proof = extractDelegation(base64.decode(printed.stdout.trim()))
  assert.equal(proof.ok?.expiration, Date.parse('2030-01-01T00:00:00Z') / 1000)
  await writeFile(join(dir, 'proof.txt'), printed.stdout)
  const notAddressed = await ipvm(delegate, ['--to', carol.did(), '--max-fuel', '1', '--expires', '1h', '--proof', join(dir, 'proof.txt')], home)
  assert.equal(notAddressed.code, 1, 'not addressed to this node')

  await writeFile(join(dir, 'cut.car'), base64.decode(printed.stdout.trim()).subarray(0, 40))
  const cut = await ipvm(delegate, ['--to', carol.did(), '--max-fuel', '1', '--expires', '1h', '--proof', join(dir, 'cut.car')], home)
  assert.equal(cut.code, 1)
  assert.match(cut.stderr, /MalformedDelegation/)

  const bid = await ipvm(delegate, ['--to', carol.did(), '--can', 'task/bid', '--task', 'bafkreid5a4tieythwmatz36cnoapkrxsrgldsz4cpcrvgkn6uugo7r4zyq', '--max-price', '5', '--expires', '1h', '--json'], home)
  assert.equal(bid.code, 0, bid.stderr)
  const bidJson = JSON.parse(bid.stdout)
  assert.deepEqual(bidJson.capabilities[0], { can: 'task/bid', with: bidJson.issuer, nb: { task: { '/': 'bafkreid5a4tieythwmatz36cnoapkrxsrgldsz4cpcrvgkn6uugo7r4zyq' }, maxPrice: 5 } })
  const attest = await ipvm(delegate, ['--to', carol.did(), '--can', 'receipt/attest', '--expires', '1h', '--json'], home)
  assert.equal(JSON.parse(attest.stdout).capabilities[0].can, 'receipt/attest')

  for (const args of [
    ['--to', carol.did(), '--can', 'receipt/attest', '--max-fuel', '1', '--expires', '1h'],
    ['--to', carol.did(), '--expires', '1h'],
    ['--to', carol.did(), '--max-fuel', '10'],
    ['--to', 'bob', '--max-fuel', '10', '--expires', '1h'],
    ['--to', carol.did(), '--max-fuel', '-3', '--expires', '1h'],
    ['--to', carol.did(), '--max-fuel', '10', '--expires', 'soon'],
    ['--to', carol.did(), '--max-fuel', '10', '--expires', '1h', '--module', 'nope'],
    ['--to', carol.did(), '--can', 'wasm/fly', '--expires', '1h']
  ]) {
    const result = await ipvm(delegate, args, home)
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
  }
})

/** A CAR with the receipt as root and everything needed to check its chain. */
async function receiptCar (s: Awaited<ReturnType<typeof scenario>>, receipt: { cid: unknown, bytes: Uint8Array }): Promise<Uint8Array> {
  const blocks = new Map<string, { cid: unknown, bytes: Uint8Array }>()
  const instruction = await s.repo.blocks.get(s.task.run)
  assert.ok(instruction !== undefined)
  for (const block of [receipt, s.signed.invocation, s.signed.authorization, ...s.signed.proofs, { cid: s.task.run, bytes: instruction }]) blocks.set(String(block.cid), block)
  return CAR.encode({ roots: [receipt as never], blocks: blocks as never })
}

test('ipvm verify-receipt FILE: valid chain exits 0; a forged receipt exits 1 with the error\'s name', async t => {
  const home = await tempDir(t)
  const dir = await tempDir(t)
  const s = await scenario({ award: { expiration: Math.floor(Date.now() / 1000) + 3600 }, budget: { expiration: Math.floor(Date.now() / 1000) + 7200 } })
  const good = await signReceipt(receiptFor(s.signed.invocation.cid), carol)
  await writeFile(join(dir, 'good.car'), await receiptCar(s, good))
  const ok = await ipvm(verifyReceiptCommand, [join(dir, 'good.car')], home)
  assert.equal(ok.code, 0, ok.stderr)
  assert.match(ok.stdout, /signed by {3}did:key:z6Mkqctbb2\w+ \(EdDSA\): signature valid/)
  assert.match(ok.stdout, /chain {7}2 delegations, valid, none revoked/)

  const forged = await signReceipt(receiptFor(s.signed.invocation.cid, { ok: 666 }), mallory)
  await writeFile(join(dir, 'forged.car'), await receiptCar(s, forged))
  const bad = await ipvm(verifyReceiptCommand, [join(dir, 'forged.car'), '--json'], home)
  assert.equal(bad.code, 1)
  assert.match(bad.stderr, /^ipvm verify-receipt: WrongIssuer: /)
  assert.equal(JSON.parse(bad.stdout).error.name, 'WrongIssuer')

  const later = await ipvm(verifyReceiptCommand, [join(dir, 'good.car'), '--at', '3h'], home)
  assert.equal(later.code, 1)
  assert.match(later.stderr, /Expired: delegation bafyrei\w+ \(did:key:\w+ → did:key:\w+\) expired at/)

  await writeFile(join(dir, 'good.json'), toDagJson(good.value))
  const fromJson = await ipvm(verifyReceiptCommand, [join(dir, 'good.json'), '--issuer', carol.did()], home)
  assert.equal(fromJson.code, 0, fromJson.stderr)
  assert.ok(fromJson.stdout.includes(`receipt     ${good.cid}`), 'DAG-JSON input gives the same receipt CID')

  await writeFile(join(dir, 'bare.cbor'), good.bytes)
  const bare = await ipvm(verifyReceiptCommand, [join(dir, 'bare.cbor')], home)
  assert.equal(bare.code, 0)
  assert.match(bare.stdout, /not available here, chain not checked/)
  assert.equal((await ipvm(verifyReceiptCommand, [join(dir, 'bare.cbor'), '--require-chain'], home)).code, 1)
})

test('ipvm revoke: verify-receipt by CID honours the node\'s revocations', async t => {
  const home = await tempDir(t)
  const s = await scenario({ award: { expiration: Math.floor(Date.now() / 1000) + 3600 }, budget: { expiration: Math.floor(Date.now() / 1000) + 7200 } })
  const good = await signReceipt(receiptFor(s.signed.invocation.cid), carol)
  const repo = openLmdbRepo({ path: home })
  const instruction = await s.repo.blocks.get(s.task.run)
  assert.ok(instruction !== undefined)
  await repo.commit({ blocks: [good, s.signed.invocation, s.signed.authorization, ...s.signed.proofs, { cid: s.task.run, bytes: instruction }], receipt: { instructionCids: [s.task.run], receiptCid: good.cid } })
  await repo.close()

  const before = await ipvm(verifyReceiptCommand, [s.task.run.toString()], home)
  assert.equal(before.code, 0, before.stderr)

  const revoked = await ipvm(revoke, [s.budget.cid.toString(), '--reason', 'budget withdrawn'], home)
  assert.equal(revoked.code, 0, revoked.stderr)
  assert.equal(revoked.stdout, `revoked ${s.budget.cid}\n`)
  assert.match((await ipvm(revoke, [s.budget.cid.toString()], home)).stdout, /already revoked/)
  const listed = JSON.parse((await ipvm(revoke, ['--list', '--json'], home)).stdout)
  assert.deepEqual(listed.map((entry: { cid: string, reason: string }) => [entry.cid, entry.reason]), [[s.budget.cid.toString(), 'budget withdrawn']])

  const after = await ipvm(verifyReceiptCommand, [good.cid.toString()], home)
  assert.equal(after.code, 1)
  assert.match(after.stderr, new RegExp(`Revoked: delegation ${s.budget.cid}`))
  assert.equal((await ipvm(revoke, ['not-a-cid'], home)).code, 2)
  assert.equal((await ipvm(verifyReceiptCommand, ['bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'], home)).code, 1)
})
