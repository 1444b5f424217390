/**
 * The only host functions a guest may import, all deterministic: module
 * `ipvm`, functions
 *
 * - `now_ms() -> i64`: a virtual clock. It starts at 2020-01-01T00:00:00Z and
 *   advances one millisecond per million fuel used, so it is monotonic and the
 *   same on every machine.
 * - `random_fill(ptr: i32, len: i32)`: fills guest memory with bytes of a
 *   stream seeded by the instruction CID (SHA-256 of seed ‖ counter), so the
 *   same instruction draws the same numbers everywhere and different
 *   instructions (e.g. other nonces) draw different ones.
 * - `log(ptr: i32, len: i32)`: appends a UTF-8 message to the task's log,
 *   which goes into the receipt's `meta.log` (at most {@link MAX_LOG_BYTES}).
 */
import { createHash } from 'node:crypto'
import { TaskError } from '../errors.js'

/** The import names the sandbox allows. */
export const HOST_IMPORTS: ReadonlySet<string> = new Set(['ipvm.now_ms', 'ipvm.random_fill', 'ipvm.log'])

/** The virtual clock's epoch: 2020-01-01T00:00:00Z, in ms. */
export const VIRTUAL_EPOCH_MS = 1_577_836_800_000n

/** Fuel per virtual millisecond. */
export const FUEL_PER_VIRTUAL_MS = 1_000_000n

/** Most log bytes kept per task; the rest is dropped and the drop is noted. */
export const MAX_LOG_BYTES = 64 * 1024

/** What the host functions need from the running instance. */
export interface HostContext {
  /** The guest's memory, once instantiated. */
  memory: () => WebAssembly.Memory | undefined
  /** Fuel used so far. */
  fuelUsed: () => bigint
  /** Seed of the random stream: the instruction CID's bytes. */
  seed: Uint8Array
}

/** The import object and the log it collects. */
export interface HostFunctions {
  imports: WebAssembly.Imports
  log: string[]
  /** Fills `out` from the task's seeded random stream (the one `random_fill` draws from; WASI's `random_get` shares it). */
  randomFill: (out: Uint8Array) => void
  /** The virtual clock in nanoseconds since the Unix epoch: one nanosecond per unit of fuel, so `now_ms` is this ÷ 10^6. */
  nowNs: () => bigint
}

/** The virtual clock's epoch in ns. */
export const VIRTUAL_EPOCH_NS = VIRTUAL_EPOCH_MS * 1_000_000n

/** Fuel per virtual nanosecond: 1, so the ns clock and the ms clock agree. */
const FUEL_PER_VIRTUAL_NS = FUEL_PER_VIRTUAL_MS / 1_000_000n

function view (context: HostContext, ptr: number, len: number, what: string): Uint8Array {
  const memory = context.memory()
  const start = ptr >>> 0
  const length = len >>> 0
  if (memory === undefined) throw new TaskError('Trap', `${what}: the module exports no memory`)
  if (start + length > memory.buffer.byteLength) throw new TaskError('Trap', `${what}: bytes ${start}..${start + length} are outside the guest's memory`)
  return new Uint8Array(memory.buffer, start, length)
}

/** Builds the host functions for one task. */
export function hostFunctions (context: HostContext): HostFunctions {
  const log: string[] = []
  let logBytes = 0
  let counter = 0
  let pool = new Uint8Array(0)
  const decoder = new TextDecoder()

  const nextRandom = (out: Uint8Array): void => {
    let filled = 0
    while (filled < out.byteLength) {
      if (pool.byteLength === 0) {
        const block = new Uint8Array(4)
        new DataView(block.buffer).setUint32(0, counter++)
        pool = createHash('sha256').update(context.seed).update(block).digest()
      }
      const take = Math.min(pool.byteLength, out.byteLength - filled)
      out.set(pool.subarray(0, take), filled)
      pool = pool.subarray(take)
      filled += take
    }
  }

  const imports: WebAssembly.Imports = {
    ipvm: {
      now_ms: (): bigint => VIRTUAL_EPOCH_MS + context.fuelUsed() / FUEL_PER_VIRTUAL_MS,
      random_fill: (ptr: number, len: number): void => { nextRandom(view(context, ptr, len, 'random_fill')) },
      log: (ptr: number, len: number): void => {
        if (logBytes >= MAX_LOG_BYTES) return
        const bytes = view(context, ptr, len, 'log')
        const room = MAX_LOG_BYTES - logBytes
        const kept = bytes.byteLength > room ? bytes.subarray(0, room) : bytes
        logBytes += kept.byteLength
        log.push(decoder.decode(kept) + (kept.byteLength < bytes.byteLength ? ' [log truncated]' : ''))
      }
    }
  }
  const nowNs = (): bigint => VIRTUAL_EPOCH_NS + context.fuelUsed() / FUEL_PER_VIRTUAL_NS
  return { imports, log, randomFill: nextRandom, nowNs }
}
