import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import fc from 'fast-check'
import { open } from 'lmdb'
import { alice, bob, carol } from '../../src/auth/fixtures.js'
import { LEDGER_DB_FILE, LEDGER_DBS, LmdbLedger } from '../../scheduler/lmdb-ledger.js'
import { tempDir } from '../helpers.js'
import type { TestContext } from 'node:test'
import type { DID } from '../../src/auth/types.js'
import type { Account, Escrow, Ledger, OpenEscrow } from '../../scheduler/ledger.js'

const ALICE = alice.did()
const BOB = bob.did()
const CAROL = carol.did()
const DIDS = [ALICE, BOB, CAROL]
const NOW = 1_700_000_000_000

async function ledgerIn (t: TestContext, dir?: string): Promise<{ ledger: LmdbLedger, dir: string }> {
  dir ??= await tempDir(t)
  const ledger = LmdbLedger.open(dir, { now: () => NOW })
  t.after(async () => { await ledger.close() })
  return { ledger, dir }
}

function balances (ledger: Ledger, did: DID): Omit<Account, 'did'> {
  const { available, staked, escrowed } = ledger.account(did)
  return { available, staked, escrowed }
}

/** Everything observable, to check that a failed call changed nothing. */
function snapshot (ledger: Ledger, escrowIds: string[] = []): unknown {
  return {
    accounts: ledger.accounts(),
    journal: ledger.journal().length,
    escrows: escrowIds.map(id => ledger.escrow(id)),
    held: ledger.heldEscrows().map(escrow => escrow.id),
    due: ledger.settleDue(Number.MAX_SAFE_INTEGER).map(escrow => escrow.id)
  }
}

/** `call` rejects with the named error and leaves the ledger as it was. */
async function rejectsUnchanged (ledger: Ledger, call: () => Promise<unknown>, name: string, message?: RegExp, escrowIds: string[] = []): Promise<void> {
  const before = snapshot(ledger, escrowIds)
  await assert.rejects(call(), (err: Error) => {
    assert.equal(err.name, name, `${err.name}: ${err.message}`)
    if (message !== undefined) assert.match(err.message, message)
    return true
  })
  assert.deepEqual(snapshot(ledger, escrowIds), before)
  ledger.audit()
}

const open3 = (id: string, extra: Partial<OpenEscrow> = {}): OpenEscrow => ({ id, payer: ALICE, payee: BOB, amount: 100, workflow: 'wf', task: `task-${id}`, ...extra })

test('deposit, stake and unstake move credits and journal one entry each', async t => {
  const { ledger } = await ledgerIn(t)
  assert.deepEqual(ledger.account(ALICE), { did: ALICE, available: 0, staked: 0, escrowed: 0 })
  assert.deepEqual(ledger.accounts(), [])

  assert.deepEqual(await ledger.deposit(ALICE, 1_000, { memo: 'faucet' }), { seq: 1, at: NOW, kind: 'deposit', to: ALICE, amount: 1_000, stake: false, memo: 'faucet' })
  assert.deepEqual(await ledger.deposit(BOB, 300, { stake: true }), { seq: 2, at: NOW, kind: 'deposit', to: BOB, amount: 300, stake: true })
  assert.deepEqual(await ledger.stake(ALICE, 250), { seq: 3, at: NOW, kind: 'stake', did: ALICE, amount: 250 })
  assert.deepEqual(await ledger.unstake(BOB, 100), { seq: 4, at: NOW, kind: 'unstake', did: BOB, amount: 100 })

  assert.deepEqual(balances(ledger, ALICE), { available: 750, staked: 250, escrowed: 0 })
  assert.deepEqual(balances(ledger, BOB), { available: 100, staked: 200, escrowed: 0 })
  assert.deepEqual(ledger.accounts().map(account => account.did), [ALICE, BOB].sort())
  assert.deepEqual(ledger.journal({ from: 2, limit: 2 }).map(entry => entry.seq), [2, 3])
  assert.deepEqual(ledger.journal({ from: 4 }).map(entry => entry.kind), ['unstake'])
  assert.deepEqual(ledger.audit(), { entries: 4, deposited: 1_300, available: 850, staked: 450, held: 0 })
})

