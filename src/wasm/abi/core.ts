/**
 * The core ABI runner: numbers as Wasm values, strings and bytes as
 * `(ptr, len)` through the guest's `alloc` (conversions in `../abi.ts`).
 */
import { toWasmParams, fromWasmResults } from '../abi.js'
import { writeToGuest } from './guest.js'
import type { Guest } from './guest.js'
import type { WasmArgument, WasmResult } from '../abi.js'

/** The core allocator export. */
export const CORE_ALLOC_EXPORT = 'alloc'

/** Calls `guest.exported` with `args` by the core ABI. */
export function callCore (guest: Guest, args: WasmArgument[]): WasmResult {
  const hasAlloc = typeof guest.run.instance.exports[CORE_ALLOC_EXPORT] === 'function'
  const writeBytes = guest.memory !== undefined && hasAlloc
    ? (bytes: Uint8Array, index: number): [number, number] => [writeToGuest(guest, CORE_ALLOC_EXPORT, bytes, `argument ${index}`), bytes.byteLength]
    : undefined
  const params = toWasmParams(guest.func, guest.exported.type, args, writeBytes)
  return fromWasmResults(guest.func, guest.exported.type, guest.run.call(guest.exported.name, ...params))
}
