/**
 * Identity and authority costs, node:crypto ed25519 (ipvm's principal)
 * against ucanto's default pure-JS one, side by side in one run:
 *
 * - receipts signed per second;
 * - receipts verified per second (signature only), and with the invocation's
 *   chain checked from the cache;
 * - invocations validated per second: the first task of a chain (cold cache,
 *   every delegation verified) and the following ones (cached chain: one
 *   signature per task, each task with its own authorization);
 * - ucanto's own `claim()` over the same 2-link chain with its default
 *   verifier and with ipvm's.
 *
 * Targets: ≥ 5,000 receipt verifications/s; cached-chain validation ≥ 4,000
 * invocations/s. Each figure is the median of a few short rounds.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { ed25519 } from '@ucanto/principal'
import { Signature } from '@ucanto/core'
import { claim } from '@ucanto/validator'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { instructionBlock } from '../../src/model/instruction.js'
import { receiptBlock } from '../../src/model/receipt.js'
import { alice, bob, carol, fixtureSeed } from '../../src/auth/fixtures.js'
import { delegateAward, delegateBudget } from '../../src/auth/delegation.js'
import { signInvocation, signInvocations, signReceipt, verifyReceipt, receiptPayload } from '../../src/auth/sign.js'
import { validateInvocation, DelegationCache } from '../../src/auth/validate.js'
import { WasmRun } from '../../src/auth/capabilities.js'
import { principalParser } from '../../src/auth/principal.js'
import { MemoryRevocationStore } from '../../src/auth/revocations.js'
import { machine, median, target, round } from '../lib.js'
import type { BenchmarkResult } from '../lib.js'
import type { Receipt, Task } from '../../src/model/types.js'
import type { SignedInvocation } from '../../src/auth/sign.js'

const ROUNDS = 3
const TASKS = 1500
const RECEIPTS = 1500
const SLOW = 300

/** Operations per second of `body` over `count` operations, median of ROUNDS rounds (`setup` runs untimed before each). */
async function rate (count: number, body: (i: number) => unknown, setup?: () => unknown): Promise<number> {
  const rates: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    await setup?.()
    const started = performance.now()
    for (let i = 0; i < count; i++) await body(i)
    rates.push(count / ((performance.now() - started) / 1000))
  }
  return median(rates)
}

