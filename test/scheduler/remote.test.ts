import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import { identityFromSeed } from '../../src/auth/identity.js'
import { verifyReceipt } from '../../src/auth/sign.js'
import { DelegationCache } from '../../src/auth/validate.js'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { LocalExecutor } from '../../src/executor/local.js'
import { RemoteExecutor } from '../../src/executor/remote.js'
import { BlockExchange } from '../../src/net/protocols/blocks.js'
import { NetworkBlocks } from '../../src/net/network-blocks.js'
import { advertiseRole } from '../../src/net/discovery.js'
import { ExecuteService } from '../../src/net/protocols/execute.js'
import { instructionCid } from '../../src/model/instruction.js'
import { cidOf, codecs, decodeBlock } from '../../src/model/block.js'
import { Scheduler } from '../../scheduler/index.js'
import { MATH_WAT, task, tempDir, wat, workflowFile } from '../helpers.js'
import { loopbackNetwork, within } from '../net/helpers.js'
import type { Instruction, Receipt } from '../../src/model/types.js'

const math = await wat(MATH_WAT)

test('the scheduler runs a workflow on a remote executor and records the executor\'s own signed receipts', async t => {
  const [schedulerNode, executorNode] = await loopbackNetwork(t, 2)
  const schedulerId = await identityFromSeed(new Uint8Array(32).fill(1))
  const executorId = await identityFromSeed(new Uint8Array(32).fill(2))

  const executorRepo = memoryRepo()
  const executorExchange = new BlockExchange(executorNode!.libp2p, { blocks: executorRepo.blocks })
  await executorExchange.start()
  const executorBlocks = new NetworkBlocks({ local: executorRepo.blocks, node: executorNode!, exchange: executorExchange, queryTimeoutMs: 10_000 })
  const local = new LocalExecutor(executorBlocks, { threads: 1, identity: executorId.signer, requireInvocation: true, delegationCache: new DelegationCache() })
  const service = new ExecuteService(executorNode!.libp2p, { signer: executorId.signer, executor: local, blocks: executorBlocks, repo: executorRepo })
  await service.start()
  t.after(async () => { await service.stop(); await local.stop(); await executorExchange.stop() })
  await advertiseRole(executorNode!, 'executor', within(10_000))

  const repo = memoryRepo()
  const exchange = new BlockExchange(schedulerNode!.libp2p, { blocks: repo.blocks })
  await exchange.start()
  t.after(async () => { await exchange.stop() })
  const module = cidOf(math, codecs.raw)
  await new NetworkBlocks({ local: repo.blocks, node: schedulerNode!, exchange, queryTimeoutMs: 10_000 }).put(module, math, within(10_000))

  const remote = new RemoteExecutor({ node: schedulerNode!, signer: schedulerId.signer })
  const scheduler = new Scheduler({ repo, executor: remote, dir: await tempDir(t), onEvent: event => { if (event.type === 'task:running') running.push(event.executor) } })
  t.after(async () => { await scheduler.stop(); await remote.stop() })
  const running: string[] = []
  await scheduler.start()
  const a = task(module, 'add', [2, 3])
  const b = task(module, 'mul', [{ 'await/ok': instructionCid(a.run as Instruction) }, 4])
  const id = await scheduler.submit(workflowFile([a, b]))
  const summary = await scheduler.wait(id, within(30_000))
  assert.equal(summary.ok, true, JSON.stringify(summary))
  assert.deepEqual(running, [executorNode!.peerId.toString(), executorNode!.peerId.toString()], 'the state named the executor that accepted each task')
  for (const state of summary.tasks) {
    const receiptCid = CID.parse((state as { receipt: string }).receipt)
    const bytes = await repo.blocks.get(receiptCid) as Uint8Array
    assert.equal(decodeBlock<Receipt>(bytes).iss, executorId.did)
    // Everything the receipt rests on was stored with it: it verifies offline, chain included.
    const verified = await verifyReceipt(bytes, { blocks: repo.blocks, requireInvocation: true, issuer: executorId.did })
    assert.equal(verified.error, undefined, verified.error?.message)
    assert.equal(verified.ok?.invocation?.subject, schedulerId.did)
  }
  const last = decodeBlock<Receipt>(await repo.blocks.get(CID.parse((summary.tasks[1] as { receipt: string }).receipt)) as Uint8Array)
  assert.deepEqual(last.out, { ok: 20 })
})