test('an escrow is opened, charged, listed when due and settled: the payee gets the charge, the payer the rest', async t => {
  const { ledger } = await ledgerIn(t)
  await ledger.deposit(ALICE, 1_000)
  await ledger.deposit(BOB, 500, { stake: true })

  const opened = await ledger.openEscrow(open3('wf/0/1', { budget: 400, minPayeeStake: 500 }))
  assert.deepEqual(opened, { id: 'wf/0/1', payer: ALICE, payee: BOB, amount: 100, workflow: 'wf', task: 'task-wf/0/1', state: 'held', openedAt: 3, changedAt: 3 })
  assert.deepEqual(ledger.escrow('wf/0/1'), opened)
  assert.deepEqual(balances(ledger, ALICE), { available: 900, staked: 0, escrowed: 100 })
  assert.equal(ledger.committed('wf'), 100)
  assert.equal(ledger.committed('other'), 0)
  assert.deepEqual(ledger.heldEscrows().map(escrow => escrow.id), ['wf/0/1'])
  assert.deepEqual(ledger.settleDue(Number.MAX_SAFE_INTEGER), [])

  const charged = await ledger.charge('wf/0/1', 30, NOW + 60_000)
  assert.deepEqual(charged, { ...opened, state: 'charged', charge: 30, finalAt: NOW + 60_000, changedAt: 4 })
  assert.deepEqual(ledger.heldEscrows(), [])
  assert.deepEqual(ledger.settleDue(NOW + 59_999), [], 'not final before finalAt')
  assert.deepEqual(ledger.settleDue(NOW + 60_000), [charged])

  const settled = await ledger.settle('wf/0/1', BOB)
  assert.deepEqual(settled, { ...charged, state: 'settled', changedAt: 5 })
  assert.deepEqual(balances(ledger, ALICE), { available: 970, staked: 0, escrowed: 0 })
  assert.deepEqual(balances(ledger, BOB), { available: 30, staked: 500, escrowed: 0 })
  assert.equal(ledger.committed('wf'), 30, 'the charge paid stays committed, the rest is released')
  assert.deepEqual(ledger.settleDue(Number.MAX_SAFE_INTEGER), [])
  assert.deepEqual(ledger.journal({ from: 5 }), [{ seq: 5, at: NOW, kind: 'settle', escrow: 'wf/0/1', paid: 30, refunded: 70 }])
  assert.deepEqual(ledger.audit(), { entries: 5, deposited: 1_500, available: 1_000, staked: 500, held: 0 })
})

test('settleDue lists charged escrows in finalAt order; a charge of 0 pays nothing and creates no account', async t => {
  const { ledger } = await ledgerIn(t)
  await ledger.deposit(ALICE, 1_000)
  await ledger.openEscrow(open3('late'))
  await ledger.openEscrow(open3('early'))
  await ledger.openEscrow(open3('free'))
  await ledger.charge('late', 10, 300)
  await ledger.charge('early', 10, 100)
  await ledger.charge('free', 0, 200)
  assert.deepEqual(ledger.settleDue(250).map(escrow => escrow.id), ['early', 'free'])
  await ledger.settle('free')
  assert.deepEqual(ledger.accounts().map(account => account.did), [ALICE])
  assert.deepEqual(balances(ledger, ALICE), { available: 800, staked: 0, escrowed: 200 })
  assert.equal(ledger.committed('wf'), 200)
  ledger.audit()
})

test('an escrow of 0 (a task awarded at price 0) records the award, checks the stake, and settles to nothing', async t => {
  const { ledger } = await ledgerIn(t)
  await assert.rejects(ledger.openEscrow({ ...open3('free'), amount: 0, minPayeeStake: 1 }), { name: 'InsufficientStake' })
  const escrow = await ledger.openEscrow({ ...open3('free'), amount: 0 })
  assert.equal(escrow.state, 'held')
  await ledger.charge('free', 0, 0)
  assert.equal((await ledger.settle('free')).state, 'settled')
  await assert.rejects(ledger.settle('free'), { name: 'AlreadySettled' })
  assert.deepEqual(balances(ledger, ALICE), { available: 0, staked: 0, escrowed: 0 })
  ledger.audit()
})

test('refund returns everything held to the payer, from held and from charged', async t => {
  const { ledger } = await ledgerIn(t)
  await ledger.deposit(ALICE, 1_000)
  const a = await ledger.openEscrow(open3('a'))
  await ledger.openEscrow(open3('b', { amount: 200 }))
  await ledger.charge('b', 150, NOW)
  assert.equal(ledger.committed('wf'), 300)

  assert.deepEqual(await ledger.refund('a', 'executor silent'), { ...a, state: 'refunded', changedAt: 5 })
  assert.deepEqual(ledger.journal({ from: 5 }), [{ seq: 5, at: NOW, kind: 'refund', escrow: 'a', amount: 100, reason: 'executor silent' }])
  assert.equal((await ledger.refund('b')).state, 'refunded')
  assert.deepEqual(balances(ledger, ALICE), { available: 1_000, staked: 0, escrowed: 0 })
  assert.deepEqual(balances(ledger, BOB), { available: 0, staked: 0, escrowed: 0 })
  assert.equal(ledger.committed('wf'), 0)
  assert.deepEqual(ledger.heldEscrows(), [])
  assert.deepEqual(ledger.settleDue(Number.MAX_SAFE_INTEGER), [])
  ledger.audit()
})

