import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { identityFromSeed } from '../../src/auth/identity.js'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { costOf } from '../../src/model/price.js'
import { peerDid, RemoteExecutor } from '../../src/executor/remote.js'
import { BidPolicy } from '../../src/executor/bid-policy.js'
import { MarketService, marketRequest, openAnnouncement, signBid } from '../../src/net/protocols/market.js'
import { Market } from '../../scheduler/market.js'
import { LmdbLedger } from '../../scheduler/lmdb-ledger.js'
import { ReputationBook } from '../../scheduler/reputation.js'
import { collateralFor } from '../../scheduler/verification.js'
import { DEFAULT_BID_PRICE, DEFAULT_MIN_STAKE, DEFAULT_SAMPLE_RATE, DEFAULT_TASK_FUEL } from '../../src/constants.js'
import { instructionCid } from '../../src/model/instruction.js'
import { getSignedRecord } from '../../src/net/records.js'
import { task, tempDir, workflowFile } from '../helpers.js'
import { conserved, devnet, marketFixtures, submit } from './devnet-helpers.js'
import { loopbackNetwork } from '../net/helpers.js'
import type { Instruction } from '../../src/model/types.js'
import type { SchedulerEvent } from '../../scheduler/scheduler.js'

const { module, requesterId, within } = await marketFixtures()

test('the cheapest executor wins; the requester pays fuel × price, the executor earns it, and credits are conserved', async t => {
  const net = await devnet(t, { executors: 3, bidPolicies: [{ price: 5 }, { price: 2 }, { price: 3 }], market: { challengeWindowMs: 0, announceInDht: 'always' } })
  // A chain: one task at a time, so load does not send the second elsewhere.
  const first = task(module, 'add', [2, 3])
  const report = await submit(t, net, [first, task(module, 'mul', [{ 'await/ok': instructionCid(first.run as Instruction) }, 7])])
  assert.equal(report.ok, true, JSON.stringify(report.tasks.map(x => x.out)))
  const cheapest = peerDid(net.executors[1]!.node.peerId)
  const ledger = net.scheduler.role.ledger
  await net.scheduler.role.market!.settled()
  let paid = 0
  for (const entry of report.tasks) {
    assert.equal(entry.price, 2, 'awarded at the cheapest bid, as signed in the invocation')
    assert.equal(entry.cost, costOf(entry.fuel as number, 2))
    paid += entry.cost ?? 0
  }
  assert.ok(report.tasks.every(x => x.executor === cheapest))
  assert.equal(report.cost, paid)
  assert.equal(ledger.account(requesterId.did).available, 1_000_000 - paid)
  assert.equal(ledger.account(cheapest).available, report.tasks.filter(x => x.executor === cheapest).reduce((sum, x) => sum + (x.cost ?? 0), 0))
  await conserved(net)
  // Each task was also announced as a signed DHT record (announceInDht: 'always'), readable by any node of the network.
  const record = await getSignedRecord(net.executors[2]!.node, net.scheduler.node.peerId.toString(), `task/${report.tasks[0]!.instructionCid}`, within(10_000))
  const announcement = openAnnouncement(record.value)
  assert.equal(announcement.payload.scheduler, net.scheduler.identity.did)
  assert.ok(announcement.payload.task.equals(report.tasks[0]!.instructionCid))
  assert.equal(announcement.payload.maxPrice, 10)
})

test('with no bid under the maximum price the task waits, says why, and fails NoExecutor after the award timeout', async t => {
  const events: SchedulerEvent[] = []
  const net = await devnet(t, {
    executors: 2,
    bidPolicies: [{ price: 50 }, { price: 40 }],
    market: { challengeWindowMs: 0, awardTimeoutMs: 1_500, retryMs: 100, bidWindowMs: 200 },
    onEvent: event => events.push(event)
  })
  const lonely = task(module, 'add', [1, 1])
  const report = await submit(t, net, [lonely])
  // A task that waits is published in the DHT, for executors the scheduler did not ask.
  const record = await getSignedRecord(net.executors[0]!.node, net.scheduler.node.peerId.toString(), `task/${instructionCid(lonely.run as Instruction)}`, within(10_000))
  assert.equal(openAnnouncement(record.value).payload.maxPrice, 10)
  const waiting = events.find((event): event is Extract<SchedulerEvent, { type: 'task:waiting' }> => event.type === 'task:waiting')
  assert.equal(waiting?.reason, 'no executor bid under price 10')
  const out = report.tasks[0]!.out
  assert.ok(out !== undefined && 'error' in out)
  assert.equal(out.error.name, 'NoExecutor')
  assert.match(out.error.message, /no executor bid under price 10 within 1500 ms/)
  await conserved(net)
})

