/**
 * Devnet helpers shared by the market and verification tests: a devnet that
 * stops with the test, a requester that submits from its own node, and the
 * ledger's invariant.
 */
import assert from 'node:assert/strict'
import { startDevnet } from '../../src/devnet.js'
import { Requester } from '../../src/requester.js'
import { identityFromSeed } from '../../src/auth/identity.js'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { MATH_WAT, wat, workflowFile } from '../helpers.js'
import { loopbackNode } from '../net/helpers.js'
import type { TestContext } from 'node:test'
import type { Devnet } from '../../src/devnet.js'
import type { Ledger } from '../../scheduler/ledger.js'
import type { SubmitOptions } from '../../src/requester.js'

const math = await wat(MATH_WAT)
const module = cidOf(math, codecs.raw)
const requesterId = await identityFromSeed(new Uint8Array(32).fill(70))
const within = (ms: number): { signal: AbortSignal } => ({ signal: AbortSignal.timeout(ms) })

/** The math module, its CID, the requester's identity, and a bounded signal. */
export async function marketFixtures (): Promise<{ math: Uint8Array, module: typeof module, requesterId: typeof requesterId, within: typeof within }> {
  return { math, module, requesterId, within }
}

/** A devnet that stops when the test ends; the requester funded with 10^6 credits unless `fund` is false. */
export async function devnet (t: TestContext, init: Parameters<typeof startDevnet>[0] = {}, fund = true): Promise<Devnet> {
  const net = await startDevnet(init)
  t.after(async () => { await net.stop() })
  if (fund) await net.fund(requesterId.did, 1_000_000)
  return net
}

/** Submits `tasks` (with the file's other sections in `extra`) from a requester node holding the math module. */
export async function submit (t: TestContext, net: Devnet, tasks: unknown[], options: Partial<SubmitOptions> = {}, extra: Record<string, unknown> = {}): ReturnType<Requester['submit']> {
  const node = await loopbackNode(t, 70, { privateKey: requesterId.privateKey, bootstrap: [net.address.toString()] })
  await node.start()
  const repo = memoryRepo()
  await repo.blocks.put(module, math)
  const client = new Requester({ node, repo, signer: requesterId.signer })
  await client.start()
  t.after(async () => { await client.stop() })
  return await client.submit(workflowFile(tasks, extra), 'flow.json', { scheduler: net.scheduler.node.peerId, ...within(30_000), ...options })
}

/** The ledger's invariant, and no escrow left open: checked after every scenario (once queued settlements are done). */
export async function conserved (net: Devnet): Promise<void> {
  await net.scheduler.role.market?.settled()
  const ledger: Ledger = net.scheduler.role.ledger
  const audit = ledger.audit()
  assert.equal(audit.available + audit.staked + audit.held, audit.deposited)
  assert.deepEqual(ledger.heldEscrows(), [])
}