test('slash moves stake to the shares, the slashed one included', async t => {
  const { ledger } = await ledgerIn(t)
  await ledger.deposit(BOB, 500, { stake: true })
  const entry = await ledger.slash(BOB, 300, [{ to: CAROL, amount: 200 }, { to: ALICE, amount: 60 }, { to: CAROL, amount: 40 }], 'forged receipt')
  assert.deepEqual(entry, { seq: 2, at: NOW, kind: 'slash', did: BOB, amount: 300, shares: [{ to: CAROL, amount: 200 }, { to: ALICE, amount: 60 }, { to: CAROL, amount: 40 }], reason: 'forged receipt' })
  assert.deepEqual(balances(ledger, BOB), { available: 0, staked: 200, escrowed: 0 })
  assert.deepEqual(balances(ledger, CAROL), { available: 240, staked: 0, escrowed: 0 })
  assert.deepEqual(balances(ledger, ALICE), { available: 60, staked: 0, escrowed: 0 })
  await ledger.slash(BOB, 50, [{ to: BOB, amount: 50 }], 'self')
  assert.deepEqual(balances(ledger, BOB), { available: 50, staked: 150, escrowed: 0 })
  assert.deepEqual(ledger.audit(), { entries: 3, deposited: 500, available: 350, staked: 150, held: 0 })
})

test('every named error leaves the ledger unchanged', async t => {
  const { ledger } = await ledgerIn(t)
  await ledger.deposit(ALICE, 1_000)
  await ledger.deposit(BOB, 100, { stake: true })
  await ledger.openEscrow(open3('held'))
  await ledger.openEscrow(open3('charged'))
  await ledger.charge('charged', 40, NOW)
  await ledger.openEscrow(open3('settled'))
  await ledger.charge('settled', 40, NOW)
  await ledger.settle('settled')
  await ledger.openEscrow(open3('refunded'))
  await ledger.refund('refunded')
  const ids = ['held', 'charged', 'settled', 'refunded', 'new']

  for (const amount of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) {
    await rejectsUnchanged(ledger, async () => await ledger.deposit(ALICE, amount), 'InvalidAmount')
    await rejectsUnchanged(ledger, async () => await ledger.stake(ALICE, amount), 'InvalidAmount')
    await rejectsUnchanged(ledger, async () => await ledger.unstake(BOB, amount), 'InvalidAmount')
    if (amount !== 0) await rejectsUnchanged(ledger, async () => await ledger.openEscrow(open3('new', { amount })), 'InvalidAmount', undefined, ids)
    await rejectsUnchanged(ledger, async () => await ledger.slash(BOB, amount, [{ to: CAROL, amount }], 'x'), 'InvalidAmount')
  }
  await rejectsUnchanged(ledger, async () => await ledger.deposit(CAROL, Number.MAX_SAFE_INTEGER), 'InvalidAmount', /more than/)
  await rejectsUnchanged(ledger, async () => await ledger.stake(ALICE, 761), 'InsufficientFunds', /760 credits available, 761 needed/)
  await rejectsUnchanged(ledger, async () => await ledger.unstake(BOB, 101), 'InsufficientStake')
  await rejectsUnchanged(ledger, async () => await ledger.unstake(CAROL, 1), 'InsufficientStake')

  await rejectsUnchanged(ledger, async () => await ledger.openEscrow(open3('new', { amount: 761 })), 'InsufficientFunds', undefined, ids)
  await rejectsUnchanged(ledger, async () => await ledger.openEscrow(open3('new', { payer: CAROL })), 'InsufficientFunds', undefined, ids)
  await rejectsUnchanged(ledger, async () => await ledger.openEscrow(open3('new', { minPayeeStake: 101 })), 'InsufficientStake', /100 credits staked, 101 required/, ids)
  await rejectsUnchanged(ledger, async () => await ledger.openEscrow(open3('new', { payee: CAROL, minPayeeStake: 1 })), 'InsufficientStake', undefined, ids)
  await rejectsUnchanged(ledger, async () => await ledger.openEscrow(open3('new', { budget: 279 })), 'BudgetExceeded', /budget of 279/, ids)
  await rejectsUnchanged(ledger, async () => await ledger.openEscrow(open3('new', { budget: -1 })), 'InvalidAmount', undefined, ids)
  for (const id of ['held', 'settled', 'refunded']) {
    await rejectsUnchanged(ledger, async () => await ledger.openEscrow(open3(id, { amount: 1 })), 'AlreadySettled', new RegExp(`escrow ${id} exists already`), ids)
  }

  await rejectsUnchanged(ledger, async () => await ledger.charge('nope', 1, NOW), 'UnknownEscrow', undefined, ids)
  await rejectsUnchanged(ledger, async () => await ledger.charge('held', 101, NOW), 'InvalidAmount', undefined, ids)
  await rejectsUnchanged(ledger, async () => await ledger.charge('held', -1, NOW), 'InvalidAmount', undefined, ids)
  await rejectsUnchanged(ledger, async () => await ledger.charge('held', 1, Number.NaN), 'RangeError', undefined, ids)
  for (const id of ['charged', 'settled', 'refunded']) {
    await rejectsUnchanged(ledger, async () => await ledger.charge(id, 1, NOW), 'AlreadySettled', undefined, ids)
  }

  await rejectsUnchanged(ledger, async () => await ledger.settle('nope'), 'UnknownEscrow', undefined, ids)
  await rejectsUnchanged(ledger, async () => await ledger.settle('held'), 'NotCharged', undefined, ids)
  await rejectsUnchanged(ledger, async () => await ledger.settle('charged', CAROL), 'NotAwarded', /awarded to/, ids)
  await rejectsUnchanged(ledger, async () => await ledger.settle('settled'), 'AlreadySettled', undefined, ids)
  await rejectsUnchanged(ledger, async () => await ledger.settle('refunded', BOB), 'AlreadySettled', undefined, ids)

  await rejectsUnchanged(ledger, async () => await ledger.refund('nope'), 'UnknownEscrow', undefined, ids)
  await rejectsUnchanged(ledger, async () => await ledger.refund('settled'), 'AlreadySettled', undefined, ids)
  await rejectsUnchanged(ledger, async () => await ledger.refund('refunded'), 'AlreadySettled', undefined, ids)

  await rejectsUnchanged(ledger, async () => await ledger.slash(BOB, 101, [{ to: CAROL, amount: 101 }], 'x'), 'InsufficientStake')
  await rejectsUnchanged(ledger, async () => await ledger.slash(BOB, 50, [{ to: CAROL, amount: 49 }], 'x'), 'InvalidAmount', /add up to 49/)
  await rejectsUnchanged(ledger, async () => await ledger.slash(BOB, 50, [{ to: CAROL, amount: 50 }, { to: ALICE, amount: 0 }], 'x'), 'InvalidAmount')
  await rejectsUnchanged(ledger, async () => await ledger.slash(BOB, 50, [], 'x'), 'InvalidAmount')

  // The escrows that were refused are still usable: nothing half-happened.
  assert.equal((await ledger.settle('charged', BOB)).state, 'settled')
  assert.equal((await ledger.refund('held')).state, 'refunded')
  assert.deepEqual(ledger.audit(), { entries: 12, deposited: 1_100, available: 1_000, staked: 100, held: 0 })
})

