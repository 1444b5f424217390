/**
 * The remote executor: runs tasks on executor nodes over
 * `/ipvm/execute/1.0.0` and accepts a result only with a receipt that
 * verifies.
 *
 * Trust: this node (the scheduler) holds `wasm/run` authority (its own, or
 * delegated by the requester in `proofs`). For each attempt it delegates to
 * the chosen executor a `wasm/run` narrowed to the task's module and fuel,
 * short-lived. The executor signs the invocation (it is the invoker, the
 * audience of the chain, as `validateInvocation` requires) and the receipt.
 * Here the receipt is checked with `verifyReceipt`: signed by the executor's
 * DID (derived from its PeerId), its invocation signed by the same key and
 * authorised by the chain ending in the delegation made for this attempt, and
 * `ran` naming the invocation the executor announced for this instruction and
 * these limits. Anything else is an {@link InvalidReceiptError} and the task
 * goes to another executor.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { IpvmError, TaskError } from '../errors.js'
import { encodeBlock, cidOf, codecs, decodeBlock } from '../model/block.js'
import { delegateWasmRun, delegationBlocks } from '../auth/delegation.js'
import { verifyReceipt } from '../auth/sign.js'
import { Ed25519Verifier } from '../auth/ed25519.js'
import { findPeersByRole } from '../net/discovery.js'
import { requestExecution } from '../net/protocols/execute.js'
import { argumentsBlock } from '../net/protocols/execute-messages.js'
import { DEFAULT_TASK_FUEL } from '../constants.js'
import type { PeerId, Logger } from '@libp2p/interface'
import type { Block } from '../model/block.js'
import type { Authorization, DID, Signer } from '../auth/types.js'
import type { Delegation } from '../auth/delegation.js'
import type { Invocation, IpldValue, Receipt } from '../model/types.js'
import type { IpvmNode } from '../net/node.js'
import type { ExecuteRequest } from '../net/protocols/execute.js'
import type { Executor, ExecutionResult, ExecutionTask } from './interface.js'

/** A receipt from an executor did not verify (forged, wrong signer, wrong invocation). */
export class InvalidReceiptError extends IpvmError {
  override name = 'InvalidReceiptError'
  readonly peer: string
  constructor (peer: string, message: string) {
    super(`executor ${peer} returned an invalid receipt: ${message}`)
    this.peer = peer
  }
}

/** A receipt signed by an executor that was not awarded the task. */
export class NotAwardedReceiptError extends InvalidReceiptError {
  override name = 'NotAwarded'
}

/** Options of {@link RemoteExecutor}. */
export interface RemoteExecutorInit {
  /** This node: dials executors, finds them in the DHT. */
  node: IpvmNode
  /** This node's signer: issues the per-task delegation to the executor. */
  signer: Signer & { did(): DID, signatureAlgorithm: string }
  /** The chain that gives `signer` its authority (e.g. the requester's budget delegation). None: `signer` spends its own. */
  proofs?: Delegation[]
  /**
   * Executors to use, in order of preference. When absent, executors are
   * found with `findPeersByRole(node, 'executor')` at each task.
   */
  peers?: () => Promise<PeerId[]>
  /**
   * How long executors found in the DHT are reused before asking it again (ms).
   * @default 5000
   */
  discoveryTtlMs?: number
  /**
   * Most executors tried for one task.
   * @default 3
   */
  maxAttempts?: number
  /**
   * Time allowed for an executor to accept a task (ms): a silent executor is left after it.
   * @default 10000
   */
  acceptTimeoutMs?: number
  /**
   * Time allowed beyond the task's `meta.time` for the receipt (ms).
   * @default 10000
   */
  graceMs?: number
  /**
   * Lifetime of the delegation made for each attempt (s).
   * @default 3600
   */
  delegationTtlSeconds?: number
}

/** Options of {@link RemoteExecutor.execute}. */
export interface RemoteExecuteOptions {
  signal?: AbortSignal
  /** Called when an executor accepted the task (the scheduler records who runs it). */
  onAssigned?: (peer: PeerId) => void
  /** The chain that gives this node authority for this task (e.g. the requester's budget); replaces `init.proofs`. */
  proofs?: Delegation[]
}

/** The terms of a task won in a market round (see scheduler/market.ts). */
export interface Award {
  /** Credits per million fuel. */
  price: number
  /** Credits held in escrow: the task's fuel limit at `price`; the delegation's `maxSpend`. */
  spend: number
  /** The winning bid's CID: the executor checks it is one of its own. */
  bid?: CID
}

/** Terms of a task given without a market round: free (executors whose minimum price is above 0 refuse it). */
const UNPAID: Award = { price: 0, spend: 0 }

