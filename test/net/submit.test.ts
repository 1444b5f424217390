import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import * as lp from 'it-length-prefixed'
import { CID } from 'multiformats/cid'
import { startDevnet } from '../../src/devnet.js'
import { Requester } from '../../src/requester.js'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { identityFromSeed } from '../../src/auth/identity.js'
import { archiveDelegation, delegateWasmRun } from '../../src/auth/delegation.js'
import { signReceipt, verifyReceipt } from '../../src/auth/sign.js'
import { peerDid } from '../../src/executor/remote.js'
import { LocalExecutor } from '../../src/executor/local.js'
import { instructionCid } from '../../src/model/instruction.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { receiptValue } from '../../src/model/receipt.js'
import { MessageReader, writeFrame, writeMessage } from '../../src/net/framing.js'
import { SUBMIT_PROTOCOL, SubmissionRefusedError, parseSubmitAnswer } from '../../src/net/protocols/submit.js'
import { Scheduler } from '../../scheduler/scheduler.js'
import { SubmitService } from '../../scheduler/submit-service.js'
import { MATH_WAT, task, tempDir, wat, workflowFile } from '../helpers.js'
import { loopbackNetwork, loopbackNode, within } from './helpers.js'
import type { TestContext } from 'node:test'
import type { Devnet } from '../../src/devnet.js'
import type { IpvmNode } from '../../src/net/node.js'
import type { Instruction } from '../../src/model/types.js'
import type { SchedulerEvent } from '../../scheduler/scheduler.js'

const math = await wat(MATH_WAT)
const module = cidOf(math, codecs.raw)
const requesterId = await identityFromSeed(new Uint8Array(32).fill(40))

async function devnet (t: TestContext, init: Parameters<typeof startDevnet>[0] = {}): Promise<Devnet> {
  const net = await startDevnet(init)
  t.after(async () => { await net.stop() })
  // The requester pays for its tasks: the devnet's faucet credits it.
  await net.fund(requesterId.did)
  return net
}

/** A requester node joined to `address`, holding the math module. */
async function requester (t: TestContext, address: string, index = 40): Promise<{ node: IpvmNode, requester: Requester, repo: ReturnType<typeof memoryRepo> }> {
  const node = await loopbackNode(t, index, { privateKey: requesterId.privateKey, bootstrap: [address] })
  await node.start()
  const repo = memoryRepo()
  await repo.blocks.put(module, math)
  const client = new Requester({ node, repo, signer: requesterId.signer })
  await client.start()
  t.after(async () => { await client.stop() })
  return { node, requester: client, repo }
}

test('a workflow submitted to a devnet runs its independent branches on different executors; every receipt is verified and stored', async t => {
  const events: SchedulerEvent[] = []
  const net = await devnet(t, { executors: 3, onEvent: event => events.push(event) })
  const { requester: client, repo } = await requester(t, net.address.toString())
  const a = task(module, 'add', [2, 3])
  const b = task(module, 'mul', [{ 'await/ok': instructionCid(a.run as Instruction) }, 4])
  const c = task(module, 'add', [10, 20])
  const d = task(module, 'add', [{ 'await/ok': instructionCid(b.run as Instruction) }, { 'await/ok': instructionCid(c.run as Instruction) }])
  const report = await client.submit(workflowFile([a, b, c, d]), 'flow.json', { scheduler: net.scheduler.node.peerId, ...within(30_000) })
  assert.equal(report.ok, true, JSON.stringify(report.tasks.map(task => task.out)))
  assert.deepEqual(report.tasks.map(task => task.out), [{ ok: 5 }, { ok: 20 }, { ok: 30 }, { ok: 50 }])
  const executors = new Set(report.tasks.map(task => task.executor))
  assert.ok(executors.size >= 2, `tasks ran on ${executors.size} executor(s)`)
  const executorDids = new Set(net.executors.map(executor => peerDid(executor.node.peerId)))
  for (const task of report.tasks) {
    assert.ok(executorDids.has(task.executor as `did:key:${string}`), 'each receipt is signed by a devnet executor')
    // Stored by the requester with everything it rests on: it verifies offline, chain included.
    const receiptCid = await repo.receipts.get(task.instructionCid)
    assert.ok(receiptCid?.equals(task.receiptCid as CID))
    const verified = await verifyReceipt(await repo.blocks.get(receiptCid as CID) as Uint8Array, { blocks: repo.blocks, requireInvocation: true })
    assert.equal(verified.error, undefined, verified.error?.message)
    // The chain roots at the requester's budget: the requester paid for it.
    assert.equal(verified.ok?.invocation?.subject, requesterId.did)
  }
  assert.equal(events.filter(event => event.type === 'task:running').length, 4)
})

