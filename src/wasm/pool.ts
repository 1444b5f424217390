/**
 * A Piscina pool of Wasm workers. The sandbox (validation, metering,
 * determinism) plugs in inside the worker; this class owns threads, module
 * distribution and the hard per-task timeout.
 */
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import { TaskError } from '../errors.js'
import type { CID } from 'multiformats/cid'
import type { TaskErrorValue } from '../errors.js'
import type { RunRequest, RunResponse } from './worker.js'
import type { AbiKind } from './abi/select.js'
import type { WasmArgument, WasmResult } from './abi.js'

/** Worker threads used when none are asked for: the CPUs, at most 4. */
export function defaultThreads (): number {
  return Math.min(availableParallelism(), 4)
}

/** Options of {@link WasmPool}. */
export interface WasmPoolInit {
  /** Worker threads. @default min(availableParallelism(), 4) */
  threads?: number
  /** Heap limit of each worker's JS heap, in MiB; a worker over it is replaced, the node survives. @default 512 */
  maxWorkerHeapMb?: number
}

/** One `wasm/run` task for the pool. */
export interface WasmTask {
  moduleCid: CID
  /** Reads the module's bytes; called only when a worker does not have the module yet. */
  loadModule: () => Promise<Uint8Array>
  func: string
  args: WasmArgument[]
  /** Fuel limit (clamped to the sandbox's maximum, 2^47 − 1). */
  fuel: bigint
  /** Memory cap in bytes (rounded down to whole 64 KiB pages). */
  memoryBytes: number
  /** Seed of the guest's deterministic random stream: the instruction CID's bytes. */
  seed: Uint8Array
  /** Forces the calling convention (the task's `input.abi`); by default the worker selects it from the module. */
  abi?: AbiKind
  /** Hard wall-clock limit: past it the worker is terminated and replaced. */
  timeoutMs: number
  signal?: AbortSignal
}

/**
 * What a task produced: exactly one of `ok` or `error`, the time it ran in the
 * worker, the fuel it used (`null` when the worker was stopped from outside,
 * as on a timeout) and what it logged.
 */
export type WasmOutcome = ({ ok: WasmResult, fuel: bigint } | { error: TaskErrorValue, fuel: bigint | null }) & WasmRunDetails

/** What a run reports besides its outcome. */
export interface WasmRunDetails {
  durationMs: number
  /** What the guest logged through `ipvm.log`. */
  log: string[]
  /** The ABI that served the call (`core`, `ipld`, `wasi` or `component`), once the module compiled. */
  abi?: string
  /** WASI commands: stderr (at most 64 KiB). */
  stderr?: string
  /** WASI commands: the exit code. */
  exitCode?: number
  /** True when the worker compiled the module for this call. */
  compiled: boolean
}

/**
 * The worker pool. Safe to `stop` twice; `run` after `stop` rejects.
 *
 * @example
 * ```ts
 * const pool = new WasmPool({ threads: 2 })
 * const out = await pool.run({ moduleCid, loadModule, func: 'add', args: [1, 2], fuel: 1_000_000n, memoryBytes: 1 << 24, seed, timeoutMs: 1000 })
 * await pool.stop()
 * ```
 */
export class WasmPool {
  readonly threads: number
  private readonly piscina: Piscina<RunRequest, RunResponse>
  /**
   * Which worker threads hold which modules. A task carries the module's bytes
   * until every worker has reported holding it; after that the bytes stay
   * home, and a replaced worker that lacks them answers `need-module`.
   */
  private readonly holders = new Map<string, Set<number>>()
  private readonly loading = new Map<string, Promise<Uint8Array>>()
  private stopped = false