export async function run (): Promise<BenchmarkResult> {
  const now = Math.floor(Date.now() / 1000)
  const repo = memoryRepo()
  const module = cidOf(new TextEncoder().encode('(module)'), codecs.raw)
  const budget = await delegateBudget({ requester: alice, scheduler: bob.did(), caveats: { maxFuel: 1e9, maxPrice: 100, modules: [module] }, expiration: now + 3600 })
  const award = await delegateAward({ scheduler: bob, executor: carol.did(), budget, caveats: { maxFuel: 1e6, maxPrice: 10, modules: [module] } })
  const terms = { module, fuel: 1000, price: 5 }
  const tasks: Task[] = []
  for (let i = 0; i < TASKS; i++) {
    const instruction = instructionBlock({ rsc: `ipfs://${module}`, op: 'wasm/run', input: { func: 'f', args: [i] }, nnc: '' })
    await repo.blocks.put(instruction.cid, instruction.bytes)
    tasks.push({ run: instruction.cid, meta: { fuel: 1000, price: 5 }, prf: [] })
  }
  const store = async (signed: SignedInvocation): Promise<void> => {
    for (const block of [signed.invocation, signed.authorization, ...signed.proofs]) await repo.blocks.put(block.cid, block.bytes)
  }
  // Each task with its own authorization: the conservative case (one signature per task).
  const invocations: SignedInvocation[] = []
  for (const task of tasks) {
    const signed = await signInvocation(task, carol, [award])
    await store(signed)
    invocations.push(signed)
  }
  let roundCache = new DelegationCache()
  const revocations = new MemoryRevocationStore()
  await revocations.revoke(cidOf(new Uint8Array([1]), codecs.dagCbor))

  // Invocation validation: the first of a chain (cold cache) and the rest (cached chain).
  const coldRate = await rate(SLOW, async i => {
    const result = await validateInvocation((invocations[i] as SignedInvocation).invocation, { executor: carol, task: terms, blocks: repo.blocks, revocations, cache: new DelegationCache() })
    if (result.error !== undefined) throw result.error
  })
  // Cached chain: one cache per round, warmed by the round's first task; every other task costs its own signature.
  const cachedRate = await rate(TASKS - 1, async i => {
    const result = await validateInvocation((invocations[i + 1] as SignedInvocation).invocation, { executor: carol, task: terms, blocks: repo.blocks, revocations, cache: roundCache })
    if (result.error !== undefined) throw result.error
  }, async () => {
    roundCache = new DelegationCache()
    const first = await validateInvocation((invocations[0] as SignedInvocation).invocation, { executor: carol, task: terms, blocks: repo.blocks, revocations, cache: roundCache })
    if (first.error !== undefined) throw first.error
  })
  // A whole workflow under one authorization: one signature for all its tasks.
  const batch = await signInvocations(tasks, carol, [award])
  for (const signed of batch) await store(signed)
  const batchRate = await rate(TASKS, async i => {
    const result = await validateInvocation((batch[i] as SignedInvocation).invocation, { executor: carol, task: terms, blocks: repo.blocks, revocations, cache: roundCache })
    if (result.error !== undefined) throw result.error
  }, () => { roundCache = new DelegationCache() })

  // Receipts: sign and verify, node:crypto against ucanto's pure-JS ed25519.
  const ucantoCarol = await ed25519.derive(fixtureSeed('carol'))
  const unsigned = (i: number): Receipt => receiptBlock({ ran: (invocations[i % TASKS] as SignedInvocation).invocation.cid, out: { ok: i }, meta: { fuel: 1000, time: 0.5 } }).value
  const signOursRate = await rate(RECEIPTS, async i => await signReceipt(unsigned(i), carol))
  const signUcantoRate = await rate(SLOW, async i => await signReceipt(unsigned(i), ucantoCarol))
  const signed = await Promise.all(Array.from({ length: RECEIPTS }, async (_, i) => await signReceipt(unsigned(i), carol)))
  const verifyOursRate = await rate(RECEIPTS, async i => {
    const result = await verifyReceipt((signed[i] as { bytes: Uint8Array }).bytes)
    if (result.error !== undefined) throw result.error
  })
  // The same work with ucanto's verifier: decode, rebuild the signed payload, verify.
  const ucantoVerifier = ed25519.Verifier.parse(carol.did())
  const verifyUcantoRate = await rate(SLOW, async i => {
    const receipt = dagCbor.decode<Receipt & { iss: string }>((signed[i] as { bytes: Uint8Array }).bytes)
    if (!await ucantoVerifier.verify(receiptPayload(receipt), Signature.decode(receipt.sig as Uint8Array) as never)) throw new Error('ucanto rejected a valid receipt')
  })
  // Receipt and invocation signatures both checked (two per receipt); the chain from a cache warmed by the first.
  const verifyChainRate = await rate(RECEIPTS - 1, async i => {
    const result = await verifyReceipt((signed[i + 1] as { bytes: Uint8Array }).bytes, { blocks: repo.blocks, revocations, cache: roundCache, task: terms })
    if (result.error !== undefined || result.ok.invocation === undefined) throw result.error ?? new Error('chain not checked')
  }, async () => {
    roundCache = new DelegationCache()
    const first = await verifyReceipt((signed[0] as { bytes: Uint8Array }).bytes, { blocks: repo.blocks, revocations, cache: roundCache, task: terms })
    if (first.error !== undefined) throw first.error
  })

  // ucanto's claim() over the same chain, with its default verifier and with ipvm's.
  const claimOptions = { authority: carol.verifier as never, validateAuthorization: () => ({ ok: {} }) }
  const claimUcantoRate = await rate(100, async () => {
    const result = await claim(WasmRun, [award], { ...claimOptions, principal: ed25519.Verifier as never })
    if (result.error !== undefined) throw result.error
  })
  const claimOursRate = await rate(SLOW, async () => {
    const result = await claim(WasmRun, [award], { ...claimOptions, principal: principalParser as never })
    if (result.error !== undefined) throw result.error
  })

  const rows: Array<[string, number, number | undefined]> = [
    ['receipts signed/s', signOursRate, signUcantoRate],
    ['receipts verified/s (signature)', verifyOursRate, verifyUcantoRate],
    ['receipts verified/s (+ invocation signature, cached chain)', verifyChainRate, undefined],
    ['invocations validated/s, first of a chain', coldRate, undefined],
    ['invocations validated/s, cached chain', cachedRate, undefined],
    ['invocations validated/s, one authorization for all', batchRate, undefined],
    ['ucanto claim() of the 2-link chain/s', claimOursRate, claimUcantoRate]
  ]
  process.stdout.write(`  ${'measure'.padEnd(60)} ${'node:crypto'.padStart(12)} ${'ucanto JS'.padStart(10)} ${'ratio'.padStart(6)}\n`)
  for (const [name, ours, theirs] of rows) {
    process.stdout.write(`  ${name.padEnd(60)} ${Math.round(ours).toLocaleString('en').padStart(12)} ${theirs === undefined ? ''.padStart(10) : Math.round(theirs).toLocaleString('en').padStart(10)} ${theirs === undefined ? '' : `${(ours / theirs).toFixed(1)}×`.padStart(6)}\n`)
  }

  return {
    name: 'auth',
    description: 'Signing and verification of receipts, and validation of invocations with a 2-link UCAN chain (requester → scheduler → executor), node:crypto ed25519 against ucanto\'s default pure-JS ed25519',
    machine: machine(),
    date: new Date().toISOString(),
    metrics: {
      receiptSignsPerSecond: round(signOursRate, 0),
      receiptSignsPerSecondUcanto: round(signUcantoRate, 0),
      receiptVerificationsPerSecond: round(verifyOursRate, 0),
      receiptVerificationsPerSecondUcanto: round(verifyUcantoRate, 0),
      receiptVerificationsWithChainPerSecond: round(verifyChainRate, 0),
      invocationsPerSecondFirstOfChain: round(coldRate, 0),
      invocationsPerSecondCachedChain: round(cachedRate, 0),
      invocationsPerSecondBatchAuthorization: round(batchRate, 0),
      ucantoClaimPerSecondNodeCrypto: round(claimOursRate, 0),
      ucantoClaimPerSecondUcantoDefault: round(claimUcantoRate, 0),
      verifySpeedup: round(verifyOursRate / verifyUcantoRate, 2),
      signSpeedup: round(signOursRate / signUcantoRate, 2)
    },
    targets: [
      target('receipt verifications/s', round(verifyOursRate, 0), '>=', 5000),
      target('cached-chain invocations validated/s', round(cachedRate, 0), '>=', 4000)
    ]
  }
}
