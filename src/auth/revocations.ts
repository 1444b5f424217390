/**
 * Revocations: delegations this node no longer honours, by CID. Validation
 * checks every delegation of a chain against the store on every task (the
 * validated-chain cache never skips it), so a revocation takes effect at once.
 *
 * Two implementations behind one interface: LMDB (the node's
 * `revocations.lmdb`, shared by `ipvm revoke` and a running node) and memory.
 */
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { open } from 'lmdb'
import { CID } from 'multiformats/cid'
import * as dagCbor from '@ipld/dag-cbor'
import { StoreError } from '../errors.js'
import type { Database, RootDatabase } from 'lmdb'

/** One revocation record. */
export interface Revocation {
  /** The revoked delegation. */
  cid: CID
  /** When it was recorded (Unix seconds). */
  at: number
  /** Why, if given. */
  reason?: string
}

/** Options of {@link RevocationStore.revoke}. */
export interface RevokeOptions {
  reason?: string
  /** Unix seconds. @default now */
  at?: number
}

/** The seam validation uses: a set of revoked delegation CIDs. */
export interface RevocationStore {
  /** Records that `cid` is revoked (idempotent: the first record is kept). */
  revoke(cid: CID, options?: RevokeOptions): Promise<Revocation>
  /** True when `cid` is revoked. */
  isRevoked(cid: CID): Promise<boolean>
  /** The record of `cid`, if revoked. */
  get(cid: CID): Promise<Revocation | undefined>
  /** Every revocation, oldest first. */
  list(): Promise<Revocation[]>
  close(): Promise<void>
}

/** The key of a CID in either store: its bytes, from any multiformats version. */
function keyOf (cid: CID): Uint8Array {
  const normal = CID.asCID(cid)
  if (normal === null) throw new TypeError('not a CID')
  return normal.bytes
}

interface StoredRecord { at: number, reason?: string }

function toRecord (options: RevokeOptions): StoredRecord {
  const record: StoredRecord = { at: options.at ?? Math.floor(Date.now() / 1000) }
  if (options.reason !== undefined && options.reason !== '') record.reason = options.reason
  return record
}

/** Revocations kept in memory (tests, short-lived tools). */
export class MemoryRevocationStore implements RevocationStore {
  private readonly records = new Map<string, Revocation>()

  async revoke (cid: CID, options: RevokeOptions = {}): Promise<Revocation> {
    const key = CID.decode(keyOf(cid)).toString()
    const existing = this.records.get(key)
    if (existing !== undefined) return existing
    const revocation: Revocation = { cid: CID.decode(keyOf(cid)), ...toRecord(options) }
    this.records.set(key, revocation)
    return revocation
  }

  async isRevoked (cid: CID): Promise<boolean> {
    return this.records.size > 0 && this.records.has(cid.toString())
  }

  async get (cid: CID): Promise<Revocation | undefined> {
    return this.records.get(cid.toString())
  }

  async list (): Promise<Revocation[]> {
    return [...this.records.values()].sort((a, b) => a.at - b.at)
  }

  async close (): Promise<void> {}
}

/** Options of {@link openRevocationStore}. */
export interface RevocationStoreInit {
  /** Path of the LMDB file, e.g. `revocationsPath(repo)`; its directory is created (mode 0700) when missing. */
  path: string
}

/** Where a repository keeps its revocations. */
export function revocationsPath (repo: string): string {
  return join(repo, 'revocations.lmdb')
}

class LmdbRevocationStore implements RevocationStore {
  private closed = false

  constructor (private readonly env: RootDatabase, private readonly db: Database<Uint8Array, Uint8Array>) {}

  async revoke (cid: CID, options: RevokeOptions = {}): Promise<Revocation> {
    const key = keyOf(cid)
    const record = toRecord(options)
    const written = await this.db.ifNoExists(key, () => { void this.db.put(key, dagCbor.encode(record)) })
    const stored = written ? record : this.read(key) ?? record
    return { cid: CID.decode(key), ...stored }
  }

  async isRevoked (cid: CID): Promise<boolean> {
    // Synchronous read under the hood: LMDB reads need no I/O wait.
    return this.db.doesExist(keyOf(cid))
  }

  async get (cid: CID): Promise<Revocation | undefined> {
    const key = keyOf(cid)
    const record = this.read(key)
    return record === undefined ? undefined : { cid: CID.decode(key), ...record }
  }

  async list (): Promise<Revocation[]> {
    const out: Revocation[] = []
    for (const { key, value } of this.db.getRange()) {
      out.push({ cid: CID.decode(new Uint8Array(key)), ...dagCbor.decode<StoredRecord>(new Uint8Array(value)) })
    }
    return out.sort((a, b) => a.at - b.at)
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.env.close()
  }

  private read (key: Uint8Array): StoredRecord | undefined {
    const bytes = this.db.getBinary(key)
    return bytes === undefined ? undefined : dagCbor.decode<StoredRecord>(new Uint8Array(bytes))
  }
}

/**
 * Opens (creating if needed) the LMDB revocation store at `init.path`.
 * Throws `StoreError` when it cannot be opened.
 *
 * @example
 * ```ts
 * const revocations = openRevocationStore({ path: revocationsPath(repo) })
 * await revocations.revoke(delegation.cid, { reason: 'key leaked' })
 * ```
 */
export function openRevocationStore (init: RevocationStoreInit): RevocationStore {
  let env: RootDatabase
  try {
    mkdirSync(dirname(init.path), { recursive: true, mode: 0o700 })
    env = open({ path: init.path, maxDbs: 2, compression: false })
  } catch (err) {
    throw new StoreError(`cannot open the revocation store at ${init.path}: ${(err as Error).message}`)
  }
  const db: Database<Uint8Array, Uint8Array> = env.openDB({ name: 'revocations', encoding: 'binary', keyEncoding: 'binary' })
  return new LmdbRevocationStore(env, db)
}
