/**
 * An in-memory repository with the same behaviour as the LMDB one, for tests
 * and throw-away runs.
 */
import { CID } from 'multiformats/cid'
import type { Blocks, Receipts, Records, Repo } from './interface.js'

const key = (cid: CID): string => cid.toString()

/** A repository that lives in memory only. */
export function memoryRepo (): Repo {
  const blockMap = new Map<string, Uint8Array>()
  const receiptMap = new Map<string, CID>()
  const blocks: Blocks = {
    async put (cid, bytes) { blockMap.set(key(cid), bytes.slice()) },
    async get (cid) { return blockMap.get(key(cid))?.slice() },
    async has (cid) { return blockMap.has(key(cid)) }
  }
  const receipts: Receipts = {
    async get (instructionCid) { return receiptMap.get(key(instructionCid)) },
    async put (instructionCids, receiptCid) { for (const cid of instructionCids) receiptMap.set(key(cid), receiptCid) }
  }
  const recordMap = new Map<string, Uint8Array>()
  const workflows: Records = {
    async get (cid) { return recordMap.get(key(cid))?.slice() },
    async put (cid, value) { recordMap.set(key(cid), value.slice()) }
  }
  return {
    blocks,
    receipts,
    workflows,
    async commit ({ blocks: entries, receipt }) {
      for (const { cid, bytes } of entries) blockMap.set(key(cid), bytes.slice())
      if (receipt !== undefined) await receipts.put(receipt.instructionCids, receipt.receiptCid)
    },
    async close () {}
  }
}