test('submitting the same file again follows the same run: no task runs twice', async t => {
  const events: SchedulerEvent[] = []
  const net = await devnet(t, { executors: 2, onEvent: event => events.push(event) })
  const { requester: client } = await requester(t, net.address.toString())
  const a = task(module, 'add', [1, 1])
  const b = task(module, 'mul', [{ 'await/ok': instructionCid(a.run as Instruction) }, 3])
  const c = task(module, 'add', [{ 'await/ok': instructionCid(b.run as Instruction) }, 1])
  const file = workflowFile([a, b, c])
  // The requester goes away as soon as the first task is done.
  const controller = new AbortController()
  const partial = await client.submit(file, 'flow.json', {
    scheduler: net.scheduler.node.peerId,
    signal: controller.signal,
    onEvent: event => { if (event.type === 'task:done') controller.abort() }
  })
  assert.ok(partial.tasks.some(task => task.status === 'not-run'), 'the first submission was left before the end')
  const report = await client.submit(file, 'flow.json', { scheduler: net.scheduler.node.peerId, ...within(30_000) })
  assert.equal(report.ok, true)
  assert.deepEqual(report.tasks.map(task => task.out), [{ ok: 2 }, { ok: 6 }, { ok: 7 }])
  const runs = events.filter((event): event is Extract<SchedulerEvent, { type: 'task:running' }> => event.type === 'task:running').map(event => event.index).sort()
  assert.deepEqual(runs, [0, 1, 2], 'each task ran exactly once over both submissions')
})

test('an executor that accepts and then stays silent has its task reassigned after the task time and grace', async t => {
  const net = await devnet(t, { executors: 2, remote: { graceMs: 300, acceptTimeoutMs: 2_000 } })
  // One executor accepts everything and never answers.
  const silent = net.executors[0]!.role.executor
  silent.execute = async (_task, options) => await new Promise((_resolve, reject) => {
    options?.signal?.addEventListener('abort', () => { reject(options.signal?.reason) }, { once: true })
  })
  const { requester: client } = await requester(t, net.address.toString())
  const tasks = [1, 2, 3, 4].map(n => task(module, 'add', [n, n], { time: 500 }))
  const report = await client.submit(workflowFile(tasks), 'flow.json', { scheduler: net.scheduler.node.peerId, ...within(30_000) })
  assert.equal(report.ok, true, JSON.stringify(report.tasks.map(task => task.out)))
  assert.deepEqual(report.tasks.map(task => task.out), [{ ok: 2 }, { ok: 4 }, { ok: 6 }, { ok: 8 }])
  const healthy = peerDid(net.executors[1]!.node.peerId)
  assert.ok(report.tasks.every(task => task.executor === healthy), 'every receipt comes from the executor that answered')
})

test('the requester refuses a receipt that does not answer its task, and stores nothing for it', async t => {
  // A lying scheduler: it accepts, then sends a receipt signed by someone for another instruction.
  const [liar, node] = await loopbackNetwork(t, 2, 50)
  const mallory = await identityFromSeed(new Uint8Array(32).fill(66))
  const other = encodeInstruction(task(module, 'add', [100, 100]).run as Instruction)
  const forged = await signReceipt(receiptValue({ ran: other, out: { ok: 999 }, meta: {} }), mallory.signer)
  await liar!.libp2p.handle(SUBMIT_PROTOCOL, async stream => {
    await writeMessage(stream, { accepted: { id: 'x', tasks: 1, scheduler: peerDid(liar!.peerId) } })
    await writeMessage(stream, { task: { index: 0, state: 'done', memoized: false, receipt: forged.bytes, blocks: [] } })
    await writeMessage(stream, { done: { ok: true } })
    await stream.close()
  })
  const repo = memoryRepo()
  await repo.blocks.put(module, math)
  const client = new Requester({ node: node!, repo, signer: requesterId.signer })
  await client.start()
  t.after(async () => { await client.stop() })
  const work = task(module, 'add', [1, 2])
  const report = await client.submit(workflowFile([work]), 'flow.json', { scheduler: liar!.peerId, ...within(10_000) })
  assert.equal(report.ok, false)
  const out = report.tasks[0]?.out
  assert.ok(out !== undefined && 'error' in out && out.error.name === 'InvalidReceipt', JSON.stringify(out))
  assert.equal(await repo.receipts.get(instructionCid(work.run as Instruction)), undefined, 'nothing stored')
})

function encodeInstruction (instruction: Instruction): CID {
  return cidOf(dagCbor.encode(instruction), codecs.dagCbor)
}