test('an executor without stake is not awarded; once staked it is, and `status` shows the wait in between', async t => {
  const net = await devnet(t, { executors: 1, stake: 0, market: { challengeWindowMs: 0, retryMs: 100, bidWindowMs: 200 } })
  const waited = new Promise<string>(resolve => {
    net.scheduler.role.scheduler.subscribe(event => { if (event.type === 'task:waiting') resolve(event.reason) })
  })
  const running = submit(t, net, [task(module, 'add', [4, 4])])
  // The stake asked is the award's collateral: enough that cheating on it does not pay at the sample rate.
  const collateral = collateralFor(costOf(DEFAULT_TASK_FUEL, DEFAULT_BID_PRICE), DEFAULT_SAMPLE_RATE, DEFAULT_MIN_STAKE)
  assert.equal(collateral, 190_000)
  assert.equal(await waited, `no executor with a stake of at least ${collateral} credits bid`)
  // The status request a user's `ipvm status` sends sees the same reason.
  const [client] = await loopbackNetwork(t, 1, 71)
  const file = workflowFile([task(module, 'add', [4, 4])])
  const answer = await marketRequest(client!.libp2p, net.address, { status: { workflow: cidOf(file, codecs.raw).toString() } }) as { status: { tasks: Array<{ state: string, reason?: string }> } }
  assert.deepEqual(answer.status.tasks.map(x => [x.state, x.reason]), [['waiting', `no executor with a stake of at least ${collateral} credits bid`]])
  await net.scheduler.role.ledger.deposit(peerDid(net.executors[0]!.node.peerId), collateral - 1, { stake: true })
  await new Promise(resolve => setTimeout(resolve, 500))
  assert.equal(net.scheduler.role.scheduler.taskState(cidOf(file, codecs.raw).toString(), 0).state, 'waiting', 'one credit short of the collateral is not enough')
  await net.scheduler.role.ledger.deposit(peerDid(net.executors[0]!.node.peerId), 1, { stake: true })
  const report = await running
  assert.deepEqual(report.tasks.map(x => x.out), [{ ok: 8 }])
  await conserved(net)
})

test('a requester without credits, or over its budget, gets a named refusal and pays nothing', async t => {
  const net = await devnet(t, { executors: 1 }, false)
  const broke = await submit(t, net, [task(module, 'add', [1, 2])])
  assert.equal((broke.tasks[0]!.out as { error: { name: string } }).error.name, 'InsufficientFunds')
  await net.fund(requesterId.did, 1_000_000)
  // Default fuel (10¹⁰) at price 1 holds 10,000 credits per task: a budget of 15,000 allows one.
  const report = await submit(t, net, [task(module, 'add', [5, 5]), task(module, 'add', [6, 6], { time: 10_000 })], { budget: 15_000 })
  const names = report.tasks.map(x => x.out !== undefined && 'error' in x.out ? x.out.error.name : 'ok').sort()
  assert.deepEqual(names, ['BudgetExceeded', 'ok'])
  const ledger = net.scheduler.role.ledger
  assert.ok(ledger.account(requesterId.did).available > 1_000_000 - 15_000)
  await conserved(net)
})

test('an executor that accepts and then stays silent is replaced, earns nothing, and loses reputation', async t => {
  const net = await devnet(t, { executors: 2, bidPolicies: [{ price: 1 }, { price: 3 }], remote: { graceMs: 300, acceptTimeoutMs: 2_000 } })
  // The cheaper executor wins the award, accepts it, and never answers.
  const silent = net.executors[0]!
  silent.role.executor.execute = async (_task, options) => await new Promise((_resolve, reject) => {
    options?.signal?.addEventListener('abort', () => { reject(options.signal?.reason) }, { once: true })
  })
  const report = await submit(t, net, [task(module, 'add', [3, 4], { time: 500 })])
  assert.deepEqual(report.tasks.map(x => x.out), [{ ok: 7 }])
  assert.equal(report.tasks[0]!.price, 3, 'the task went to the next bid')
  const ledger = net.scheduler.role.ledger
  const silentDid = peerDid(silent.node.peerId)
  assert.equal(ledger.account(silentDid).available, 0, 'the silent executor earned nothing')
  const record = net.scheduler.role.market!.reputation.get(silentDid)
  assert.equal(record?.timedOut, 1)
  assert.ok(net.scheduler.role.market!.reputation.reputation(silentDid) < 0.5)
  assert.ok(ledger.journal().some(entry => entry.kind === 'refund'))
  await conserved(net)
})