/** A verified remote result: the executor's own signed receipt and what it rests on. */
export interface RemoteExecutionResult extends ExecutionResult {
  receipt: Block<Receipt>
  invocation: Block<Invocation>
  authorization: Block<Authorization>
  /** The delegation blocks of the chain (this node's proofs and the one made for the executor). */
  proofBlocks: Array<{ cid: CID, bytes: Uint8Array }>
  /** The arguments run, as the block the invocation's `meta.args` names (verifiers re-run from it). */
  args: { cid: CID, bytes: Uint8Array }
  executor: { peer: string, did: DID }
  /** Executors that failed this task before, with why. */
  failures: Array<{ peer: string, error: string }>
}

/** True when `result` came from a {@link RemoteExecutor}, with the executor's receipt. */
export function isRemoteResult (result: ExecutionResult): result is RemoteExecutionResult {
  return 'receipt' in result && 'executor' in result
}

/** True when `executor` runs tasks on other nodes (which sign their own invocations and receipts). */
export function isRemoteExecutor (executor: Executor): executor is RemoteExecutor {
  return executor instanceof RemoteExecutor
}

/** The `did:key` of an ed25519 PeerId: the same key names the node on both layers. */
export function peerDid (peer: PeerId): DID {
  const key = peer.toString()
  const known = peerDids.get(key)
  if (known !== undefined) return known
  const did = keyDid(peer)
  // A PeerId names its key forever: decoding it once is enough.
  if (peerDids.size >= 10_000) peerDids.clear()
  peerDids.set(key, did)
  return did
}

const peerDids = new Map<string, DID>()

function keyDid (peer: PeerId): DID {
  const raw = (peer as { publicKey?: { type?: string, raw?: Uint8Array } }).publicKey
  if (raw?.type !== 'Ed25519' || raw.raw === undefined) throw new RangeError(`peer ${peer.toString()} has no ed25519 key, so it has no did:key`)
  return Ed25519Verifier.fromPublicKey(raw.raw).did()
}

function sameCid (a: unknown, b: CID): boolean {
  const cid = CID.asCID(a)
  return cid !== null && cid.equals(b)
}

/**
 * Runs tasks on remote executors, with retries on another executor when one
 * is silent, dies, refuses or returns a receipt that does not verify.
 *
 * @example
 * ```ts
 * const executor = new RemoteExecutor({ node, signer: identity.signer, proofs: [budget] })
 * const result = await executor.execute(task)   // result.receipt is the executor's signed receipt
 * ```
 */
export class RemoteExecutor implements Executor {
  private readonly init: RemoteExecutorInit
  private readonly maxAttempts: number
  private readonly log: Logger
  private next = 0
  private readonly controller = new AbortController()
  private discovered: { peers: Promise<PeerId[]>, at: number } | undefined

