/**
 * The network as separate OS processes on 127.0.0.1: `ipvm node` for each
 * role, `ipvm submit` as the requester. Faults are real: SIGKILL, restarts,
 * hostile bytes from another node.
 */
import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import * as dagCbor from '@ipld/dag-cbor'
import * as lp from 'it-length-prefixed'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { createIpvmNode } from '../../src/net/node.js'
import { identityFromSeed } from '../../src/auth/identity.js'
import { MessageReader } from '../../src/net/framing.js'
import { EXECUTE_PROTOCOL } from '../../src/net/protocols/execute.js'
import { recordKey, signRecord } from '../../src/net/records.js'
import * as dagJson from '@ipld/dag-json'
import { instructionCid } from '../../src/model/instruction.js'
import { tempDir } from '../helpers.js'
import { ipvm, startCommand, startNode } from './helpers.js'
import type { TestContext } from 'node:test'
import type { NodeProcess } from './helpers.js'
import type { Instruction } from '../../src/model/types.js'

const examples = fileURLToPath(new URL('../../../examples/', import.meta.url))

/** A scheduler that runs a faucet (test networks pay with credits it creates on request) and settles each receipt at once. */
const SCHEDULER = ['--faucet', '1000000000', '--challenge-window', '0']

/**
 * Stakes each executor at `scheduler` with `ipvm deposit --stake`, as their
 * operators would: enough collateral for these tasks at the default check
 * rate (escrow × 19; the tasks' escrows are at most 100,000 credits).
 */
async function stake (t: TestContext, scheduler: NodeProcess, executors: NodeProcess[]): Promise<void> {
  const home = await tempDir(t)
  await Promise.all(executors.map(async executor => {
    const did = (await executor.waitFor(event => event.event === 'started', 1_000)).did as string
    const done = await ipvm(t, ['deposit', '2000000', '--stake', '--to', did, '--scheduler', scheduler.address], home)
    assert.equal(done.code, 0, done.stderr)
  }))
}

/** A requester home holding the hashchain module, credited at `scheduler`, and a workflow file written from `tasks(module)`. */
async function requesterHome (t: TestContext, scheduler: NodeProcess, tasks: (module: string) => unknown[]): Promise<{ home: string, file: string }> {
  const home = await tempDir(t)
  const funded = await ipvm(t, ['deposit', '1000000000', '--scheduler', scheduler.address, '--json'], home)
  assert.equal(funded.code, 0, funded.stderr)
  assert.equal(JSON.parse(funded.stdout).available, 1_000_000_000)
  const added = await ipvm(t, ['add', '-q', join(examples, 'build/hashchain.wasm')], home)
  assert.equal(added.code, 0, added.stderr)
  const module = added.stdout.trim()
  const file = join(home, 'flow.json')
  await writeFile(file, JSON.stringify({ tasks: tasks(module) }))
  return { home, file }
}

/** `chain(seed, rounds)`: about 0.35 s per 100 million rounds here. */
function chain (module: string, seed: unknown, rounds: number): unknown {
  return { run: { rsc: `ipfs://${module}`, op: 'wasm/run', input: { func: 'chain', args: [seed, rounds] }, nnc: '' }, meta: { fuel: 100_000_000_000, time: 60_000 }, prf: [] }
}

/** The InID of a task written as JSON, as any node reading the file computes it. */
function inId (task: unknown): string {
  const run = dagJson.decode<{ run: Instruction }>(new TextEncoder().encode(JSON.stringify(task))).run
  return instructionCid(run).toString()
}

async function network (t: TestContext, executors: number): Promise<{ scheduler: NodeProcess, executors: NodeProcess[], verifier: NodeProcess }> {
  const scheduler = await startNode(t, 'scheduler', await tempDir(t), ['--listen', '/ip4/127.0.0.1/tcp/0', ...SCHEDULER])
  const join_ = async (role: string): Promise<NodeProcess> => await startNode(t, role, await tempDir(t), ['--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', scheduler.address])
  const nodes = await Promise.all([...Array.from({ length: executors }, async () => await join_('executor')), join_('verifier')])
  await stake(t, scheduler, nodes.slice(0, executors))
  return { scheduler, executors: nodes.slice(0, executors), verifier: nodes[executors] as NodeProcess }
}

