/**
 * Blocks: DAG-CBOR encoding and CIDv1 construction. Hashing uses node:crypto
 * synchronously, so computing a CID never needs an `await`.
 */
import { createHash } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import type { IpldValue } from './types.js'

/** Multicodec codes used by ipvm. */
export const codecs = {
  raw: 0x55,
  dagPb: 0x70,
  dagCbor: 0x71
} as const

/** Multihash codes ipvm can compute: sha2-256 (everything ipvm creates) and sha3-256 (Homestar's InIDs). */
export const hashes = {
  sha2_256: 0x12,
  sha3_256: 0x16
} as const

const hashAlgorithms = new Map<number, string>([
  [hashes.sha2_256, 'sha256'],
  [hashes.sha3_256, 'sha3-256']
])

/** True when ipvm can compute multihashes of this code. */
export function isSupportedHash (code: number): boolean {
  return hashAlgorithms.has(code)
}

/** The multihash of `bytes` with the hash function `code` (sha2-256 by default). */
export function digestOf (bytes: Uint8Array, code: number = hashes.sha2_256): Digest.Digest<number, number> {
  const algorithm = hashAlgorithms.get(code)
  if (algorithm === undefined) throw new RangeError(`unsupported multihash 0x${code.toString(16)}`)
  return Digest.create(code, createHash(algorithm).update(bytes).digest())
}

/** CIDv1 of `bytes` with the given codec and hash. */
export function cidOf (bytes: Uint8Array, codec: number, hashCode: number = hashes.sha2_256): CID {
  return CID.createV1(codec, digestOf(bytes, hashCode))
}

/** An encoded block: its bytes and its CID. */
export interface Block<T = unknown> {
  cid: CID
  bytes: Uint8Array
  value: T
}

/** Encodes `value` as DAG-CBOR and returns the block with its CIDv1. */
export function encodeBlock<T> (value: T, hashCode: number = hashes.sha2_256): Block<T> {
  const bytes = dagCbor.encode(value)
  return { cid: cidOf(bytes, codecs.dagCbor, hashCode), bytes, value }
}

/** Decodes a DAG-CBOR block. */
export function decodeBlock<T> (bytes: Uint8Array): T {
  return dagCbor.decode<T>(bytes)
}

/** Accepts a CID from any multiformats version (ucanto and others bring their own). */
export function asCid (value: unknown): CID | null {
  return CID.asCID(value)
}

/** True when `value` is an IPLD map: an object that is neither a list, bytes nor a link. */
export function isIpldMap (value: unknown): value is { [key: string]: IpldValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array) && CID.asCID(value) === null
}

/** A shallow copy of `record` without its `undefined` values (DAG-CBOR has no undefined). */
export function dropUndefined<T extends object> (record: T): T {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(record)) if (value !== undefined) out[key] = value
  return out as T
}
