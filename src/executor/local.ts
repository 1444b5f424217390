/**
 * The local executor: resolves a task's links to bytes from the repository
 * and runs it in the Wasm worker pool (started on first use, so a fully
 * memoized workflow starts no threads at all).
 */
import { CID } from 'multiformats/cid'
import { BlockNotFoundError, InputError, TaskError } from '../errors.js'
import { MAX_ARGUMENT_BYTES, MAX_MODULE_BYTES, DEFAULT_TASK_TIME_MS, DEFAULT_TASK_FUEL, DEFAULT_TASK_MEMORY, MAX_TASK_MEMORY } from '../constants.js'
import { validateInvocation } from '../auth/validate.js'
import type { RevocationStore } from '../auth/revocations.js'
import type { DelegationCache } from '../auth/validate.js'
import type { DID } from '../auth/types.js'
import { readBytes } from '../store/unixfs.js'
import { WasmPool, defaultThreads } from '../wasm/pool.js'
import type { Blocks } from '../store/interface.js'
import type { IpldValue } from '../model/types.js'
import type { WasmArgument } from '../wasm/abi.js'
import type { AbiKind } from '../wasm/abi/select.js'
import type { WasmPoolInit } from '../wasm/pool.js'
import type { Executor, ExecutionTask, ExecutionResult } from './interface.js'

/** Options of {@link LocalExecutor}. */
export interface LocalExecutorInit extends WasmPoolInit {
  /** Wall-clock limit for tasks whose `meta.time` is absent (ms). @default 60000 */
  defaultTimeMs?: number
  /** Fuel limit for tasks whose `meta.fuel` is absent. @default 10^10 */
  defaultFuel?: number | bigint
  /** This node: invocations must authorise it. Without it, invocations are not checked. */
  identity?: { did(): DID }
  /** Refuse tasks that come without a signed invocation. @default false */
  requireInvocation?: boolean
  /** Revoked delegations are refused. */
  revocations?: RevocationStore
  /** Validated delegations, so a chain is checked once. @default the process-wide cache */
  delegationCache?: DelegationCache
}

/** Runs tasks on this machine's worker pool. */
export class LocalExecutor implements Executor {
  private pool: WasmPool | undefined
  private stopped = false

  constructor (private readonly blocks: Blocks, private readonly init: LocalExecutorInit = {}) {}

  /** Worker threads the pool has (or will have once started). */
  get threads (): number {
    return this.init.threads ?? defaultThreads()
  }

  /** The worker pool, created on first use. */
  private workers (): WasmPool {
    if (this.stopped) throw new TaskError('Aborted', 'the executor is stopped')
    this.pool ??= new WasmPool(this.init)
    return this.pool
  }

  async execute (task: ExecutionTask, options: { signal?: AbortSignal } = {}): Promise<ExecutionResult> {
    try {
      // Authority first: nothing is read or run for a task the chain does not allow.
      await this.authorize(task)
      if (!await this.blocks.has(task.module)) {
        throw new TaskError('ModuleNotFound', `module ${task.module} is not in the store; add it with \`ipvm add FILE\``, { module: task.module.toString() })
      }
      const args = await Promise.all(task.args.map(async (arg, i) => await this.resolveLinks(arg, i, options.signal)))
      const outcome = await this.workers().run({
        moduleCid: task.module,
        loadModule: async () => await this.loadModule(task.module),
        func: task.func,
        args,
        fuel: BigInt(task.meta.fuel ?? this.init.defaultFuel ?? DEFAULT_TASK_FUEL),
        memoryBytes: Math.min(task.meta.memory ?? DEFAULT_TASK_MEMORY, MAX_TASK_MEMORY),
        seed: task.instructionCid.bytes,
        // `input.abi` forces the calling convention (validated when the workflow was parsed).
        ...(typeof task.instruction.input.abi === 'string' ? { abi: task.instruction.input.abi as AbiKind } : {}),
        timeoutMs: task.meta.time ?? this.init.defaultTimeMs ?? DEFAULT_TASK_TIME_MS,
        signal: options.signal
      })
      const out = 'ok' in outcome ? { ok: outcome.ok as IpldValue } : { error: outcome.error }
      const fuel = outcome.fuel === null ? null : outcome.fuel <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(outcome.fuel) : outcome.fuel
      const meta: { [key: string]: IpldValue } = {}
      if (outcome.abi !== undefined) meta.abi = outcome.abi
      if (outcome.log.length > 0) meta.log = outcome.log
      if (outcome.stderr !== undefined && outcome.stderr !== '') meta.stderr = outcome.stderr
      if (outcome.exitCode !== undefined) meta.exitCode = outcome.exitCode
      return { out, executed: true, durationMs: outcome.durationMs, fuel, meta }
    } catch (err) {
      return { out: { error: asTaskError(err, task).toValue() }, executed: false, durationMs: 0, fuel: null }
    }
  }

