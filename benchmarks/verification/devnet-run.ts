/**
 * One configuration of the verification benchmark run through a real devnet
 * (1 scheduler, 1 or 2 executors, 1 verifier; every node a libp2p node on
 * 127.0.0.1 in this process, signing on, the market on).
 *
 * Tiny tasks: `add(i, i)` of examples/build/arith.wasm with a distinct `i`
 * per task over the whole benchmark, so every InID is distinct and the memo
 * never answers. They go in workflows of `workflowSize` independent tasks,
 * all submitted at once through the Scheduler API (the scheduler pays, from
 * the faucet), then the run waits until every receipt was pushed to the
 * verifier and checked (`devnet.verified()`) and every task a proven fraud
 * took back was run again.
 *
 * With a cheat rate the devnet has two executors: executor 0 cheats at that
 * rate, bids price 1 and has a stake of 1e12 (slashing never leaves it short
 * of the collateral), so it keeps winning awards after being caught;
 * executor 1 is honest, bids 10 with minPrice 10, and gets the tasks taken
 * back from the cheater (the scheduler excludes a cheater from the task it
 * cheated on). The challenge window is 600 s so every fraud proof is in time.
 *
 * What it collects: the cheater's cheats (InIDs, in order), the scheduler's
 * verification events (fraud upheld, false accusations, attestations,
 * refusals), the verifier's stats and records, the fuel and worker time of
 * every executor receipt (`meta.fuel`, `meta.time`), and the fuel and worker
 * time of the verifier's re-runs (its `LocalExecutor.execute` wrapped).
 */
import '../../src/polyfill.js'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as dagJson from '@ipld/dag-json'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { startDevnet } from '../../src/devnet.js'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { DISHONEST_OUTPUT } from '../../src/executor/role.js'
import type { Devnet } from '../../src/devnet.js'
import type { VerificationEvent } from '../../scheduler/verification.js'
import type { VerifierStats, CheckOutcome } from '../../verifier/verifier.js'
import type { ExecutionResult, ExecutionTask } from '../../src/executor/interface.js'

const MODULE_PATH = fileURLToPath(new URL('../../../examples/build/arith.wasm', import.meta.url))

/** The tiny task's module: bytes and CID. */
export function loadModule (): { bytes: Uint8Array, cid: CID } {
  const bytes = new Uint8Array(readFileSync(MODULE_PATH))
  return { bytes, cid: cidOf(bytes, codecs.raw) }
}

/** One configuration. */
export interface RunConfig {
  /** The verifier's sample rate (and what the scheduler reckons collateral from). */
  sampleRate: number
  /** Executor 0's cheat rate; 0 for an honest run (one executor only). */
  cheatRate: number
  /** Tasks submitted (reassigned ones are not counted here). */
  tasks: number
  /** Independent tasks per workflow. */
  workflowSize: number
  /** First `i` of `add(i, i)`: keeps InIDs distinct across configurations. */
  firstArg: number
  log: (line: string) => void
}

/** Fuel and worker time of a set of runs. */
export interface Compute {
  runs: number
  fuel: number
  workerMs: number
}

/** What one configuration produced. */
export interface RunData {
  config: Omit<RunConfig, 'log'>
  /** Wall time from the first submit to the end of verification (s). */
  seconds: number
  /** InIDs the cheater answered without running, in order. */
  cheats: string[]
  /** InIDs of cheats whose receipt a fraud proof was upheld against. */
  caught: Set<string>
  /** Scheduler verification events by type. */
  events: Record<VerificationEvent['type'], number>
  /** Refusals seen at the scheduler, by name. */
  refusals: Record<string, number>
  /** Fraud upheld against the honest executor's receipts (must be 0). */
  fraudsAgainstHonest: number
  verifier: VerifierStats
  /** Verifier check outcomes by outcome and detail. */
  outcomes: Record<string, number>
  /** Cheats the verifier sampled but whose check did not end in an upheld fraud proof (outcome/detail), at most 10. */
  sampledCheatsNotCaught: Array<{ instruction: string, outcome: CheckOutcome, detail?: string }>
  /** Executor receipts of the final task states (fuel and worker time from `meta`). */
  executorCompute: Compute
  /** Executor receipts of the final state by who produced them. */
  receiptsBy: { cheater: number, honest: number }
  /** Cheated receipts still standing at the end (not caught): wrong results the requester keeps. */
  cheatedResultsKept: number
  /** The verifier's re-runs (fuel and worker time from the results of its executor). */
  verifierCompute: Compute
  /** Tasks reassigned after a proven fraud. */
  retracted: number
  /** Tasks not `done` at the end (must be 0). */
  notDone: number
}

