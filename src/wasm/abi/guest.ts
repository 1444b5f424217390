/**
 * {@link Guest}: what an ABI runner is given — one metered instance of an
 * instrumented module and the export to call.
 */
import { TaskError } from '../../errors.js'
import type { MeteredInstance } from '../meter/index.js'
import type { ExportSummary } from '../meter/summary.js'

/** A running instance, as the ABI runners see it. */
export interface Guest {
  /** CID of the module, for messages. */
  moduleCid: string
  /** The function name the task gave. */
  func: string
  /** The export it resolved to (a function, with its original signature). */
  exported: ExportSummary & { type: NonNullable<ExportSummary['type']> }
  /** The metered instance: every call into the guest goes through it. */
  run: MeteredInstance
  /** The guest's exported memory, if any (read `.buffer` afresh after each call: it may have grown). */
  memory: WebAssembly.Memory | undefined
}

/**
 * Calls the guest's allocator `allocExport(len) -> ptr` and copies `bytes`
 * there; throws `ArgumentError` when the pointer is outside memory.
 */
export function writeToGuest (guest: Guest, allocExport: string, bytes: Uint8Array, what: string): number {
  const ptr = Number(guest.run.call(allocExport, bytes.byteLength)) >>> 0
  const buffer = guest.memory?.buffer
  if (buffer === undefined || ptr + bytes.byteLength > buffer.byteLength) {
    throw new TaskError('ArgumentError', `${allocExport}(${bytes.byteLength}) returned ${ptr}, outside the module's memory, for ${what}`, { func: guest.func })
  }
  new Uint8Array(buffer, ptr, bytes.byteLength).set(bytes)
  return ptr
}