test('settling twice is AlreadySettled, and only the awarded payee can settle', async t => {
  const { ledger } = await ledgerIn(t)
  await ledger.deposit(ALICE, 100)
  await ledger.openEscrow(open3('x', { amount: 50 }))
  await ledger.charge('x', 20, NOW)
  await rejectsUnchanged(ledger, async () => await ledger.settle('x', CAROL), 'NotAwarded')
  await ledger.settle('x', BOB)
  await rejectsUnchanged(ledger, async () => await ledger.settle('x', BOB), 'AlreadySettled')
  await rejectsUnchanged(ledger, async () => await ledger.refund('x'), 'AlreadySettled')
  // Concurrent double settle: one wins, one is refused, credits move once.
  await ledger.openEscrow(open3('y', { amount: 50 }))
  await ledger.charge('y', 20, NOW)
  const results = await Promise.allSettled([ledger.settle('y'), ledger.settle('y'), ledger.refund('y')])
  assert.deepEqual(results.map(result => result.status === 'fulfilled' ? 'ok' : (result.reason as Error).name), ['ok', 'AlreadySettled', 'AlreadySettled'])
  assert.deepEqual(balances(ledger, ALICE), { available: 60, staked: 0, escrowed: 0 })
  assert.deepEqual(balances(ledger, BOB), { available: 40, staked: 0, escrowed: 0 })
  ledger.audit()
})

