/**
 * Ledger throughput: journal entries per second of `LmdbLedger` for the mix
 * a busy scheduler writes (a deposit now and then; per task an escrow at
 * award, a charge when the receipt comes, a settlement when it is final),
 * with many tasks in flight at once, against the same lifecycle one call at
 * a time. Every call is awaited, and resolves only once its entry is on
 * disk. Also times `audit()` over the resulting journal. Target: ≥ 20,000
 * entries/s with tasks in flight.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LmdbLedger } from '../../scheduler/lmdb-ledger.js'
import type { DID } from '../../src/auth/types.js'

/** The project's target for {@link LedgerMeasurement.entriesPerSecond}. */
export const LEDGER_TARGET_ENTRIES_PER_SECOND = 20_000

/** Options of {@link measureLedger}. */
export interface MeasureLedgerInit {
  /**
   * Tasks (escrow, charge, settle: three entries each) in the concurrent run.
   *
   * @default 8000
   */
  tasks?: number
  /**
   * Tasks in flight at once in the concurrent run.
   *
   * @default 1000
   */
  inFlight?: number
  /**
   * Tasks in the one-call-at-a-time run.
   *
   * @default 500
   */
  sequentialTasks?: number
}

/** What {@link measureLedger} found. */
export interface LedgerMeasurement {
  /** Journal entries per second with `inFlight` tasks at once. */
  entriesPerSecond: number
  /** Journal entries written in that run. */
  opsMeasured: number
  inFlight: number
  concurrentMs: number
  /** Journal entries per second, each call awaited before the next. */
  sequentialEntriesPerSecond: number
  sequentialOpsMeasured: number
  sequentialMs: number
  /** `audit()` of the whole journal (both runs). */
  auditMs: number
  auditEntries: number
  auditEntriesPerSecond: number
}

const REQUESTERS = 20
const EXECUTORS = 50
const PRICE_PER_TASK = 100
const TOP_UP_EVERY = 50

const requester = (index: number): DID => `did:key:z6MkBenchRequester${index % REQUESTERS}`
const executor = (index: number): DID => `did:key:z6MkBenchExecutor${index % EXECUTORS}`

/**
 * Runs `tasks` task lifecycles, `inFlight` at a time, each awaiting its own
 * steps as a scheduler does (award, receipt, settlement); every
 * `TOP_UP_EVERY`-th task also tops its requester up.
 */
async function lifecycles (ledger: LmdbLedger, label: string, tasks: number, inFlight: number): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < tasks) {
      const index = next++
      const id = `${label}/${index}`
      if (index % TOP_UP_EVERY === 0) await ledger.deposit(requester(index), PRICE_PER_TASK * TOP_UP_EVERY, { memo: 'top-up' })
      await ledger.openEscrow({ id, payer: requester(index), payee: executor(index), amount: PRICE_PER_TASK, workflow: `${label}/${index % REQUESTERS}`, task: id, minPayeeStake: 1_000 })
      await ledger.charge(id, PRICE_PER_TASK - (index % PRICE_PER_TASK), 0)
      await ledger.settle(id, executor(index))
    }
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, tasks) }, worker))
}

/**
 * Measures `LmdbLedger` in a temporary directory that it deletes.
 *
 * @example
 * ```ts
 * const { entriesPerSecond, sequentialEntriesPerSecond, auditMs } = await measureLedger()
 * ```
 */
export async function measureLedger (init: MeasureLedgerInit = {}): Promise<LedgerMeasurement> {
  const tasks = init.tasks ?? 8_000
  const inFlight = init.inFlight ?? 1_000
  const sequentialTasks = init.sequentialTasks ?? 500
  const dir = await mkdtemp(join(tmpdir(), 'ipvm-bench-ledger-'))
  const ledger = LmdbLedger.open(dir)
  try {
    // Requesters funded for everything up front; executors staked.
    await Promise.all([
      ...Array.from({ length: REQUESTERS }, async (_, index) => await ledger.deposit(requester(index), PRICE_PER_TASK * (tasks + sequentialTasks))),
      ...Array.from({ length: EXECUTORS }, async (_, index) => await ledger.deposit(executor(index), 1_000, { stake: true }))
    ])

    let before = ledger.audit().entries
    let started = performance.now()
    await lifecycles(ledger, 'concurrent', tasks, inFlight)
    const concurrentMs = performance.now() - started
    const opsMeasured = ledger.journal({ from: before + 1 }).length

    before += opsMeasured
    started = performance.now()
    await lifecycles(ledger, 'sequential', sequentialTasks, 1)
    const sequentialMs = performance.now() - started
    const sequentialOpsMeasured = ledger.journal({ from: before + 1 }).length

    started = performance.now()
    const report = ledger.audit()
    const auditMs = performance.now() - started
    if (report.held !== 0) throw new Error(`ledger benchmark: ${report.held} credits still held after every task settled`)

    return {
      entriesPerSecond: Math.round(opsMeasured / (concurrentMs / 1000)),
      opsMeasured,
      inFlight,
      concurrentMs: Math.round(concurrentMs),
      sequentialEntriesPerSecond: Math.round(sequentialOpsMeasured / (sequentialMs / 1000)),
      sequentialOpsMeasured,
      sequentialMs: Math.round(sequentialMs),
      auditMs: Math.round(auditMs),
      auditEntries: report.entries,
      auditEntriesPerSecond: Math.round(report.entries / (auditMs / 1000))
    }
  } finally {
    await ledger.close()
    await rm(dir, { recursive: true, force: true })
  }
}
