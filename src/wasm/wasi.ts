/**
 * A deterministic WASI preview 1 host for commands (`_start`), with no
 * filesystem and no network:
 *
 * - `args_get`/`args_sizes_get`, `environ_get`/`environ_sizes_get`: from the
 *   task's input (env in sorted key order);
 * - `fd_read(0)`: the task's stdin bytes, then end of file;
 * - `fd_write(1)`: stdout, which becomes the task's result (at most
 *   `maxStdoutBytes`, more is a `LimitExceeded` error); `fd_write(2)`: stderr,
 *   captured for the receipt's meta (at most `maxStderrBytes`, the rest is
 *   dropped and the drop noted);
 * - `clock_time_get`/`clock_res_get`: the virtual clock of `host-functions.ts`
 *   (realtime from 2020-01-01, monotonic and CPU-time clocks from 0, one
 *   nanosecond per unit of fuel), resolution 1 ns;
 * - `random_get`: the stream seeded by the instruction CID;
 * - `proc_exit(code)`: stops the guest; the code is the task's exit code;
 * - `fd_close`, `fd_fdstat_get`, `fd_seek` (ESPIPE) on 0–2; `sched_yield`;
 * - every other preview 1 function returns `EBADF` when it names a
 *   descriptor (no descriptor beyond 0–2 exists, so `fd_prestat_get(3)`
 *   tells libc there are no preopened directories) and `ENOSYS` otherwise.
 *
 * Pointers the guest passes are bounds-checked (`EFAULT`). Nothing here
 * reads the real clock, randomness, environment or files.
 */
import { TaskError } from '../errors.js'
import { WASI_MODULE } from './abi/constants.js'

/** WASI errno values used here. */
export const Errno = { success: 0, badf: 8, fault: 21, inval: 28, nosys: 52, spipe: 70 } as const

/** Every function of `wasi_snapshot_preview1`. */
export const WASI_FUNCTIONS: readonly string[] = [
  'args_get', 'args_sizes_get', 'environ_get', 'environ_sizes_get', 'clock_res_get', 'clock_time_get',
  'fd_advise', 'fd_allocate', 'fd_close', 'fd_datasync', 'fd_fdstat_get', 'fd_fdstat_set_flags',
  'fd_fdstat_set_rights', 'fd_filestat_get', 'fd_filestat_set_size', 'fd_filestat_set_times', 'fd_pread',
  'fd_prestat_get', 'fd_prestat_dir_name', 'fd_pwrite', 'fd_read', 'fd_readdir', 'fd_renumber', 'fd_seek',
  'fd_sync', 'fd_tell', 'fd_write', 'path_create_directory', 'path_filestat_get', 'path_filestat_set_times',
  'path_link', 'path_open', 'path_readlink', 'path_remove_directory', 'path_rename', 'path_symlink',
  'path_unlink_file', 'poll_oneoff', 'proc_exit', 'proc_raise', 'sched_yield', 'random_get',
  'sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown'
]

/** The WASI imports the sandbox allows, as `module.name` (for WASI commands only; see `abi/select.ts`). */
export const WASI_IMPORTS: ReadonlySet<string> = new Set(WASI_FUNCTIONS.map(name => `${WASI_MODULE}.${name}`))

/** Thrown by `proc_exit` to unwind the guest; the runner turns it into the exit code. */
export class ProcExit extends Error {
  override name = 'ProcExit'
  readonly code: number
  constructor (code: number) {
    super(`the guest exited with code ${code}`)
    this.code = code
  }
}

/** What a command is given. */
export interface WasiInit {
  /** `argv`, including `argv[0]`. */
  argv: string[]
  /** Environment variables. */
  env: Record<string, string>
  /** Bytes read from fd 0. */
  stdin: Uint8Array
  /** Most stdout bytes. */
  maxStdoutBytes: number
  /** Most stderr bytes kept. */
  maxStderrBytes: number
}

