/**
 * The LMDB repository: one environment with three databases, `blocks`
 * (CID bytes → block bytes), `receipts` (InID bytes → receipt CID bytes) and
 * `workflows` (workflow file CID bytes → DAG-CBOR run summary).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { open } from 'lmdb'
import { CID } from 'multiformats/cid'
import { StoreError } from '../errors.js'
import type { RootDatabase, Database } from 'lmdb'
import type { Blocks, Receipts, Records, Repo } from './interface.js'

/** Options of {@link openLmdbRepo}. */
export interface LmdbRepoInit {
  /** Directory of the repository; created (mode 0700) when missing. */
  path: string
  /** Open read-only (e.g. to inspect a repository another process writes). @default false */
  readOnly?: boolean
}

type BinaryDb = Database<Uint8Array, Uint8Array>

class LmdbBlocks implements Blocks {
  constructor (private readonly db: BinaryDb) {}

  async put (cid: CID, bytes: Uint8Array): Promise<void> {
    await this.db.put(cid.bytes, bytes)
  }

  async get (cid: CID): Promise<Uint8Array | undefined> {
    return this.getSync(cid)
  }

  /** Synchronous read: LMDB reads need no I/O wait. */
  getSync (cid: CID): Uint8Array | undefined {
    const bytes = this.db.getBinary(cid.bytes)
    // lmdb returns a Buffer over a shared, reused region: copy it out.
    return bytes === undefined ? undefined : new Uint8Array(bytes)
  }

  async has (cid: CID): Promise<boolean> {
    return this.db.doesExist(cid.bytes)
  }
}

class LmdbReceipts implements Receipts {
  constructor (private readonly db: BinaryDb) {}

  async get (instructionCid: CID): Promise<CID | undefined> {
    const bytes = this.db.getBinary(instructionCid.bytes)
    return bytes === undefined ? undefined : CID.decode(new Uint8Array(bytes))
  }

  async put (instructionCids: CID[], receiptCid: CID): Promise<void> {
    await this.db.transaction(() => {
      for (const cid of instructionCids) void this.db.put(cid.bytes, receiptCid.bytes)
    })
  }
}

class LmdbRecords implements Records {
  constructor (private readonly db: BinaryDb) {}

  async get (key: CID): Promise<Uint8Array | undefined> {
    const bytes = this.db.getBinary(key.bytes)
    return bytes === undefined ? undefined : new Uint8Array(bytes)
  }

  async put (key: CID, value: Uint8Array): Promise<void> {
    await this.db.put(key.bytes, value)
  }
}

/** Opens (creating if needed) the LMDB repository under `init.path`. */
export function openLmdbRepo (init: LmdbRepoInit): Repo {
  let env: RootDatabase
  try {
    mkdirSync(init.path, { recursive: true, mode: 0o700 })
    env = open({ path: join(init.path, 'store.lmdb'), maxDbs: 8, readOnly: init.readOnly ?? false, compression: false })
  } catch (err) {
    throw new StoreError(`cannot open the store at ${init.path}: ${(err as Error).message}`)
  }
  const blocksDb: BinaryDb = env.openDB({ name: 'blocks', encoding: 'binary', keyEncoding: 'binary' })
  const receiptsDb: BinaryDb = env.openDB({ name: 'receipts', encoding: 'binary', keyEncoding: 'binary' })
  const workflowsDb: BinaryDb = env.openDB({ name: 'workflows', encoding: 'binary', keyEncoding: 'binary' })
  const blocks = new LmdbBlocks(blocksDb)
  const receipts = new LmdbReceipts(receiptsDb)
  let closed = false

  return {
    blocks,
    receipts,
    workflows: new LmdbRecords(workflowsDb),
    async commit ({ blocks: entries, receipt }) {
      await env.transaction(() => {
        for (const { cid, bytes } of entries) void blocksDb.put(cid.bytes, bytes)
        if (receipt !== undefined) {
          for (const cid of receipt.instructionCids) void receiptsDb.put(cid.bytes, receipt.receiptCid.bytes)
        }
      })
    },
    async close () {
      if (closed) return
      closed = true
      await env.close()
    }
  }
}
