import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { identityFromSeed } from '../../src/auth/identity.js'
import { alice, mallory } from '../../src/auth/fixtures.js'
import { delegateBudget } from '../../src/auth/delegation.js'
import { verifyReceipt } from '../../src/auth/sign.js'
import { DelegationCache } from '../../src/auth/validate.js'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { LocalExecutor } from '../../src/executor/local.js'
import { RemoteExecutor, isRemoteResult, peerDid } from '../../src/executor/remote.js'
import { BlockExchange } from '../../src/net/protocols/blocks.js'
import { NetworkBlocks } from '../../src/net/network-blocks.js'
import { advertiseRole } from '../../src/net/discovery.js'
import { MessageReader, writeFrame, writeMessage } from '../../src/net/framing.js'
import { EXECUTE_PROTOCOL, ExecuteService } from '../../src/net/protocols/execute.js'
import { instructionBlock } from '../../src/model/instruction.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { MATH_WAT, wat } from '../helpers.js'
import { loopbackNetwork, within } from './helpers.js'
import type { TestContext } from 'node:test'
import type { CID } from 'multiformats/cid'
import type { IpvmNode } from '../../src/net/node.js'
import type { ExecutionTask } from '../../src/executor/interface.js'
import type { Instruction, IpldValue } from '../../src/model/types.js'
import type { Signer } from '../../src/auth/types.js'

const math = await wat(MATH_WAT)

/** The signer of loopback node `index` (same seed as test/net/helpers fixedKey). */
async function signerOf (index: number): Promise<Signer & { did(): `did:${string}:${string}`, signatureAlgorithm: string }> {
  return (await identityFromSeed(new Uint8Array(32).fill(index + 1))).signer
}

async function networkBlocks (t: TestContext, node: IpvmNode): Promise<{ repo: ReturnType<typeof memoryRepo>, blocks: NetworkBlocks }> {
  const repo = memoryRepo()
  const exchange = new BlockExchange(node.libp2p, { blocks: repo.blocks })
  await exchange.start()
  t.after(async () => { await exchange.stop() })
  return { repo, blocks: new NetworkBlocks({ local: repo.blocks, node, exchange, queryTimeoutMs: 10_000 }) }
}

/** Makes `node` an executor: network-backed store, a LocalExecutor checking invocations, the execute service. */
async function startExecutor (t: TestContext, node: IpvmNode, signer: Signer, init: { maxRequestBytes?: number } = {}): Promise<{ service: ExecuteService, repo: ReturnType<typeof memoryRepo> }> {
  const { repo, blocks } = await networkBlocks(t, node)
  const executor = new LocalExecutor(blocks, { threads: 1, identity: signer, requireInvocation: true, delegationCache: new DelegationCache() })
  const service = new ExecuteService(node.libp2p, { signer, executor, blocks, repo, ...init })
  await service.start()
  t.after(async () => { await service.stop(); await executor.stop() })
  return { service, repo }
}

/** The module stored on `node` and provided in the DHT. */
async function provideModule (t: TestContext, node: IpvmNode): Promise<CID> {
  const { blocks } = await networkBlocks(t, node)
  // The bootstrap node learns its peers through identify: wait for one before providing.
  const routingTable = (node.dht as unknown as { routingTable: EventTarget & { size: number } }).routingTable
  if (routingTable.size === 0) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('no DHT peer within 10 s')) }, 10_000)
      routingTable.addEventListener('peer:add', () => { clearTimeout(timer); resolve() }, { once: true })
    })
  }
  const module = cidOf(math, codecs.raw)
  await blocks.put(module, math, within(10_000))
  return module
}

function executionTask (module: CID, func: string, args: IpldValue[], fuel = 1_000_000): ExecutionTask {
  const instruction: Instruction = { rsc: `ipfs://${module}`, op: 'wasm/run', input: { func, args }, nnc: '' }
  return { instruction, instructionCid: instructionBlock(instruction).cid, module, func, args, meta: { fuel } }
}

test('a task runs on an executor found by role, which fetches the module and signs the receipt; the chain roots at the requester', async t => {
  const [scheduler, executorNode] = await loopbackNetwork(t, 2)
  const executorSigner = await signerOf(1)
  const { repo: executorRepo } = await startExecutor(t, executorNode!, executorSigner)
  await advertiseRole(executorNode!, 'executor', within(10_000))
  const module = await provideModule(t, scheduler!)
  const budget = await delegateBudget({ requester: alice, scheduler: (await signerOf(0)).did(), caveats: { maxFuel: 10_000_000 }, expiration: Math.floor(Date.now() / 1000) + 3600 })
  const remote = new RemoteExecutor({ node: scheduler!, signer: await signerOf(0), proofs: [budget] })
  t.after(async () => { await remote.stop() })

  const assigned: string[] = []
  const result = await remote.execute(executionTask(module, 'add', [2, 3]), { onAssigned: peer => assigned.push(peer.toString()), ...within(20_000) })
  assert.deepEqual(result.out, { ok: 5 })
  assert.equal(result.executed, true)
  assert.ok(isRemoteResult(result))
  assert.equal(result.executor.did, executorSigner.did())
  assert.equal(result.executor.did, peerDid(executorNode!.peerId))
  assert.deepEqual(assigned, [executorNode!.peerId.toString()])
  assert.equal(result.receipt.value.iss, executorSigner.did())
  assert.ok(await executorRepo.blocks.has(module), 'the executor fetched the module from its provider')
  // Anyone with the blocks can check the receipt and its authority offline.
  const blocks = new Map<string, Uint8Array>([[result.invocation.cid.toString(), result.invocation.bytes], [result.authorization.cid.toString(), result.authorization.bytes], ...result.proofBlocks.map(b => [b.cid.toString(), b.bytes] as [string, Uint8Array])])
  const instruction = instructionBlock(executionTask(module, 'add', [2, 3]).instruction)
  blocks.set(instruction.cid.toString(), instruction.bytes)
  const verified = await verifyReceipt(result.receipt.bytes, { blocks: { get: async cid => blocks.get(cid.toString()) }, requireInvocation: true })
  assert.equal(verified.error, undefined, verified.error?.message)
  assert.equal(verified.ok?.invocation?.subject, alice.did())
  assert.equal(verified.ok?.invocation?.invoker, executorSigner.did())

  // More fuel than the requester granted: refused by the scheduler before any executor is asked.
  const costly = await remote.execute(executionTask(module, 'add', [1, 1], 50_000_000), within(20_000))
  assert.equal((costly.out as { error: { name: string } }).error.name, 'CaveatExceeded')
  assert.equal(costly.executed, false)
})

