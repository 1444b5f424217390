/**
 * The IPVM data model, in the shapes of UCAN Invocation 0.2 as used by IPVM and
 * Homestar. Types only: implementations import this module as a namespace.
 */
import type { CID } from 'multiformats/cid'
import type { TaskErrorValue } from '../errors.js'

/** Any value of the IPLD data model, as `@ipld/dag-cbor` decodes it. */
export type IpldValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | CID
  | IpldValue[]
  | { [key: string]: IpldValue }

/** The computation itself; its CID (the InID) names it and is the memo key. */
export interface Instruction {
  /** The resource: the Wasm module, as `ipfs://CID`, `/ipfs/CID` or a bare CID. */
  rsc: string
  /** The ability, e.g. `wasm/run`. */
  op: string
  /** For `wasm/run`: `{ func, args }`. */
  input: { [key: string]: IpldValue }
  /** Nonce: two otherwise equal instructions with different nonces are different computations. */
  nnc: string
}

/** Resource limits of one task. Not part of the InID. */
export interface TaskMeta {
  /** Fuel limit (metering comes with the sandbox); `undefined` means the node's default. */
  fuel?: number | bigint
  /** Memory limit in bytes. */
  memory?: number
  /** Wall-clock limit in milliseconds: a hard per-task timeout. */
  time?: number
  /** The awarded price, in credits per million fuel (checked against the chain's `maxPrice` and `maxSpend`). */
  price?: number
  /**
   * CID of the DAG-CBOR list of arguments the executor runs (the instruction's
   * `args` with every promise replaced by its value). Signed into the
   * executor's invocation, so its receipt commits to the inputs it ran on and
   * anyone can re-run it (optimistic verification).
   */
  args?: CID
}

/** An instruction with its limits, proofs and cause. */
export interface Task {
  run: CID
  meta: { [key: string]: IpldValue }
  prf: CID[]
  cause?: CID
}

/** A task as invoked by someone; `auth` (signature over the task) comes with identities. */
export interface Invocation {
  task: Task
  auth?: CID
}

/** The result of a task: exactly one of `ok` or `error`. */
export type Outcome =
  | { ok: IpldValue }
  | { error: TaskErrorValue }

/** Effects a receipt asks for (none yet in ipvm). */
export interface Effects {
  fork: CID[]
  join?: CID
}

/** What running an invocation produced. `iss` and `sig` are set once nodes have identities. */
export interface Receipt {
  ran: CID
  out: Outcome
  fx: Effects
  meta: { [key: string]: IpldValue }
  iss?: string
  prf: CID[]
  sig?: Uint8Array
}