test('a workflow budget caps what is committed: open escrows plus charges paid', async t => {
  const { ledger } = await ledgerIn(t)
  await ledger.deposit(ALICE, 10_000)
  await ledger.openEscrow(open3('a', { amount: 600, budget: 1_000 }))
  await ledger.openEscrow(open3('b', { amount: 400, budget: 1_000 }))
  await rejectsUnchanged(ledger, async () => await ledger.openEscrow(open3('c', { amount: 1, budget: 1_000 })), 'BudgetExceeded')
  // Another workflow, and an escrow without a budget, are not held to it.
  await ledger.openEscrow(open3('other', { amount: 900, workflow: 'wf2', budget: 1_000 }))
  await ledger.openEscrow(open3('unbudgeted', { amount: 1 }))
  assert.equal(ledger.committed('wf'), 1_001)
  await ledger.refund('unbudgeted')
  // Settling a = 600 with a charge of 100 releases 500; refunding b releases 400.
  await ledger.charge('a', 100, NOW)
  await ledger.settle('a')
  assert.equal(ledger.committed('wf'), 500)
  await ledger.refund('b')
  assert.equal(ledger.committed('wf'), 100)
  await ledger.openEscrow(open3('c', { amount: 900, budget: 1_000 }))
  await rejectsUnchanged(ledger, async () => await ledger.openEscrow(open3('d', { amount: 1, budget: 1_000 })), 'BudgetExceeded')
  assert.equal(ledger.committed('wf2'), 900)
  ledger.audit()
})

test('the minimum payee stake is checked against the stake at award time', async t => {
  const { ledger } = await ledgerIn(t)
  await ledger.deposit(ALICE, 1_000)
  await ledger.deposit(BOB, 99)
  await rejectsUnchanged(ledger, async () => await ledger.openEscrow(open3('x', { minPayeeStake: 100 })), 'InsufficientStake', /0 credits staked, 100 required/)
  await ledger.stake(BOB, 99)
  await rejectsUnchanged(ledger, async () => await ledger.openEscrow(open3('x', { minPayeeStake: 100 })), 'InsufficientStake')
  await ledger.deposit(BOB, 1, { stake: true })
  assert.equal((await ledger.openEscrow(open3('x', { minPayeeStake: 100 }))).state, 'held')
})

test('a ledger reopened from disk has the same balances, escrows and journal, and passes audit', async t => {
  const dir = await tempDir(t)
  const first = LmdbLedger.open(dir, { now: () => NOW })
  await first.deposit(ALICE, 1_000)
  await first.deposit(BOB, 200, { stake: true })
  await first.openEscrow(open3('a'))
  await first.openEscrow(open3('b'))
  await first.charge('a', 25, NOW + 1)
  await first.slash(BOB, 10, [{ to: CAROL, amount: 10 }], 'late')
  const before = { accounts: first.accounts(), journal: first.journal(), held: first.heldEscrows(), due: first.settleDue(NOW + 1), audit: first.audit() }
  await first.close()
  await first.close() // twice is fine

  const { ledger } = await ledgerIn(t, dir)
  assert.deepEqual({ accounts: ledger.accounts(), journal: ledger.journal(), held: ledger.heldEscrows(), due: ledger.settleDue(NOW + 1), audit: ledger.audit() }, before)
  assert.equal(ledger.committed('wf'), 200)
  assert.equal((await ledger.deposit(CAROL, 5)).seq, 7, 'the seq continues')
  await ledger.settle('a')
  ledger.audit()
  await assert.rejects(first.deposit(ALICE, 1), { name: 'StoreError' })
})

test('10,000 deposits started at once get consecutive seqs and add up', async t => {
  const { ledger } = await ledgerIn(t)
  const entries = await Promise.all(Array.from({ length: 10_000 }, async (_, index) => await ledger.deposit(DIDS[index % 3]!, index + 1)))
  assert.deepEqual(entries.map(entry => entry.seq), Array.from({ length: 10_000 }, (_, index) => index + 1), 'seqs in call order')
  const journal = ledger.journal()
  assert.equal(journal.length, 10_000)
  assert.ok(journal.every((entry, index) => entry.seq === index + 1))
  const expected = [0, 1, 2].map(offset => { let sum = 0; for (let n = offset + 1; n <= 10_000; n += 3) sum += n; return sum })
  assert.deepEqual(DIDS.map(did => ledger.account(did).available), expected)
  assert.deepEqual(ledger.audit(), { entries: 10_000, deposited: 50_005_000, available: 50_005_000, staked: 0, held: 0 })
})

/** Writes into the closed ledger's store behind its back, then reopens it. */
async function tamper (t: TestContext, dir: string, write: (dbs: Record<keyof typeof LEDGER_DBS, ReturnType<ReturnType<typeof open>['openDB']>>) => Promise<unknown>): Promise<LmdbLedger> {
  const env = open({ path: join(dir, LEDGER_DB_FILE), maxDbs: 8, compression: false })
  const dbs = Object.fromEntries(Object.entries(LEDGER_DBS).map(([key, name]) => [key, env.openDB({ name })])) as Parameters<typeof write>[0]
  await write(dbs)
  await env.close()
  return (await ledgerIn(t, dir)).ledger
}

