/**
 * The IPLD bytes ABI runner. The guest contract:
 *
 * - the module exports `memory` and `ipvm_alloc(len: i32) -> i32`, which
 *   returns the address of `len` writable bytes;
 * - the called function has the signature `(ptr: i32, len: i32) -> i64`;
 * - the host encodes the task's whole `args` list (IPLD values; links are
 *   already resolved to bytes) as one DAG-CBOR list, writes it at
 *   `ipvm_alloc(len)` and calls the function with `(ptr, len)`;
 * - the function returns `ptr << 32 | len` (both unsigned 32-bit) locating
 *   exactly one DAG-CBOR value in memory: the task's result.
 *
 * The output must be DAG-CBOR (minimal integers, no NaN or infinity, no
 * undefined, no indefinite lengths, no duplicate keys, no trailing bytes;
 * map keys in any order are accepted, since the receipt re-encodes the value
 * canonically), at most
 * {@link MAX_IPLD_OUTPUT_BYTES}, within memory, and hold no links (a
 * worker's result cannot carry a CID yet). Otherwise: `InvalidOutput`.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { TaskError } from '../../errors.js'
import { IPLD_ALLOC_EXPORT, MAX_IPLD_OUTPUT_BYTES } from './constants.js'
import { writeToGuest } from './guest.js'
import type { Guest } from './guest.js'
import type { WasmArgument, WasmResult } from '../abi.js'

/** Options of {@link callIpld}. */
export interface IpldCallOptions {
  /** Most output bytes. @default MAX_IPLD_OUTPUT_BYTES */
  maxOutputBytes?: number
}

/** Packs a pointer and a length as the guest returns them (for guests and tests written in JS). */
export function packPointer (ptr: number, len: number): bigint {
  return BigInt.asIntN(64, (BigInt(ptr >>> 0) << 32n) | BigInt(len >>> 0))
}

/** Splits a packed `ptr << 32 | len`. */
export function unpackPointer (packed: bigint): [ptr: number, len: number] {
  const bits = BigInt.asUintN(64, packed)
  return [Number(bits >> 32n), Number(bits & 0xFFFF_FFFFn)]
}

function containsLink (value: unknown): boolean {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return false
  if (CID.asCID(value) !== null) return true
  return Object.values(value).some(containsLink)
}

/** Calls `guest.exported` by the IPLD bytes ABI and decodes its result. */
export function callIpld (guest: Guest, args: WasmArgument[], options: IpldCallOptions = {}): WasmResult {
  const { func, exported } = guest
  const maxOutputBytes = options.maxOutputBytes ?? MAX_IPLD_OUTPUT_BYTES
  const { params, results } = exported.type
  if (params.join() !== 'i32,i32' || results.join() !== 'i64') {
    throw new TaskError('UnsupportedAbi', `${func} has signature (${params.join(', ')}) -> (${results.join(', ')}), but module ${guest.moduleCid} declares the IPLD bytes ABI (it exports ${IPLD_ALLOC_EXPORT}), whose functions are (ptr: i32, len: i32) -> i64`, { module: guest.moduleCid, func })
  }
  let input: Uint8Array
  try {
    input = dagCbor.encode(args)
  } catch (err) {
    throw new TaskError('ArgumentError', `the arguments of ${func} cannot be encoded as DAG-CBOR: ${(err as Error).message}`, { func })
  }
  const ptr = writeToGuest(guest, IPLD_ALLOC_EXPORT, input, 'the DAG-CBOR arguments')
  const packed = guest.run.call(exported.name, ptr, input.byteLength)
  if (typeof packed !== 'bigint') throw new TaskError('InvalidOutput', `${func} returned ${typeof packed}, not an i64`, { func })
  const [outPtr, outLen] = unpackPointer(packed)
  const invalid = (why: string, details: Record<string, unknown> = {}): never => {
    throw new TaskError('InvalidOutput', `${func} returned an invalid result (ptr ${outPtr}, len ${outLen}): ${why}`, { func, ptr: outPtr, len: outLen, ...details })
  }
  if (outLen > maxOutputBytes) invalid(`more than the ${maxOutputBytes} bytes allowed`, { max: maxOutputBytes })
  const buffer = guest.memory?.buffer
  if (buffer === undefined || outPtr + outLen > buffer.byteLength) invalid('outside the module\'s memory')
  // Copy out: the decoded value must not alias guest memory.
  const output = new Uint8Array(buffer as ArrayBuffer, outPtr, outLen).slice()
  let value: unknown
  try {
    value = dagCbor.decode(output)
  } catch (err) {
    return invalid(`not one DAG-CBOR value: ${(err as Error).message}`)
  }
  if (containsLink(value)) invalid('it holds a link (CID), which a result cannot carry yet')
  return value as WasmResult
}