  /** Checks the task's signed invocation and its UCAN chain; throws a TaskError carrying the named auth error. */
  private async authorize (task: ExecutionTask): Promise<void> {
    const { identity } = this.init
    if (identity === undefined) return
    if (task.invocation === undefined) {
      if (this.init.requireInvocation === true) throw new TaskError('Unauthorized', `${task.func}: no signed invocation came with the task`)
      return
    }
    const result = await validateInvocation(task.invocation.invocation, {
      executor: identity,
      task: { module: task.module, fuel: task.meta.fuel ?? this.init.defaultFuel ?? DEFAULT_TASK_FUEL },
      authorization: task.invocation.authorization,
      proofs: task.invocation.proofs,
      blocks: this.blocks,
      ...(this.init.revocations !== undefined ? { revocations: this.init.revocations } : {}),
      ...(this.init.delegationCache !== undefined ? { cache: this.init.delegationCache } : {})
    })
    if (result.error !== undefined) {
      const { name, message, ...details } = result.error.toValue()
      // The receipt names the precise reason: Expired, CaveatExceeded, WrongAudience, …
      throw new TaskError(name, message, details)
    }
  }

  private async loadModule (module: CID): Promise<Uint8Array> {
    try {
      return await readBytes(this.blocks, module, { maxBytes: MAX_MODULE_BYTES, what: 'module' })
    } catch (err) {
      if (err instanceof InputError) throw new TaskError('InvalidModule', err.message, { module: module.toString() })
      throw err
    }
  }

  /** Replaces every link in an argument by the bytes it names (a file for UnixFS CIDs). */
  private async resolveLinks (value: IpldValue, index: number, signal?: AbortSignal): Promise<WasmArgument> {
    const cid = CID.asCID(value)
    if (cid !== null) return await readBytes(this.blocks, cid, { maxBytes: MAX_ARGUMENT_BYTES, what: `argument ${index}`, signal })
    if (Array.isArray(value)) return await Promise.all(value.map(async item => await this.resolveLinks(item, index, signal)))
    if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
      const out: { [key: string]: WasmArgument } = {}
      for (const [key, item] of Object.entries(value)) out[key] = await this.resolveLinks(item, index, signal)
      return out
    }
    return value
  }

  async stop (): Promise<void> {
    this.stopped = true
    await this.pool?.stop()
  }
}

function asTaskError (err: unknown, task: ExecutionTask): TaskError {
  if (err instanceof TaskError) return err
  if (err instanceof BlockNotFoundError) {
    const isModule = err.cid === task.module.toString()
    return new TaskError(isModule ? 'ModuleNotFound' : 'BlockNotFound', err.message, { cid: err.cid })
  }
  if (err instanceof InputError) return new TaskError('ArgumentError', err.message)
  return new TaskError('WorkerCrashed', `running ${task.func} failed: ${(err as Error).message}`)
}