test('malformed, non-CBOR and oversized requests get named error answers and the executor keeps serving', async t => {
  const [scheduler, executorNode] = await loopbackNetwork(t, 2)
  await startExecutor(t, executorNode!, await signerOf(1), { maxRequestBytes: 4096 })
  const module = await provideModule(t, scheduler!)

  const ask = async (send: (stream: Awaited<ReturnType<IpvmNode['libp2p']['dialProtocol']>>) => Promise<void>): Promise<unknown> => {
    const stream = await scheduler!.libp2p.dialProtocol(executorNode!.peerId, EXECUTE_PROTOCOL, within(5_000))
    await send(stream)
    const answer = await new MessageReader(stream, { timeoutMs: 5_000 }).read()
    stream.abort(new Error('done'))
    return answer
  }
  const nameOf = (answer: unknown): string => (answer as { error: { name: string } }).error.name
  assert.equal(nameOf(await ask(async stream => { await writeMessage(stream, { hello: 1 }) })), 'InvalidExecuteRequestError')
  assert.equal(nameOf(await ask(async stream => { await writeFrame(stream, new Uint8Array([0xff, 0xff, 0xff])) })), 'MalformedMessageError')
  assert.equal(nameOf(await ask(async stream => { await writeFrame(stream, new Uint8Array(10_000)) })), 'MessageTooLargeError')
  const instruction = dagCbor.encode({ rsc: `ipfs://${module}`, op: 'wasm/run', input: { func: 'add', args: [1, 2] }, nnc: '' })
  const swapped = await ask(async stream => { await writeMessage(stream, { instruction, args: [1, 3], meta: {}, prf: [], proofs: [] }) })
  assert.equal(nameOf(swapped), 'InvalidExecuteRequestError', 'arguments that differ from the instruction outside its promises')
  assert.match((swapped as { error: { message: string } }).error.message, /differ/)

  const remote = new RemoteExecutor({ node: scheduler!, signer: await signerOf(0), peers: async () => [executorNode!.peerId] })
  t.after(async () => { await remote.stop() })
  assert.deepEqual((await remote.execute(executionTask(module, 'mul', [6, 7]), within(20_000))).out, { ok: 42 })
})

test('a silent executor, a dead one and one whose receipt does not verify are left; the task ends on an honest one', async t => {
  const [scheduler, liar, silent, dead, honest] = await loopbackNetwork(t, 5)
  // The liar runs a real executor, but signs with a key that is not its node's (mallory's).
  await startExecutor(t, liar!, mallory)
  // The silent one accepts streams and never answers.
  await silent!.libp2p.handle(EXECUTE_PROTOCOL, () => {})
  const honestSigner = await signerOf(4)
  await startExecutor(t, honest!, honestSigner)
  const deadPeer = dead!.peerId
  await dead!.stop()
  const module = await provideModule(t, scheduler!)

  const remote = new RemoteExecutor({
    node: scheduler!,
    signer: await signerOf(0),
    peers: async () => [liar!.peerId, silent!.peerId, deadPeer, honest!.peerId],
    maxAttempts: 4,
    acceptTimeoutMs: 1_000
  })
  t.after(async () => { await remote.stop() })
  const result = await remote.execute(executionTask(module, 'add', [20, 22]), within(30_000))
  assert.deepEqual(result.out, { ok: 42 })
  assert.ok(isRemoteResult(result))
  assert.equal(result.executor.did, honestSigner.did())
  assert.deepEqual(result.failures.map(f => f.peer), [liar!.peerId.toString(), silent!.peerId.toString(), deadPeer.toString()])
  // Signed by another key than the executor's own: not the work of the executor the task was given to.
  assert.match(result.failures[0]!.error, /^NotAwarded: .*signed by did:key:/)
  assert.match(result.failures[1]!.error, /^MessageTimeoutError/)

  // With only bad executors the task fails with a named error, not an exception.
  const stuck = new RemoteExecutor({ node: scheduler!, signer: await signerOf(0), peers: async () => [liar!.peerId, silent!.peerId], acceptTimeoutMs: 1_000 })
  t.after(async () => { await stuck.stop() })
  const failed = await stuck.execute(executionTask(module, 'add', [1, 2]), within(30_000))
  assert.equal((failed.out as { error: { name: string } }).error.name, 'NoExecutor')
})