test('one scheduler, three executors and a verifier as processes: hostile input is refused and logged, an executor SIGKILLed mid-task loses nothing', { timeout: 120_000 }, async t => {
  const net = await network(t, 3)
  const target = net.executors[0] as NodeProcess

  await t.test('hostile input to an executor process: each refused with a named error and a log line', async () => {
    const attacker = await createIpvmNode({ privateKey: (await identityFromSeed(new Uint8Array(32).fill(99))).privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [net.scheduler.address], allowLoopback: true })
    await attacker.start()
    t.after(async () => { await attacker.stop() })
    const executor = peerIdFromString(target.peerId)
    await attacker.libp2p.peerStore.merge(executor, { multiaddrs: [multiaddr(target.address)] })
    const answer = async (frame: Uint8Array | undefined): Promise<unknown> => {
      const stream = await attacker.libp2p.dialProtocol(executor, EXECUTE_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
      if (frame !== undefined) stream.send(frame)
      return await new MessageReader(stream, { timeoutMs: 15_000 }).read()
    }
    const errorName = (value: unknown): string => (value as { error?: { name?: string } } | undefined)?.error?.name ?? JSON.stringify(value)
    // A stream that never writes, left open while the rest goes on.
    const silent = answer(undefined)
    assert.equal(errorName(await answer(Uint8Array.of(0x80, 0x80, 0x80, 0x40))), 'MessageTooLargeError')
    assert.equal(errorName(await answer(Uint8Array.of(2, 0xff, 0xff))), 'MalformedMessageError')
    assert.equal(errorName(await answer(lp.encode.single(dagCbor.encode({ instruction: 'nope' })).subarray())), 'InvalidExecuteRequestError')
    await assert.rejects(attacker.libp2p.dialProtocol(executor, '/ipvm/no-such-protocol/1.0.0', { signal: AbortSignal.timeout(5_000) }), { name: 'UnsupportedProtocolError' })
    // A record under the executor's name, signed by someone else: every DHT node refuses it.
    const forged = await signRecord(attacker, 'capacity', new TextEncoder().encode('999 cores'))
    for await (const event of attacker.dht.put(recordKey(target.peerId, 'capacity'), forged.bytes, { signal: AbortSignal.timeout(10_000) })) void event
    assert.equal(errorName(await silent), 'MessageTimeoutError')
    const log = target.stderr()
    for (const name of ['MessageTooLargeError', 'MalformedMessageError', 'InvalidExecuteRequestError', 'MessageTimeoutError']) {
      assert.match(log, new RegExp(`refused a request from \\S+: ${name}`), `the executor logged the ${name}`)
    }
    const refusedRecords = [net.scheduler, ...net.executors, net.verifier].filter(node => /refused a DHT record under \/ipvm\/\S+\/capacity: InvalidRecordError/.test(node.stderr()))
    assert.ok(refusedRecords.length > 0, 'the DHT nodes that were asked logged the forged record')
    assert.equal(target.child.exitCode, null, 'the executor is still running')
  })

  await t.test('a workflow completes while the executor running one of its tasks is SIGKILLed', async () => {
    const { home, file } = await requesterHome(t, net.scheduler, module => [chain(module, 1, 400_000_000), chain(module, 2, 400_000_000), chain(module, 3, 400_000_000)])
    const submit = startCommand(t, ['submit', '--json', '--scheduler', net.scheduler.address, file], home, 90_000)
    // The first executor given a task dies at once.
    const running = await net.scheduler.waitFor(event => event.event === 'task:running', 30_000)
    const victim = net.executors.find(node => node.peerId === running.executor) as NodeProcess
    assert.ok(victim !== undefined, `task ran on ${String(running.executor)}, one of the three executors`)
    victim.child.kill('SIGKILL')
    const done = await submit.done
    assert.equal(done.code, 0, done.stderr)
    const report = JSON.parse(done.stdout)
    assert.equal(report.ok, true)
    assert.equal(report.tasks.length, 3)
    const victimDid = (await ipvm(t, ['id', '--json'], victim.home)).stdout
    for (const task of report.tasks) {
      assert.equal(typeof task.out.ok, 'number')
      assert.ok(!victimDid.includes(task.executor), 'no receipt comes from the killed executor')
    }
    // Reassigned: the killed executor's task ran again, elsewhere.
    const runs = net.scheduler.events.filter(event => event.event === 'task:running' && event.index === running.index)
    assert.ok(runs.length >= 2, 'the task was reassigned')
    // The scheduler's view of the market: the dead executor completed nothing and lost reputation; each task was paid once.
    const known = await ipvm(t, ['executors', '--json', '--scheduler', net.scheduler.address], home)
    assert.equal(known.code, 0, known.stderr)
    const records = JSON.parse(known.stdout) as Array<{ did: string, completed: number, failed: number, timedOut: number, reputation: number }>
    const dead = records.find(record => victimDid.includes(record.did))
    assert.ok(dead !== undefined && dead.completed === 0 && dead.failed + dead.timedOut >= 1 && dead.reputation < 0.5, JSON.stringify(dead))
    assert.equal(records.reduce((sum, record) => sum + record.completed, 0), 3)
    const balance = JSON.parse((await ipvm(t, ['balance', '--json', '--scheduler', net.scheduler.address], home)).stdout)
    assert.deepEqual([balance.available, balance.escrowed], [1_000_000_000 - report.tasks.reduce((sum: number, task: { cost: number }) => sum + task.cost, 0), 0], 'what the requester lacks is what its tasks cost; nothing is left in escrow')
  })
})

test('a scheduler SIGKILLed mid-workflow resumes after restart: no finished task runs again, the requester follows to the end', { timeout: 120_000 }, async t => {
  const schedulerHome = await tempDir(t)
  let scheduler = await startNode(t, 'scheduler', schedulerHome, ['--listen', '/ip4/127.0.0.1/tcp/0', ...SCHEDULER])
  const executors = await Promise.all([0, 1].map(async () => await startNode(t, 'executor', await tempDir(t), ['--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', scheduler.address])))
  await stake(t, scheduler, executors)
  // A chain of three tasks, each waiting for the one before.
  const { home, file } = await requesterHome(t, scheduler, module => {
    const first = chain(module, 7, 300_000_000)
    const second = chain(module, { 'await/ok': { '/': inId(first) } }, 300_000_000)
    const third = chain(module, { 'await/ok': { '/': inId(second) } }, 300_000_000)
    return [first, second, third]
  })
  const flow = file

  const submit = startCommand(t, ['submit', '--json', '--reconnect', '60', '--scheduler', scheduler.address, flow], home, 100_000)
  await scheduler.waitFor(event => event.event === 'task:finished' && event.index === 0, 60_000)
  scheduler.child.kill('SIGKILL')
  await scheduler.exited
  // Same home (its LMDB state and its key), same address; it rejoins through an executor.
  scheduler = await startNode(t, 'scheduler', schedulerHome, ['--listen', scheduler.address.split('/p2p/')[0] as string, '--bootstrap', (executors[0] as NodeProcess).address, ...SCHEDULER])
  await scheduler.waitFor(event => event.event === 'resumed', 10_000)
  const done = await submit.done
  assert.equal(done.code, 0, done.stderr)
  const report = JSON.parse(done.stdout)
  assert.equal(report.ok, true)
  assert.deepEqual(report.tasks.map((task: { status: string }) => task.status), ['ok', 'ok', 'ok'])
  assert.equal(scheduler.events.filter(event => event.event === 'task:running' && event.index === 0).length, 0, 'the finished task did not run again')
  assert.ok(scheduler.events.some(event => event.event === 'task:finished' && event.index === 2), 'the restarted scheduler finished the workflow')
  // The ledger survived the crash: the escrow of the task in flight was refunded at restart, and the requester was charged once per task.
  const balance = JSON.parse((await ipvm(t, ['balance', '--json', '--scheduler', scheduler.address], home)).stdout)
  assert.deepEqual([balance.available, balance.escrowed], [1_000_000_000 - report.tasks.reduce((sum: number, task: { cost: number }) => sum + task.cost, 0), 0], 'what the requester lacks is what its tasks cost; nothing is left in escrow')
})