/** What the host functions need from the running instance. */
export interface WasiContext {
  memory: () => WebAssembly.Memory | undefined
  /** The virtual clock, ns since the Unix epoch. */
  nowNs: () => bigint
  /** Virtual ns since the task started (monotonic and CPU-time clocks). */
  elapsedNs: () => bigint
  /** The seeded random stream. */
  randomFill: (out: Uint8Array) => void
}

/** The import object, and what the command wrote. */
export interface WasiHost {
  imports: WebAssembly.Imports
  stdout: () => Uint8Array
  stderr: () => string
}

class Fault extends Error {}

/** Concatenates chunks. */
function concat (chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total)
  let at = 0
  for (const chunk of chunks) { out.set(chunk, at); at += chunk.byteLength }
  return out
}

const encoder = new TextEncoder()

/** Builds the WASI preview 1 host of one task. */
export function wasiHost (init: WasiInit, context: WasiContext): WasiHost {
  const argv = init.argv.map(arg => encoder.encode(`${arg}\0`))
  const env = Object.keys(init.env).sort().map(key => encoder.encode(`${key}=${init.env[key] ?? ''}\0`))
  let stdinAt = 0
  const stdout: Uint8Array[] = []
  let stdoutBytes = 0
  const stderr: Uint8Array[] = []
  let stderrBytes = 0
  let stderrDropped = false

  const mem = (): DataView => {
    const memory = context.memory()
    if (memory === undefined) throw new Fault()
    return new DataView(memory.buffer)
  }
  const check = (view: DataView, ptr: number, len: number): void => {
    if (ptr + len > view.byteLength) throw new Fault()
  }
  const bytes = (view: DataView, ptr: number, len: number): Uint8Array => {
    check(view, ptr, len)
    return new Uint8Array(view.buffer, ptr, len)
  }
  /** Runs a WASI function body, mapping a bad pointer to EFAULT. Pointers and lengths are u32. */
  const guarded = (fn: (view: DataView) => number): number => {
    try {
      return fn(mem())
    } catch (err) {
      if (err instanceof Fault || err instanceof RangeError) return Errno.fault
      throw err
    }
  }
  const iovecs = (view: DataView, iovs: number, count: number): Array<[number, number]> => {
    check(view, iovs >>> 0, (count >>> 0) * 8)
    const list: Array<[number, number]> = []
    for (let i = 0; i < count >>> 0; i++) list.push([view.getUint32((iovs >>> 0) + i * 8, true), view.getUint32((iovs >>> 0) + i * 8 + 4, true)])
    return list
  }
  const strings = (list: Uint8Array[]) => ({
    sizes: (countPtr: number, sizePtr: number): number => guarded(view => {
      check(view, countPtr >>> 0, 4); check(view, sizePtr >>> 0, 4)
      view.setUint32(countPtr >>> 0, list.length, true)
      view.setUint32(sizePtr >>> 0, list.reduce((sum, s) => sum + s.byteLength, 0), true)
      return Errno.success
    }),
    get: (pointersPtr: number, bufferPtr: number): number => guarded(view => {
      let at = bufferPtr >>> 0
      check(view, pointersPtr >>> 0, list.length * 4)
      list.forEach((s, i) => {
        bytes(view, at, s.byteLength).set(s)
        view.setUint32((pointersPtr >>> 0) + i * 4, at, true)
        at += s.byteLength
      })
      return Errno.success
    })
  })
  const args = strings(argv)
  const environ = strings(env)

  const write = (fd: number, data: Uint8Array): void => {
    if (fd === 1) {
      if (stdoutBytes + data.byteLength > init.maxStdoutBytes) {
        throw new TaskError('LimitExceeded', `the command wrote more than ${init.maxStdoutBytes} bytes to stdout`, { limit: 'stdout', max: init.maxStdoutBytes })
      }
      stdout.push(data.slice())
      stdoutBytes += data.byteLength
      return
    }
    const room = init.maxStderrBytes - stderrBytes
    if (data.byteLength > room) stderrDropped = true
    const kept = data.subarray(0, Math.max(0, room))
    if (kept.byteLength > 0) { stderr.push(kept.slice()); stderrBytes += kept.byteLength }
  }

  const functions: Record<string, (...args: any[]) => number | undefined> = {}
  for (const name of WASI_FUNCTIONS) {
    // Functions whose first parameter is a descriptor: none exists beyond stdio.
    const takesFd = name.startsWith('fd_') || name.startsWith('path_') || name.startsWith('sock_')
    functions[name] = takesFd ? (fd: number) => (fd >>> 0) > 2 ? Errno.badf : Errno.nosys : () => Errno.nosys
  }
  Object.assign(functions, {
    args_sizes_get: args.sizes,
    args_get: args.get,
    environ_sizes_get: environ.sizes,
    environ_get: environ.get,
    fd_write: (fd: number, iovs: number, count: number, writtenPtr: number): number => guarded(view => {
      if (fd !== 1 && fd !== 2) return Errno.badf
      check(view, writtenPtr >>> 0, 4)
      let written = 0
      for (const [ptr, len] of iovecs(view, iovs, count)) {
        write(fd, bytes(view, ptr, len))
        written += len
      }
      view.setUint32(writtenPtr >>> 0, written, true)
      return Errno.success
    }),
    fd_read: (fd: number, iovs: number, count: number, readPtr: number): number => guarded(view => {
      if (fd !== 0) return (fd >>> 0) > 2 ? Errno.badf : Errno.inval
      check(view, readPtr >>> 0, 4)
      let read = 0
      for (const [ptr, len] of iovecs(view, iovs, count)) {
        const take = Math.min(len, init.stdin.byteLength - stdinAt)
        bytes(view, ptr, take).set(init.stdin.subarray(stdinAt, stdinAt + take))
        stdinAt += take
        read += take
        if (take < len) break
      }
      view.setUint32(readPtr >>> 0, read, true)
      return Errno.success
    }),
    fd_close: (fd: number): number => (fd >>> 0) > 2 ? Errno.badf : Errno.success,
    fd_seek: (fd: number): number => (fd >>> 0) > 2 ? Errno.badf : Errno.spipe,
    fd_fdstat_get: (fd: number, ptr: number): number => guarded(view => {
      if ((fd >>> 0) > 2) return Errno.badf
      bytes(view, ptr >>> 0, 24).fill(0)
      view.setUint8(ptr >>> 0, 2) // filetype: character_device
      // rights: fd_read (bit 1) for stdin, fd_write (bit 6) for stdout and stderr
      view.setBigUint64((ptr >>> 0) + 8, fd === 0 ? 1n << 1n : 1n << 6n, true)
      return Errno.success
    }),
    fd_prestat_get: (): number => Errno.badf,
    fd_prestat_dir_name: (): number => Errno.badf,
    clock_res_get: (id: number, resultPtr: number): number => guarded(view => {
      if (id > 3) return Errno.inval
      check(view, resultPtr >>> 0, 8)
      view.setBigUint64(resultPtr >>> 0, 1n, true)
      return Errno.success
    }),
    clock_time_get: (id: number, _precision: bigint, resultPtr: number): number => guarded(view => {
      if (id > 3) return Errno.inval
      check(view, resultPtr >>> 0, 8)
      view.setBigUint64(resultPtr >>> 0, id === 0 ? context.nowNs() : context.elapsedNs(), true)
      return Errno.success
    }),
    random_get: (ptr: number, len: number): number => guarded(view => {
      context.randomFill(bytes(view, ptr >>> 0, len >>> 0))
      return Errno.success
    }),
    sched_yield: (): number => Errno.success,
    proc_exit: (code: number): never => { throw new ProcExit(code >>> 0) }
  })

  return {
    imports: { [WASI_MODULE]: functions },
    stdout: () => concat(stdout, stdoutBytes),
    stderr: () => new TextDecoder().decode(concat(stderr, stderrBytes)) + (stderrDropped ? ' [stderr truncated]' : '')
  }
}