  constructor (init: RemoteExecutorInit) {
    this.init = init
    this.maxAttempts = init.maxAttempts ?? 3
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) throw new RangeError(`maxAttempts must be a positive integer, got ${this.maxAttempts}`)
    this.log = init.node.libp2p.logger.forComponent('ipvm:executor:remote')
  }

  /** Executors to ask: `init.peers`, or those advertised in the DHT (one lookup serves every task for `discoveryTtlMs`). */
  async candidates (signal: AbortSignal): Promise<PeerId[]> {
    if (this.init.peers !== undefined) return await this.init.peers()
    // One DHT query serves every task for a few seconds (and tasks starting together share it).
    const ttl = this.init.discoveryTtlMs ?? 5_000
    if (this.discovered === undefined || performance.now() - this.discovered.at > ttl) {
      const peers = findPeersByRole(this.init.node, 'executor', { signal: this.controller.signal, timeoutMs: 10_000 }).then(found => found.map(info => info.id))
      const entry = { peers, at: performance.now() }
      this.discovered = entry
      // A failed or empty lookup is not kept: the next task asks again.
      peers.then(found => { if (found.length === 0 && this.discovered === entry) this.discovered = undefined }, () => { if (this.discovered === entry) this.discovered = undefined })
    }
    const peers = this.discovered.peers
    return await new Promise<PeerId[]>((resolve, reject) => {
      const onAbort = (): void => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
      peers.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
    })
  }

  async execute (task: ExecutionTask, options: RemoteExecuteOptions = {}): Promise<ExecutionResult> {
    const signal = options.signal === undefined ? this.controller.signal : AbortSignal.any([options.signal, this.controller.signal])
    const failures: Array<{ peer: string, error: string }> = []
    const tried = new Set<string>()
    // Spread tasks over executors: each task starts at the next one; a failed one is not asked again for this task.
    const start = this.next++
    const proofs = options.proofs ?? this.init.proofs ?? []
    try {
      // Checks that this node may grant the task at all before any executor is asked.
      await this.delegate(task, proofs, this.init.signer.did(), UNPAID)
    } catch (err) {
      // This node cannot grant what the task asks (e.g. more fuel than its budget allows): no
      // executor could run it. From the task's side, that is a caveat of its chain exceeded.
      const name = (err as Error).name === 'EscalatedCapability' ? 'CaveatExceeded' : (err as Error).name
      return { out: { error: new TaskError(name, `${task.func}: ${(err as Error).message}`).toValue() }, executed: false, durationMs: 0, fuel: null }
    }
    while (tried.size < this.maxAttempts && !signal.aborted) {
      let peers: PeerId[]
      try {
        peers = (await this.candidates(signal)).filter(peer => !tried.has(peer.toString()))
      } catch (err) {
        failures.push({ peer: '(discovery)', error: `${(err as Error).name}: ${(err as Error).message}` })
        break
      }
      if (peers.length === 0) break
      const peer = peers[start % peers.length] as PeerId
      tried.add(peer.toString())
      try {
        const result = await this.attempt(task, proofs, peer, signal, options)
        result.failures = failures
        return result
      } catch (err) {
        if (signal.aborted) break
        this.log('executor %p failed task %s: %s', peer, task.instructionCid, (err as Error).message)
        failures.push({ peer: peer.toString(), error: `${(err as Error).name}: ${(err as Error).message}` })
      }
    }
    if (signal.aborted) return { out: { error: new TaskError('Aborted', `${task.func}: aborted`).toValue() }, executed: false, durationMs: 0, fuel: null }
    const detail = failures.length === 0 ? 'no executor found' : failures.map(f => `${f.peer}: ${f.error}`).join('; ')
    return {
      out: { error: new TaskError('NoExecutor', `${task.func}: no executor delivered a valid receipt (${detail})`, { failures: failures.map(f => `${f.peer}: ${f.error}`) }).toValue() },
      executed: false,
      durationMs: 0,
      fuel: null
    }
  }

  /**
   * Checks that `proofs` let this node grant `task` (at `award`'s price, when
   * given) before any executor is asked: throws the named auth error
   * (`EscalatedCapability` when a caveat is exceeded) otherwise.
   */
  async checkGrant (task: ExecutionTask, proofs: Delegation[], award?: Award): Promise<void> {
    await this.delegate(task, proofs, this.init.signer.did(), award)
  }

  /**
   * Runs `task` on `peer` under the terms of `award` (its price and escrow
   * become the delegation's `maxPrice`/`maxSpend`, the invocation's
   * `meta.price`). One attempt: throws on any failure, including a receipt
   * that does not verify or is signed by another executor.
   */
  async runAwarded (task: ExecutionTask, peer: PeerId, award: Award, options: RemoteExecuteOptions = {}): Promise<RemoteExecutionResult> {
    const signal = options.signal === undefined ? this.controller.signal : AbortSignal.any([options.signal, this.controller.signal])
    return await this.attempt(task, options.proofs ?? this.init.proofs ?? [], peer, signal, options, award)
  }

  /** A `wasm/run` delegation for `task` to `audience`, under `proofs` (throws the named auth error when they do not allow it). */
  private async delegate (task: ExecutionTask, proofs: Delegation[], audience: DID = this.init.signer.did(), award?: Award): Promise<Delegation> {
    const fuel = task.meta.fuel ?? DEFAULT_TASK_FUEL
    return await delegateWasmRun({
      issuer: this.init.signer,
      audience,
      caveats: { maxFuel: Number(fuel), modules: [task.module], ...(award !== undefined ? { maxPrice: award.price, maxSpend: award.spend } : {}) },
      proofs,
      expiration: Math.floor(Date.now() / 1000) + (this.init.delegationTtlSeconds ?? 3600)
    })
  }

  /** One attempt on one executor; throws on any failure, including a receipt that does not verify. */
  private async attempt (task: ExecutionTask, proofs: Delegation[], peer: PeerId, signal: AbortSignal, options: RemoteExecuteOptions, award: Award = UNPAID): Promise<RemoteExecutionResult> {
    const executorDid = peerDid(peer)
    const fuel = task.meta.fuel ?? DEFAULT_TASK_FUEL
    // Least authority: this executor, this module, this much fuel (at this price), for a short while.
    const delegation = await this.delegate(task, proofs, executorDid, award)
    const proofBlocks = delegationBlocks(delegation)
    const instruction = encodeBlock(task.instruction)
    if (!instruction.cid.equals(task.instructionCid)) throw new IpvmError(`instruction does not encode to ${task.instructionCid}`)
    // The arguments are bound into the signed invocation: its receipt commits to what it ran on.
    const args = argumentsBlock(task.args)
    const meta = { ...task.meta, fuel, price: award.price, args: args.cid }
    const request: ExecuteRequest = {
      instruction: instruction.bytes,
      args: task.args,
      meta,
      prf: [CID.asCID(delegation.cid) as CID],
      proofs: proofBlocks,
      ...(award.bid !== undefined ? { bid: award.bid } : {})
    }
    const answer = await requestExecution(this.init.node.libp2p, peer, request, {
      signal,
      ...(this.init.acceptTimeoutMs !== undefined ? { acceptTimeoutMs: this.init.acceptTimeoutMs } : {}),
      ...(this.init.graceMs !== undefined ? { graceMs: this.init.graceMs } : {}),
      onAccepted: () => { options.onAssigned?.(peer) }
    })
    const { done } = answer
    const name = peer.toString()
    const invocationCid = cidOf(done.invocation, codecs.dagCbor)
    const authorizationCid = cidOf(done.authorization, codecs.dagCbor)
    if (!invocationCid.equals(answer.invocationCid)) throw new InvalidReceiptError(name, `it announced invocation ${answer.invocationCid} but sent ${invocationCid}`)
    let invocation: Invocation
    try {
      invocation = dagCbor.decode<Invocation>(done.invocation)
    } catch {
      throw new InvalidReceiptError(name, 'the invocation is not DAG-CBOR')
    }
    // The invocation must be for this instruction, these limits, under the delegation made for this attempt.
    if (!sameCid(invocation.task?.run, task.instructionCid)) throw new InvalidReceiptError(name, `its invocation runs ${String(invocation.task?.run)}, not ${task.instructionCid}`)
    if (!Array.isArray(invocation.task.prf) || !invocation.task.prf.some(link => sameCid(link, CID.asCID(delegation.cid) as CID))) {
      throw new InvalidReceiptError(name, 'its invocation does not rest on the delegation made for it')
    }
    if (!sameCid(invocation.auth, authorizationCid)) throw new InvalidReceiptError(name, 'the authorization sent is not the invocation\'s')
    if (dagCbor.encode(invocation.task.meta).toString() !== dagCbor.encode(dropUndefinedMeta(meta)).toString()) throw new InvalidReceiptError(name, 'its invocation changed the task\'s limits')
    // Only the executor awarded may answer: a receipt signed by anyone else (even a valid one, relayed) is not its work.
    let signer: unknown
    try {
      signer = dagCbor.decode<{ iss?: unknown }>(done.receipt).iss
    } catch {
      throw new InvalidReceiptError(name, 'the receipt is not DAG-CBOR')
    }
    if (signer !== executorDid) throw new NotAwardedReceiptError(name, `its receipt is signed by ${String(signer)}, not by ${executorDid}, the executor awarded the task`)
    const blocks = new Map<string, Uint8Array>([
      [invocationCid.toString(), done.invocation],
      [authorizationCid.toString(), done.authorization],
      [task.instructionCid.toString(), instruction.bytes],
      ...proofBlocks.map(block => [block.cid.toString(), block.bytes] as [string, Uint8Array])
    ])
    const verified = await verifyReceipt(done.receipt, {
      issuer: executorDid,
      blocks: { get: async (cid: CID) => blocks.get(cid.toString()) },
      requireInvocation: true,
      proofs: [delegation]
    })
    if (verified.error !== undefined) throw new InvalidReceiptError(name, `${verified.error.name}: ${verified.error.message}`)
    const receipt = verified.ok.receipt
    if (!sameCid(receipt.ran, invocationCid)) throw new InvalidReceiptError(name, `its receipt answers ${String(receipt.ran)}, not invocation ${invocationCid}`)
    const receiptFuel = receipt.meta.fuel
    const { time: _time, fuel: _fuel, ...extra } = receipt.meta
    const result: RemoteExecutionResult = {
      out: receipt.out,
      executed: done.executed,
      durationMs: done.durationMs,
      fuel: typeof receiptFuel === 'number' || typeof receiptFuel === 'bigint' ? receiptFuel : null,
      meta: extra as { [key: string]: IpldValue },
      receipt: { cid: verified.ok.cid, bytes: done.receipt, value: receipt },
      invocation: { cid: invocationCid, bytes: done.invocation, value: invocation },
      authorization: { cid: authorizationCid, bytes: done.authorization, value: decodeBlock<Authorization>(done.authorization) },
      proofBlocks,
      args: { cid: args.cid, bytes: args.bytes },
      executor: { peer: name, did: executorDid },
      failures: []
    }
    return result
  }

  /** Aborts tasks in flight. Safe to call twice. */
  async stop (): Promise<void> {
    this.controller.abort(new TaskError('Aborted', 'the remote executor is stopped'))
  }
}

function dropUndefinedMeta (meta: { [key: string]: unknown }): { [key: string]: unknown } {
  const out: { [key: string]: unknown } = {}
  for (const [key, value] of Object.entries(meta)) if (value !== undefined) out[key] = value
  return out
}