test('audit() throws LedgerInvariantViolated, naming the discrepancy, when the store was changed behind the ledger', async t => {
  const cases: Array<{ what: string, write: Parameters<typeof tamper>[2], message: RegExp }> = [
    { what: 'a balance raised', write: async dbs => await dbs.accounts.put(ALICE, { available: 1_000_000, staked: 0, escrowed: 100 }), message: new RegExp(`account ${ALICE} is stored as`) },
    { what: 'an account invented', write: async dbs => await dbs.accounts.put(CAROL, { available: 5, staked: 0, escrowed: 0 }), message: /no journal entry made it/ },
    { what: 'an account deleted', write: async dbs => await dbs.accounts.remove(BOB), message: new RegExp(`account ${BOB} is missing`) },
    { what: 'an escrow marked settled', write: async dbs => await dbs.escrows.put('a', { id: 'a', payer: ALICE, payee: BOB, amount: 100, workflow: 'wf', task: 'task-a', state: 'settled', openedAt: 3, changedAt: 3 }), message: /escrow a is stored as/ },
    { what: 'a journal entry deleted', write: async dbs => await dbs.journal.remove(2), message: /skips from entry 1 to 3/ },
    { what: 'a journal entry rewritten', write: async dbs => await dbs.journal.put(1, { seq: 1, at: NOW, kind: 'deposit', to: ALICE, amount: 2_000, stake: false }), message: /1100 credits deposited, the journal 2100/ },
    { what: 'a journal entry that cannot apply', write: async dbs => await dbs.journal.put(4, { seq: 4, at: NOW, kind: 'unstake', did: CAROL, amount: 1 }), message: /entry 4 \(unstake\) does not apply: InsufficientStake/ },
    { what: 'the held index emptied', write: async dbs => await dbs.held.remove('a'), message: /held index misses escrow a/ },
    { what: 'a committed total changed', write: async dbs => await dbs.committed.put('wf', 1), message: /committed total of workflow wf/ }
  ]
  for (const { what, write, message } of cases) {
    const dir = await tempDir(t)
    const ledger = LmdbLedger.open(dir, { now: () => NOW })
    await ledger.deposit(ALICE, 1_000)
    await ledger.deposit(BOB, 100, { stake: true })
    await ledger.openEscrow(open3('a'))
    await ledger.unstake(BOB, 10)
    ledger.audit()
    await ledger.close()
    const tampered = await tamper(t, dir, write)
    assert.throws(() => tampered.audit(), (err: Error) => {
      assert.equal(err.name, 'LedgerInvariantViolated', what)
      assert.match(err.message, message, what)
      return true
    })
  }
})

// ---- Property: random operations, valid and invalid, against a plain model ----

type Op =
  | { op: 'deposit', to: number, amount: number, stake: boolean }
  | { op: 'stake' | 'unstake', did: number, amount: number }
  | { op: 'open', id: number, payer: number, payee: number, amount: number, workflow: number | undefined, budget: number | undefined, minPayeeStake: number | undefined }
  | { op: 'charge', id: number, amount: number, finalAt: number }
  | { op: 'settle', id: number, payee: number | undefined }
  | { op: 'refund', id: number }
  | { op: 'slash', did: number, amount: number, shares: Array<{ to: number, amount: number }> }

const who = fc.integer({ min: 0, max: 2 })
const escrowId = fc.integer({ min: 0, max: 3 })
/** Mostly valid amounts, sometimes 0, rarely not a whole number of credits at all. */
const credits = (max: number): fc.Arbitrary<number> => fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 1, max }) },
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constantFrom(-5, 2.5, Number.NaN) }
)
/** `arbitrary` one time in three (or `weight` in `weight + 2`), else undefined. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, weight = 1): fc.Arbitrary<T | undefined> => fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight, arbitrary })
// Weighted towards what succeeds (deposits, opens, charges, settles), so escrows get through their whole
// life; small amounts and stakes near the prelude's 100 so limits are hit exactly (charge = amount + 1).
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('deposit' as const), to: who, amount: credits(1_000), stake: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('stake' as const, 'unstake' as const), did: who, amount: credits(200) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('open' as const), id: escrowId, payer: who, payee: who, amount: fc.oneof(credits(10), credits(200), fc.integer({ min: 400, max: 700 })), workflow: sometimes(fc.integer({ min: 0, max: 1 }), 3), budget: sometimes(fc.integer({ min: 0, max: 500 })), minPayeeStake: sometimes(fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 95, max: 105 }))) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('charge' as const), id: escrowId, amount: fc.oneof(credits(12), credits(200), fc.constant(0)), finalAt: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('settle' as const), id: escrowId, payee: sometimes(who) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('refund' as const), id: escrowId }) },
  {
    weight: 2,
    arbitrary: fc.record({ did: who, shares: fc.array(fc.record({ to: who, amount: credits(60) }), { maxLength: 3 }), off: fc.constantFrom(0, 0, 0, 1) })
      .map(({ did, shares, off }): Op => ({ op: 'slash', did, shares, amount: shares.reduce((sum, share) => sum + share.amount, 0) + off }))
  }
)

interface ModelEscrow { payer: DID, payee: DID, amount: number, workflow: string | undefined, state: Escrow['state'], charge: number }

/** The ledger's rules written out naively, in the order the ledger checks them; returns the expected error name. */
class Model {
  readonly accounts = new Map<DID, Omit<Account, 'did'>>()
  readonly escrows = new Map<string, ModelEscrow>()
  readonly committed = new Map<string, number>()
  deposited = 0

