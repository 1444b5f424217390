/**
 * The store seams, types only. The LMDB implementation and the in-memory one
 * both satisfy them and share one test suite.
 */
import type { CID } from 'multiformats/cid'

/** Abort options accepted by every async store method. */
export interface AbortOptions {
  signal?: AbortSignal
}

/** Content-addressed blocks. A block's bytes are verified against its CID by whoever fetched them from elsewhere. */
export interface Blocks {
  /** Stores `bytes` under `cid` (idempotent). */
  put(cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void>
  /** The block's bytes, or `undefined` when it is not here. */
  get(cid: CID, options?: AbortOptions): Promise<Uint8Array | undefined>
  has(cid: CID, options?: AbortOptions): Promise<boolean>
}

/** Receipts by instruction CID (InID): the memo table. */
export interface Receipts {
  /** The CID of the receipt last recorded for this InID (any hash of the instruction registered for it). */
  get(instructionCid: CID): Promise<CID | undefined>
  /** Records `receiptCid` for the instruction under each of `instructionCids` (its InID and its aliases, e.g. sha3-256). */
  put(instructionCids: CID[], receiptCid: CID): Promise<void>
}

/** Small records keyed by CID (e.g. a workflow file's CID → its last successful run). */
export interface Records {
  get(key: CID): Promise<Uint8Array | undefined>
  put(key: CID, value: Uint8Array): Promise<void>
}

/**
 * A node's local repository: blocks and receipts, written together.
 * `commit` stores blocks and receipt index entries in one atomic transaction,
 * so a crash never leaves an index entry pointing at a missing block.
 */
export interface Repo {
  readonly blocks: Blocks
  readonly receipts: Receipts
  /** Workflow records: a workflow file's CID → the summary of its last fully successful run. */
  readonly workflows: Records
  /** Atomically stores `blocks` and, if given, the receipt index entry. */
  commit(entries: { blocks: Array<{ cid: CID, bytes: Uint8Array }>, receipt?: { instructionCids: CID[], receiptCid: CID } }): Promise<void>
  close(): Promise<void>
}