  constructor (init: WasmPoolInit = {}) {
    const threads = init.threads ?? defaultThreads()
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new RangeError('threads must be an integer from 1 to 256')
    const heap = init.maxWorkerHeapMb ?? 512
    if (!Number.isInteger(heap) || heap < 16) throw new RangeError('maxWorkerHeapMb must be an integer of at least 16')
    this.threads = threads
    this.piscina = new Piscina<RunRequest, RunResponse>({
      filename: fileURLToPath(new URL('./worker-entry.cjs', import.meta.url)),
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60_000,
      recordTiming: false,
      resourceLimits: { maxOldGenerationSizeMb: heap }
    })
    // A worker that dies (terminated on timeout, out of heap) is replaced by Piscina; its error is reported on the task.
    this.piscina.on('error', () => {})
  }

  /** Runs one task. Never throws for task failures: they come back as `{ error }`. */
  async run (task: WasmTask): Promise<WasmOutcome> {
    if (this.stopped) throw new TaskError('Aborted', 'the worker pool is stopped')
    const moduleCid = task.moduleCid.toString()
    const memoryPages = Math.floor(task.memoryBytes / 65536)
    const request: RunRequest = { moduleCid, func: task.func, args: task.args, fuel: task.fuel, memoryPages, seed: task.seed }
    if (task.abi !== undefined) request.abi = task.abi
    if ((this.holders.get(moduleCid)?.size ?? 0) < this.threads) request.moduleBytes = await this.load(moduleCid, task)
    let response = await this.dispatch(request, task)
    if ('status' in response && response.status === 'need-module') {
      request.moduleBytes = await this.load(moduleCid, task)
      response = await this.dispatch(request, task)
    }
    if (!('status' in response)) return response
    if (response.status === 'need-module') {
      return { error: new TaskError('WorkerCrashed', 'a worker asked twice for the same module').toValue(), fuel: null, durationMs: 0, log: [], compiled: false }
    }
    if (response.abi !== undefined) {
      // The worker answered from a compiled module, so it holds it (one that failed to compile is not held).
      let holders = this.holders.get(moduleCid)
      if (holders === undefined) this.holders.set(moduleCid, holders = new Set())
      holders.add(response.threadId)
    }
    const details: WasmRunDetails = { durationMs: response.durationMs, log: response.log, compiled: response.compiled }
    if (response.abi !== undefined) details.abi = response.abi
    if (response.stderr !== undefined) details.stderr = response.stderr
    if (response.exitCode !== undefined) details.exitCode = response.exitCode
    return response.status === 'ok'
      ? { ok: response.value, fuel: response.fuel, ...details }
      : { error: response.error, fuel: response.fuel, ...details }
  }

  /** Reads a module's bytes, sharing one read among tasks that ask at once. */
  private async load (moduleCid: string, task: WasmTask): Promise<Uint8Array> {
    let pending = this.loading.get(moduleCid)
    if (pending === undefined) {
      pending = task.loadModule().finally(() => this.loading.delete(moduleCid))
      this.loading.set(moduleCid, pending)
    }
    return await pending
  }

  private async dispatch (request: RunRequest, task: WasmTask): Promise<RunResponse | WasmOutcome> {
    const controller = new AbortController()
    const started = performance.now()
    const timer = setTimeout(() => controller.abort(new TaskError('Timeout', `${task.func} ran past its time limit of ${task.timeoutMs} ms and was stopped`, { func: task.func, limitMs: task.timeoutMs })), task.timeoutMs)
    const onAbort = (): void => controller.abort(new TaskError('Aborted', `${task.func} was aborted`, { func: task.func }))
    task.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      if (task.signal?.aborted === true) onAbort()
      return await this.piscina.run(request, { signal: controller.signal })
    } catch (err) {
      const durationMs = performance.now() - started
      const reason: unknown = controller.signal.reason
      if (controller.signal.aborted && reason instanceof TaskError) return { error: reason.toValue(), durationMs, fuel: null, log: [], compiled: false }
      return { error: new TaskError('WorkerCrashed', `the worker running ${task.func} stopped: ${(err as Error).message}`, { func: task.func }).toValue(), durationMs, fuel: null, log: [], compiled: false }
    } finally {
      clearTimeout(timer)
      task.signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Terminates the workers. */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    await this.piscina.destroy()
  }
}