  private of (did: DID): Omit<Account, 'did'> {
    let account = this.accounts.get(did)
    if (account === undefined) this.accounts.set(did, account = { available: 0, staked: 0, escrowed: 0 })
    return account
  }

  private commit (workflow: string | undefined, credits: number): void {
    if (workflow !== undefined) this.committed.set(workflow, (this.committed.get(workflow) ?? 0) + credits)
  }

  apply (op: Op): string | undefined {
    const valid = (n: number, min = 1): boolean => Number.isSafeInteger(n) && n >= min
    switch (op.op) {
      case 'deposit': {
        if (!valid(op.amount)) return 'InvalidAmount'
        this.of(DIDS[op.to]!)[op.stake ? 'staked' : 'available'] += op.amount
        this.deposited += op.amount
        return undefined
      }
      case 'stake':
      case 'unstake': {
        if (!valid(op.amount)) return 'InvalidAmount'
        const account = this.of(DIDS[op.did]!)
        const [from, to] = op.op === 'stake' ? ['available', 'staked'] as const : ['staked', 'available'] as const
        if (account[from] < op.amount) return op.op === 'stake' ? 'InsufficientFunds' : 'InsufficientStake'
        account[from] -= op.amount
        account[to] += op.amount
        return undefined
      }
      case 'open': {
        const workflow = op.workflow === undefined ? undefined : `wf${op.workflow}`
        // A free task (price 0) still has an escrow of 0: it records the award.
        if (!(Number.isSafeInteger(op.amount) && op.amount >= 0)) return 'InvalidAmount'
        if (this.escrows.has(`e${op.id}`)) return 'AlreadySettled'
        if (op.minPayeeStake !== undefined && (this.accounts.get(DIDS[op.payee]!)?.staked ?? 0) < op.minPayeeStake) return 'InsufficientStake'
        if (op.budget !== undefined && (workflow === undefined ? 0 : this.committed.get(workflow) ?? 0) + op.amount > op.budget) return 'BudgetExceeded'
        if ((this.accounts.get(DIDS[op.payer]!)?.available ?? 0) < op.amount) return 'InsufficientFunds'
        const payer = this.of(DIDS[op.payer]!)
        payer.available -= op.amount
        payer.escrowed += op.amount
        this.escrows.set(`e${op.id}`, { payer: DIDS[op.payer]!, payee: DIDS[op.payee]!, amount: op.amount, workflow, state: 'held', charge: 0 })
        this.commit(workflow, op.amount)
        return undefined
      }
      case 'charge': {
        const escrow = this.escrows.get(`e${op.id}`)
        if (escrow === undefined) return 'UnknownEscrow'
        if (!valid(op.amount, 0)) return 'InvalidAmount'
        if (escrow.state !== 'held') return 'AlreadySettled'
        if (op.amount > escrow.amount) return 'InvalidAmount'
        escrow.state = 'charged'
        escrow.charge = op.amount
        return undefined
      }
      case 'settle': {
        const escrow = this.escrows.get(`e${op.id}`)
        if (escrow === undefined) return 'UnknownEscrow'
        if (op.payee !== undefined && DIDS[op.payee] !== escrow.payee) return 'NotAwarded'
        if (escrow.state === 'settled' || escrow.state === 'refunded') return 'AlreadySettled'
        if (escrow.state === 'held') return 'NotCharged'
        const payer = this.of(escrow.payer)
        payer.escrowed -= escrow.amount
        payer.available += escrow.amount - escrow.charge
        if (escrow.charge > 0) this.of(escrow.payee).available += escrow.charge
        escrow.state = 'settled'
        this.commit(escrow.workflow, -(escrow.amount - escrow.charge))
        return undefined
      }
      case 'refund': {
        const escrow = this.escrows.get(`e${op.id}`)
        if (escrow === undefined) return 'UnknownEscrow'
        if (escrow.state === 'settled' || escrow.state === 'refunded') return 'AlreadySettled'
        const payer = this.of(escrow.payer)
        payer.escrowed -= escrow.amount
        payer.available += escrow.amount
        escrow.state = 'refunded'
        this.commit(escrow.workflow, -escrow.amount)
        return undefined
      }
      case 'slash': {
        if (!valid(op.amount)) return 'InvalidAmount'
        if (!op.shares.every(share => valid(share.amount))) return 'InvalidAmount'
        if (op.shares.reduce((sum, share) => sum + share.amount, 0) !== op.amount) return 'InvalidAmount'
        if ((this.accounts.get(DIDS[op.did]!)?.staked ?? 0) < op.amount) return 'InsufficientStake'
        this.of(DIDS[op.did]!).staked -= op.amount
        for (const share of op.shares) this.of(DIDS[share.to]!).available += share.amount
        return undefined
      }
    }
  }
}