test('the scheduler refuses bad submissions with named errors and keeps serving', async t => {
  const [schedulerNode, client] = await loopbackNetwork(t, 2, 60)
  const schedulerId = await identityFromSeed(new Uint8Array(32).fill(61))
  const repo = memoryRepo()
  await repo.blocks.put(module, math)
  const local = new LocalExecutor(repo.blocks, { threads: 1, identity: schedulerId.signer, requireInvocation: true })
  const scheduler = new Scheduler({ repo, executor: local, dir: await tempDir(t), signer: schedulerId.signer })
  await scheduler.start()
  const service = new SubmitService(schedulerNode!.libp2p, { scheduler, repo, did: schedulerId.did, requestTimeoutMs: 300 })
  await service.start()
  t.after(async () => { await service.stop(); await scheduler.stop(); await local.stop() })

  /** Sends raw bytes (a whole frame) and returns the first answer. */
  const ask = async (frame: Uint8Array | undefined): Promise<unknown> => {
    const stream = await client!.libp2p.dialProtocol(schedulerNode!.peerId, SUBMIT_PROTOCOL, within(5_000))
    if (frame !== undefined) stream.send(frame)
    const reader = new MessageReader(stream, { timeoutMs: 5_000 })
    return parseSubmitAnswer(await reader.read())
  }
  const request = async (value: unknown): Promise<unknown> => await ask(lp.encode.single(dagCbor.encode(value)).subarray())
  const budget = async (init: { audience?: typeof schedulerId.did, expiration?: number } = {}): Promise<Uint8Array> => await archiveDelegation(await delegateWasmRun({
    issuer: requesterId.signer,
    audience: init.audience ?? schedulerId.did,
    caveats: { maxFuel: 1e10, modules: [module] },
    expiration: init.expiration ?? Math.floor(Date.now() / 1000) + 3600
  }))
  const good = workflowFile([task(module, 'add', [20, 22])])
  const errorName = (answer: unknown): string => (answer as { error?: { name: string, message: string } }).error?.name ?? JSON.stringify(answer)
  const errorMessage = (answer: unknown): string => (answer as { error?: { message: string } }).error?.message ?? ''

  assert.equal(errorName(await ask(Uint8Array.of(3, 0xff, 0xfe, 0xfd))), 'MalformedMessageError')
  // A length prefix announcing 64 MiB: refused on the prefix, before any body arrives.
  assert.equal(errorName(await ask(Uint8Array.of(0x80, 0x80, 0x80, 0x20))), 'MessageTooLargeError')
  // A stream that never writes.
  assert.equal(errorName(await ask(undefined)), 'MessageTimeoutError')
  assert.equal(errorName(await request({ workflow: 'not bytes', source: 'x' })), 'InvalidSubmitRequestError')
  assert.equal(errorName(await request({ workflow: new TextEncoder().encode('{"tasks": ['), source: 'broken.json' })), 'WorkflowValidationError')
  assert.equal(errorName(await request({ workflow: good, source: 'x.json' })), 'Unauthorized', 'no budget')
  const wrong = await request({ workflow: good, source: 'x.json', proof: await budget({ audience: requesterId.did }) })
  assert.equal(errorName(wrong), 'Unauthorized')
  assert.match(errorMessage(wrong), /WrongAudience/)
  const expired = await request({ workflow: good, source: 'x.json', proof: await budget({ expiration: Math.floor(Date.now() / 1000) - 10 }) })
  assert.match(errorMessage(expired), /Expired/)
  assert.equal(errorName(await request({ workflow: good, source: 'x.json', proof: Uint8Array.of(1, 2, 3) })), 'Unauthorized')

  // Still serving: a good submission runs to the end.
  const stream = await client!.libp2p.dialProtocol(schedulerNode!.peerId, SUBMIT_PROTOCOL, within(5_000))
  await writeMessage(stream, { workflow: good, source: 'good.json', proof: await budget() })
  const reader = new MessageReader(stream, { timeoutMs: 10_000 })
  const answers: unknown[] = []
  for (let answer = await reader.read(); answer !== undefined; answer = await reader.read()) answers.push(parseSubmitAnswer(answer))
  assert.ok('accepted' in (answers[0] as object))
  const finished = answers.find(answer => 'task' in (answer as object)) as { task: { state: string, receipt: Uint8Array } }
  assert.equal(finished.task.state, 'done')
  assert.deepEqual(answers.at(-1), { done: { ok: true } })
  assert.equal(service.streams, 0)
})

test('a requester told of a scheduler that refuses gets SubmissionRefusedError', async t => {
  const [schedulerNode, node] = await loopbackNetwork(t, 2, 70)
  await schedulerNode!.libp2p.handle(SUBMIT_PROTOCOL, async stream => {
    await writeFrame(stream, dagCbor.encode({ error: { name: 'Unauthorized', message: 'no' } }))
    await stream.close()
  })
  const repo = memoryRepo()
  const client = new Requester({ node: node!, repo, signer: requesterId.signer })
  await client.start()
  t.after(async () => { await client.stop() })
  await assert.rejects(client.submit(workflowFile([task(module, 'add', [1, 2])]), 'f.json', { scheduler: schedulerNode!.peerId, ...within(10_000) }), (err: Error) => {
    assert.ok(err instanceof SubmissionRefusedError)
    assert.equal(err.remoteName, 'Unauthorized')
    return true
  })
})