function task (module: CID, a: number): Record<string, unknown> {
  return { run: { rsc: `ipfs://${module}`, op: 'wasm/run', input: { func: 'add', args: [a, a] }, nnc: '' }, meta: {}, prf: [] }
}

/** Wraps `execute` of the verifier's executor to add up fuel and worker time of its re-runs. */
function meter (target: { execute: (task: ExecutionTask, options?: { signal?: AbortSignal }) => Promise<ExecutionResult> }, sink: Compute): void {
  const original = target.execute.bind(target)
  target.execute = async (task, options) => {
    const result = await original(task, options)
    sink.runs++
    sink.fuel += Number(result.fuel ?? 0)
    sink.workerMs += result.durationMs
    return result
  }
}

/** Runs one configuration on a fresh devnet; stops it before returning. */
export async function runConfig (config: RunConfig): Promise<RunData> {
  const { sampleRate, cheatRate, tasks, workflowSize, firstArg, log } = config
  const { bytes, cid: module } = loadModule()
  const cheating = cheatRate > 0
  const repo = memoryRepo()
  await repo.blocks.put(module, bytes)
  const events = { pushed: 0, attested: 0, fraud: 0, 'false-accusation': 0, 'false-attestation': 0, refused: 0 } satisfies Record<VerificationEvent['type'], number>
  const refusals: Record<string, number> = {}
  const frauds: Array<Extract<VerificationEvent, { type: 'fraud' }>> = []
  let retracted = 0
  let finished = 0
  const devnet: Devnet = await startDevnet({
    executors: cheating ? 2 : 1,
    threads: 1,
    verifiers: 1,
    repo,
    sampleRate,
    stake: 1e12,
    ...(cheating ? { dishonestCheatRates: [cheatRate, 0], bidPolicies: [{ price: 1, minPrice: 1 }, { price: 10, minPrice: 10 }] } : {}),
    market: { challengeWindowMs: 600_000 },
    onVerification: event => {
      events[event.type]++
      if (event.type === 'fraud') frauds.push(event)
      if (event.type === 'refused') refusals[`${event.kind}:${event.name}`] = (refusals[`${event.kind}:${event.name}`] ?? 0) + 1
    },
    onEvent: event => {
      if (event.type === 'task:retracted') retracted++
      if (event.type === 'task:finished') finished++
    }
  })
  const verifierCompute: Compute = { runs: 0, fuel: 0, workerMs: 0 }
  try {
    const verifier = devnet.verifier
    if (verifier === undefined) throw new Error('the devnet has no verifier')
    meter(verifier.role.executor, verifierCompute)
    // The module everywhere first: no task waits on a fetch.
    for (const member of [...devnet.executors, verifier]) await member.role.blocks.put(module, bytes, { signal: AbortSignal.timeout(10_000) })
    // The scheduler pays: plenty, since escrows of unchecked receipts stay held for the 600 s window.
    await devnet.fund(devnet.scheduler.identity.did, 1e13)
    const scheduler = devnet.scheduler.role.scheduler
    const cheater = cheating ? devnet.executors[0] : undefined
    const honestDid = cheating ? devnet.executors[1]?.role.policy.did : devnet.executors[0]?.role.policy.did

    const started = performance.now()
    const ids: string[] = []
    for (let from = 0; from < tasks; from += workflowSize) {
      const count = Math.min(workflowSize, tasks - from)
      const file = dagJson.encode({ tasks: Array.from({ length: count }, (_, k) => task(module, firstArg + from + k)) })
      ids.push(await scheduler.submit(file, `verification-${sampleRate}-${cheatRate}-${from}.json`))
    }
    const progress = setInterval(() => {
      const stats = verifier.role.verifier.stats
      log(`  … ${finished} finished, ${retracted} retracted; verifier received ${stats.received}, sampled ${stats.sampled}, checked ${stats.attested + stats.frauds + stats.refused + stats.uncheckable + stats.unsent}; frauds upheld ${events.fraud}`)
    }, 5_000)
    progress.unref()
    try {
      // Until nothing moves: every workflow run ended, every receipt checked, every reassignment run (and checked).
      for (let settled = 0; settled < 2;) {
        for (const id of ids) await scheduler.wait(id, { signal: AbortSignal.timeout(600_000) })
        await devnet.verified()
        // A fraud proof's retraction is started after its verdict, in the background: give it a moment to start.
        await new Promise(resolve => setTimeout(resolve, 200))
        const busy = ids.some(id => scheduler.isRunning(id)) || ids.some(id => !scheduler.summary(id).ok)
        settled = busy ? 0 : settled + 1
      }
    } finally {
      clearInterval(progress)
    }
    const seconds = (performance.now() - started) / 1000

    // Caught: a fraud upheld against the cheater's receipt of that InID.
    const verification = devnet.scheduler.role.verification
    if (verification === undefined) throw new Error('the devnet has no verification')
    const caught = new Set<string>()
    let fraudsAgainstHonest = 0
    for (const fraud of frauds) {
      const record = verification.record(fraud.receipt)
      if (record === undefined) throw new Error(`fraud on unknown receipt ${fraud.receipt}`)
      if (cheater !== undefined && fraud.executor === cheater.role.policy.did) caught.add(record.instruction)
      else fraudsAgainstHonest++
    }

    // Verifier outcomes, and why sampled cheats were not caught (if any).
    const records = verifier.role.verifier.records(Number.MAX_SAFE_INTEGER)
    const outcomes: Record<string, number> = {}
    const sampledCheatsNotCaught: RunData['sampledCheatsNotCaught'] = []
    for (const record of records) {
      const key = record.detail !== undefined && record.outcome !== 'fraud' && record.outcome !== 'attested' ? `${record.outcome}:${record.detail.split(':')[0] ?? ''}` : record.outcome
      outcomes[key] = (outcomes[key] ?? 0) + 1
      const registered = verification.record(record.receipt)
      if (registered !== undefined && cheater !== undefined && registered.executor === cheater.role.policy.did && record.outcome !== 'fraud' && record.outcome !== 'attested' && sampledCheatsNotCaught.length < 10) {
        sampledCheatsNotCaught.push({ instruction: registered.instruction, outcome: record.outcome, ...(record.detail !== undefined ? { detail: record.detail } : {}) })
      }
    }

    // Executor compute from the receipts of the final task states (a retracted receipt is replaced by its re-run).
    const executorCompute: Compute = { runs: 0, fuel: 0, workerMs: 0 }
    const receiptsBy = { cheater: 0, honest: 0 }
    let cheatedResultsKept = 0
    let notDone = 0
    for (const id of ids) {
      for (const state of scheduler.summary(id).tasks) {
        if (state.state !== 'done') { notDone++; continue }
        const receiptBytes = await repo.blocks.get(CID.parse(state.receipt))
        if (receiptBytes === undefined) throw new Error(`receipt ${state.receipt} is not in the scheduler's repo`)
        const receipt = dagCbor.decode<{ out: { ok?: unknown }, meta: { fuel?: number, time?: number } }>(receiptBytes)
        const executor = state.market?.executor
        if (executor === honestDid) receiptsBy.honest++
        else receiptsBy.cheater++
        if (receipt.out.ok === DISHONEST_OUTPUT) { cheatedResultsKept++; continue }
        executorCompute.runs++
        executorCompute.fuel += Number(receipt.meta.fuel ?? 0)
        executorCompute.workerMs += Number(receipt.meta.time ?? 0)
      }
    }

    return {
      config: { sampleRate, cheatRate, tasks, workflowSize, firstArg },
      seconds,
      cheats: [...(cheater?.role.dishonesty?.cheats ?? [])],
      caught,
      events,
      refusals,
      fraudsAgainstHonest,
      verifier: { ...verifier.role.verifier.stats },
      outcomes,
      sampledCheatsNotCaught,
      executorCompute,
      receiptsBy,
      cheatedResultsKept,
      verifierCompute,
      retracted,
      notDone
    }
  } finally {
    await devnet.stop()
  }
}