async function call (ledger: Ledger, op: Op): Promise<unknown> {
  switch (op.op) {
    case 'deposit': return await ledger.deposit(DIDS[op.to]!, op.amount, { stake: op.stake })
    case 'stake': return await ledger.stake(DIDS[op.did]!, op.amount)
    case 'unstake': return await ledger.unstake(DIDS[op.did]!, op.amount)
    case 'open': return await ledger.openEscrow({
      id: `e${op.id}`,
      payer: DIDS[op.payer]!,
      payee: DIDS[op.payee]!,
      amount: op.amount,
      ...(op.workflow !== undefined ? { workflow: `wf${op.workflow}` } : {}),
      ...(op.budget !== undefined ? { budget: op.budget } : {}),
      ...(op.minPayeeStake !== undefined ? { minPayeeStake: op.minPayeeStake } : {})
    })
    case 'charge': return await ledger.charge(`e${op.id}`, op.amount, op.finalAt)
    case 'settle': return await ledger.settle(`e${op.id}`, op.payee === undefined ? undefined : DIDS[op.payee])
    case 'refund': return await ledger.refund(`e${op.id}`)
    case 'slash': return await ledger.slash(DIDS[op.did]!, op.amount, op.shares.map(share => ({ to: DIDS[share.to]!, amount: share.amount })), 'property')
  }
}

test('property: random operations, valid and invalid, match a plain model, and audit() always passes', async t => {
  const dir = await tempDir(t)
  let run = 0
  // Everyone starts funded and staked, so most escrows open and live on to be charged and settled.
  const prelude: Op[] = DIDS.flatMap((_, index): Op[] => [{ op: 'deposit', to: index, amount: 500, stake: false }, { op: 'deposit', to: index, amount: 100, stake: true }])
  await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 60, size: 'medium' }), fc.boolean(), async (generated, concurrent) => {
    const ops = [...prelude, ...generated]
    const ledger = LmdbLedger.open(join(dir, String(run++)), { now: () => NOW })
    try {
      // Concurrent calls run in call order inside lmdb-js's batch; sequential ones one commit each.
      const outcomes = concurrent
        ? await Promise.allSettled(ops.map(async op => await call(ledger, op)))
        : await (async () => { const out: Array<PromiseSettledResult<unknown>> = []; for (const op of ops) out.push(...await Promise.allSettled([call(ledger, op)])); return out })()
      const model = new Model()
      const expected = ops.map(op => model.apply(op) ?? 'ok')
      assert.deepEqual(outcomes.map(outcome => outcome.status === 'fulfilled' ? 'ok' : (outcome.reason as Error).name), expected)

      for (const did of DIDS) assert.deepEqual(balances(ledger, did), model.accounts.get(did) ?? { available: 0, staked: 0, escrowed: 0 }, did)
      for (const [id, escrow] of model.escrows) assert.equal(ledger.escrow(id)?.state, escrow.state, id)
      for (const workflow of ['wf0', 'wf1']) assert.equal(ledger.committed(workflow), model.committed.get(workflow) ?? 0, workflow)
      assert.deepEqual(ledger.heldEscrows().map(escrow => escrow.id).sort(), [...model.escrows].filter(([, escrow]) => escrow.state === 'held').map(([id]) => id).sort())
      const journal = ledger.journal()
      assert.deepEqual(journal.map(entry => entry.seq), Array.from({ length: expected.filter(name => name === 'ok').length }, (_, index) => index + 1))

      const report = ledger.audit()
      assert.equal(report.deposited, model.deposited)
      assert.equal(report.available + report.staked + report.held, report.deposited)
      const accounts = ledger.accounts()
      assert.equal(accounts.reduce((sum, account) => sum + account.available + account.staked + account.escrowed, 0), model.deposited)
    } finally {
      await ledger.close()
    }
  }), { numRuns: 100 })
})
