/**
 * The market chain used across the auth tests, with fixed identities and a
 * fixed clock so every DID and CID is the same on every run:
 * alice (requester) → bob (scheduler) → carol (executor), carol invokes.
 */
import { memoryRepo } from '../../src/store/memory-repo.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { instructionBlock } from '../../src/model/instruction.js'
import { receiptBlock } from '../../src/model/receipt.js'
import { alice, bob, carol } from '../../src/auth/fixtures.js'
import { delegateAward, delegateBudget } from '../../src/auth/delegation.js'
import { signInvocation } from '../../src/auth/sign.js'
import { DelegationCache } from '../../src/auth/validate.js'
import type { CID } from 'multiformats/cid'
import type { Repo } from '../../src/store/interface.js'
import type { Delegation } from '../../src/auth/delegation.js'
import type { SignedInvocation } from '../../src/auth/sign.js'
import type { Signer, TaskTerms, WasmRunCaveats } from '../../src/auth/types.js'
import type { Task } from '../../src/model/types.js'

/** The fixed "now" of the tests (Unix seconds, 2027-01-15). */
export const NOW = 1_800_000_000
export const HOUR = 3600

/** The module the chain allows, and one it does not. */
export const moduleA = cidOf(new TextEncoder().encode('(module "a")'), codecs.raw)
export const moduleB = cidOf(new TextEncoder().encode('(module "b")'), codecs.raw)

export const budgetCaveats: WasmRunCaveats = { maxFuel: 1_000_000, maxPrice: 100, modules: [moduleA] }
export const awardCaveats: WasmRunCaveats = { maxFuel: 10_000, maxPrice: 10, modules: [moduleA] }

/** Options of {@link scenario}. */
export interface ScenarioInit {
  budget?: Partial<WasmRunCaveats> & { expiration?: number, notBefore?: number }
  award?: Partial<WasmRunCaveats> & { expiration?: number, notBefore?: number }
  /** The task's meta. @default { fuel: 5000, price: 5 } */
  meta?: Task['meta']
  /** Module named by the instruction. @default moduleA */
  module?: CID
  /** Who signs the invocation. @default carol */
  invoker?: Signer
}

export interface Scenario {
  repo: Repo
  budget: Delegation
  award: Delegation
  task: Task
  terms: TaskTerms
  signed: SignedInvocation
  cache: DelegationCache
  /** Stores every block of a signed invocation in the repo. */
  store: (signed: SignedInvocation) => Promise<void>
  /** A task with another nonce, so another task CID. */
  taskNumbered: (n: number) => Promise<Task>
}

/** Builds the chain, a task for module A, carol's signed invocation, and stores every block. */
export async function scenario (init: ScenarioInit = {}): Promise<Scenario> {
  const repo = memoryRepo()
  const budget = await delegateBudget({
    requester: alice,
    scheduler: bob.did(),
    caveats: { ...budgetCaveats, ...init.budget },
    expiration: init.budget?.expiration ?? NOW + 24 * HOUR,
    ...(init.budget?.notBefore !== undefined ? { notBefore: init.budget.notBefore } : {})
  })
  const award = await delegateAward({
    scheduler: bob,
    executor: carol.did(),
    budget,
    caveats: { ...awardCaveats, ...init.award },
    expiration: init.award?.expiration ?? NOW + HOUR,
    ...(init.award?.notBefore !== undefined ? { notBefore: init.award.notBefore } : {})
  })
  const module = init.module ?? moduleA
  const taskNumbered = async (n: number): Promise<Task> => {
    const instruction = instructionBlock({ rsc: `ipfs://${module}`, op: 'wasm/run', input: { func: 'add', args: [n, 1] }, nnc: String(n) })
    await repo.blocks.put(instruction.cid, instruction.bytes)
    return { run: instruction.cid, meta: init.meta ?? { fuel: 5000, price: 5 }, prf: [] }
  }
  const task = await taskNumbered(0)
  const store = async (signed: SignedInvocation): Promise<void> => {
    for (const block of [signed.invocation, signed.authorization, ...signed.proofs]) await repo.blocks.put(block.cid, block.bytes)
  }
  const signed = await signInvocation(task, init.invoker ?? carol, [award])
  await store(signed)
  const meta = init.meta ?? { fuel: 5000, price: 5 }
  const terms: TaskTerms = { module }
  if (typeof meta.fuel === 'number' || typeof meta.fuel === 'bigint') terms.fuel = meta.fuel
  if (typeof meta.price === 'number' || typeof meta.price === 'bigint') terms.price = meta.price
  return { repo, budget, award, task, terms, signed, cache: new DelegationCache(), store, taskNumbered }
}

/** An unsigned receipt for an invocation. */
export function receiptFor (ran: CID, out: { ok: number } = { ok: 3 }): ReturnType<typeof receiptBlock>['value'] {
  return receiptBlock({ ran, out, meta: { fuel: 17, time: 0.5 } }).value
}
