/**
 * Instructions and their CIDs (InIDs), the memo key of every computation.
 */
import { CID } from 'multiformats/cid'
import { encodeBlock, hashes, codecs, cidOf } from './block.js'
import * as dagCbor from '@ipld/dag-cbor'
import type { Block } from './block.js'
import type { Instruction } from './types.js'

/** The only ability this node runs. */
export const WASM_RUN = 'wasm/run'

/** The canonical DAG-CBOR block of an instruction: exactly `{rsc, op, input, nnc}`, meta excluded. */
export function instructionBlock (instruction: Instruction, hashCode: number = hashes.sha2_256): Block<Instruction> {
  const { rsc, op, input, nnc } = instruction
  return encodeBlock({ rsc, op, input, nnc }, hashCode)
}

/** The instruction CID (InID): CIDv1 DAG-CBOR, sha2-256 unless another hash is asked for. */
export function instructionCid (instruction: Instruction, hashCode: number = hashes.sha2_256): CID {
  return instructionBlock(instruction, hashCode).cid
}

/**
 * True when `link` names `instruction`: the instruction is re-hashed with the
 * link's own multihash function, so Homestar's sha3-256 InIDs match too.
 * `encoded` saves re-encoding when the caller already has the DAG-CBOR bytes.
 */
export function instructionMatches (link: CID, instruction: Instruction, encoded?: Uint8Array): boolean {
  if (link.code !== codecs.dagCbor) return false
  const bytes = encoded ?? dagCbor.encode({ rsc: instruction.rsc, op: instruction.op, input: instruction.input, nnc: instruction.nnc })
  return cidOf(bytes, codecs.dagCbor, link.multihash.code).equals(link)
}

/**
 * The module CID named by an instruction's `rsc`: `ipfs://CID`, `/ipfs/CID` or a
 * bare CID. Returns `null` when `rsc` is none of these.
 */
export function parseResource (rsc: string): CID | null {
  let text = rsc
  if (text.startsWith('ipfs://')) text = text.slice('ipfs://'.length)
  else if (text.startsWith('/ipfs/')) text = text.slice('/ipfs/'.length)
  if (text.includes('/') || text.length === 0) return null
  try {
    return CID.parse(text)
  } catch {
    return null
  }
}