test('bids that are forged, signed by another executor, too dear or too late are refused; the honest bid is ranked', async t => {
  const [scheduler, honest, impostor, forger, greedy, slow] = await loopbackNetwork(t, 6, 80)
  const identities = await Promise.all([80, 81, 82, 83, 84, 85].map(async i => await identityFromSeed(new Uint8Array(32).fill(i + 1))))
  const mallory = await identityFromSeed(new Uint8Array(32).fill(99))
  const serve = async (node: typeof honest, answer: (announcement: ReturnType<typeof openAnnouncement>) => Promise<unknown>): Promise<void> => {
    const service = new MarketService(node!.libp2p, { handlers: { bids: async body => await answer(openAnnouncement((body as { announcement: Uint8Array }).announcement)) } })
    await service.start()
    t.after(async () => { await service.stop() })
  }
  const bidFor = (announcement: ReturnType<typeof openAnnouncement>, executor: string, price = 1): Parameters<typeof signBid>[0] => ({
    executor: executor as `did:key:${string}`, announcement: announcement.cid, task: announcement.payload.task, price, expectedStart: Date.now(), load: { running: 0, capacity: 1 }, cached: false, issued: Date.now()
  })
  const policy = new BidPolicy(identities[1]!.signer, { price: 2 })
  await serve(honest, async a => await policy.answer(a, { running: 0, cached: false }))
  // Signed by mallory, sent from the impostor's node.
  await serve(impostor, async a => ({ bid: (await signBid(bidFor(a, mallory.did), mallory.signer)).bytes }))
  // Claims to be the forger but signed by mallory's key.
  await serve(forger, async a => ({ bid: (await signBid(bidFor(a, identities[3]!.did), mallory.signer)).bytes }))
  await serve(greedy, async a => ({ bid: (await signBid(bidFor(a, identities[4]!.did, 1_000), identities[4]!.signer)).bytes }))
  await serve(slow, async a => {
    await new Promise(resolve => setTimeout(resolve, 600))
    return { bid: (await signBid(bidFor(a, identities[5]!.did), identities[5]!.signer)).bytes }
  })
  const dir = await tempDir(t)
  const ledger = LmdbLedger.open(dir)
  const reputation = ReputationBook.open(dir)
  const remote = new RemoteExecutor({ node: scheduler!, signer: identities[0]!.signer, peers: async () => [honest, impostor, forger, greedy, slow].map(node => node!.peerId) })
  t.after(async () => { await remote.stop(); await reputation.close(); await ledger.close() })
  const market = new Market({ node: scheduler!, signer: identities[0]!.signer, executor: remote, ledger, reputation, bidWindowMs: 300, announceInDht: false })
  const instruction = task(module, 'add', [1, 2]).run as Instruction
  const round = await market.round({
    instruction, instructionCid: instructionCid(instruction), module, func: 'add', args: [1, 2], meta: { fuel: 1_000_000 }
  }, 10, AbortSignal.timeout(5_000))
  assert.deepEqual(round.bids.map(b => [b.peer.toString(), b.bid.price]), [[honest!.peerId.toString(), 2]])
  const reasons = new Map(round.refused.map(r => [r.peer, r.reason]))
  assert.match(reasons.get(impostor!.peerId.toString()) ?? '', /^InvalidMarketMessage: .*claims to be issued by|^InvalidBid: the bid is signed by did:key:/)
  assert.match(reasons.get(forger!.peerId.toString()) ?? '', /^InvalidBid: InvalidSignature/)
  assert.match(reasons.get(greedy!.peerId.toString()) ?? '', /^BidAboveMaxPrice: the bid's price 1000 is above the maximum 10/)
  assert.match(reasons.get(slow!.peerId.toString()) ?? '', /^BidTooLate/)
})

test('an executor takes only awards that match its own live bid and its minimum price', async () => {
  const executor = await identityFromSeed(new Uint8Array(32).fill(90))
  const scheduler = await identityFromSeed(new Uint8Array(32).fill(91))
  const refused = cidOf(new Uint8Array([1, 2, 3]), codecs.raw)
  const policy = new BidPolicy(executor.signer, { price: 4, minPrice: 2, refuseModules: [refused] })
  const instruction = task(module, 'add', [1, 2]).run as Instruction
  const inid = instructionCid(instruction)
  const { signAnnouncement } = await import('../../src/net/protocols/market.js')
  const announce = async (maxPrice: number, mod = module, deadline = Date.now() + 1_000): ReturnType<typeof signAnnouncement> =>
    await signAnnouncement({ scheduler: scheduler.did, task: inid, module: mod, fuel: 1_000, maxPrice, deadline, issued: Date.now() }, scheduler.signer)
  // It bids its price, or the maximum when that is lower but not below its minimum.
  const full = await policy.answer(await announce(10), { running: 0, cached: true })
  assert.ok('bid' in full)
  const undercut = await policy.answer(await announce(3), { running: 0, cached: false })
  assert.ok('bid' in undercut)
  assert.deepEqual(await policy.answer(await announce(1), { running: 0, cached: false }), { decline: { code: 'price', reason: 'max price 1 is below this executor\'s minimum 2 per million fuel' } })
  assert.equal(((await policy.answer(await announce(10, refused), { running: 0, cached: false })) as { decline: { code: string } }).decline.code, 'module')
  assert.equal(((await policy.answer(await announce(10), { running: 32, cached: false })) as { decline: { code: string } }).decline.code, 'capacity')
  assert.equal(((await policy.answer(await announce(10, module, Date.now() - 1), { running: 0, cached: false })) as { decline: { code: string } }).decline.code, 'deadline')
  const bidCid = cidOf((full as { bid: Uint8Array }).bid, codecs.dagCbor)
  policy.checkAward({ task: inid, module, price: 4, bid: bidCid })
  assert.throws(() => { policy.checkAward({ task: inid, module, price: 3, bid: bidCid }) }, { name: 'AwardRefused', message: /below the bid's 4/ })
  assert.throws(() => { policy.checkAward({ task: module, module, price: 4, bid: bidCid }) }, { name: 'AwardRefused', message: /is for task/ })
  assert.throws(() => { policy.checkAward({ task: inid, module, price: 4, bid: module }) }, { name: 'AwardRefused', message: /not a live bid/ })
  assert.throws(() => { policy.checkAward({ task: inid, module, price: 1 }) }, { name: 'AwardRefused', message: /below this executor's minimum 2/ })
  assert.throws(() => { policy.checkAward({ task: inid, module: refused, price: 4 }) }, { name: 'AwardRefused' })
})

test('market requests: a deposit without a faucet, a forged deposit, an unknown kind and garbage each get a named refusal; the node keeps serving', async t => {
  const net = await devnet(t, { executors: 1 }, false)
  const [client] = await loopbackNetwork(t, 1, 72)
  const clientId = await identityFromSeed(new Uint8Array(32).fill(73))
  const { signDeposit } = await import('../../src/net/protocols/market.js')
  const { startSchedulerRole } = await import('../../scheduler/role.js')
  const refusal = async (peer: Parameters<typeof marketRequest>[1], request: unknown): Promise<string> => {
    try {
      await marketRequest(client!.libp2p, peer, request as never)
      return 'answered'
    } catch (err) {
      return `${(err as Error).name}: ${(err as Error).message}`
    }
  }
  // The devnet's faucet answers a deposit signed by the node that sends it (loopback node 72 has key seed 73)…
  const own = await signDeposit({ from: clientId.did, to: clientId.did, amount: 5, stake: false, issued: Date.now() }, clientId.signer)
  const answered = await marketRequest(client!.libp2p, net.address, { deposit: own.bytes }) as { account: { available: number } }
  assert.equal(answered.account.available, 5)
  // …not one signed by someone else and relayed…
  const other = await identityFromSeed(new Uint8Array(32).fill(99))
  const relayed = await signDeposit({ from: other.did, to: other.did, amount: 5, stake: false, issued: Date.now() }, other.signer)
  assert.match(await refusal(net.address, { deposit: relayed.bytes }), /^InvalidMarketMessage: deposit from did:key:\S+ claims to be issued by/)
  // …nor one beyond the faucet's limit.
  const greedy = await signDeposit({ from: clientId.did, to: clientId.did, amount: 2e15, stake: false, issued: Date.now() }, clientId.signer)
  assert.match(await refusal(net.address, { deposit: greedy.bytes }), /^DepositRefused: the faucet gives at most 1000000000 credits per request/)
  // A scheduler without a faucet refuses every deposit.
  const [plain] = await loopbackNetwork(t, 1, 74)
  const home = await tempDir(t)
  const role = await startSchedulerRole({ node: plain!, repo: memoryRepo(), signer: (await identityFromSeed(new Uint8Array(32).fill(75))).signer, dir: home, advertise: false })
  t.after(async () => { await role.stop() })
  assert.match(await refusal(plain!.getMultiaddrs()[0]!, { deposit: own.bytes }), /^DepositRefused: this scheduler runs no faucet/)
  // An executor answers calls for bids only; garbage and unknown kinds are named.
  const executor = net.executors[0]!.node.getMultiaddrs()[0]!
  assert.match(await refusal(executor, { balance: { did: clientId.did } }), /^UnsupportedMarketRequest: this node does not answer "balance" requests/)
  assert.match(await refusal(executor, { nonsense: 1 }), /^MalformedMessageError: unknown market request "nonsense"/)
  assert.match(await refusal(executor, { bids: { announcement: new Uint8Array([1, 2, 3]) } }), /^MalformedMessageError: announce message is not DAG-CBOR/)
  assert.match(await refusal(net.address, { status: { workflow: 'bafkreinothere' } }), /^UnknownWorkflow/)
  // Still serving.
  const balance = await marketRequest(client!.libp2p, net.address, { balance: { did: clientId.did } }) as { account: { available: number } }
  assert.equal(balance.account.available, 5)
  await conserved(net)
})
