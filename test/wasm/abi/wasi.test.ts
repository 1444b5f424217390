import test from 'node:test'
import assert from 'node:assert/strict'
import { WasmPool } from '../../../src/wasm/pool.js'
import { wasiInvocation } from '../../../src/wasm/abi/index.js'
import { Errno } from '../../../src/wasm/wasi.js'
import { wat } from '../../helpers.js'
import { call, compileAssemblyScript, errorOf, okOf, WASI_SHIM } from './fixtures.js'

const pool = new WasmPool({ threads: 2 })
test.after(async () => { await pool.stop() })

const text = (value: unknown): string => {
  assert.ok(value instanceof Uint8Array, 'stdout is bytes')
  return new TextDecoder().decode(value)
}

const IMPORTS = `
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; write(fd, ptr, len): one iovec at 0
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))`

/** Commands in WAT, one per export (each a `_start`-like `() -> ()`; `_start` itself uppercases stdin). */
const commands = await wat(`(module ${IMPORTS}
  (data (i32.const 32) "failing\\n")
  ;; cat | uppercase, reading 7 bytes at a time
  (func (export "_start") (local $n i32) (local $i i32) (local $c i32)
    (loop $more
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 7))
      (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $n (i32.load (i32.const 8)))
      (if (local.get $n) (then
        (local.set $i (i32.const 0))
        (block $done (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $c (i32.load8_u (i32.add (i32.const 1024) (local.get $i))))
          (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
            (then (i32.store8 (i32.add (i32.const 1024) (local.get $i)) (i32.sub (local.get $c) (i32.const 32)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))
        (call $write (i32.const 1) (i32.const 1024) (local.get $n))
        (br $more)))))
  ;; argv, NUL-separated, to stdout
  (func (export "args")
    (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (drop (call $args_get (i32.const 2048) (i32.const 4096)))
    (call $write (i32.const 1) (i32.const 4096) (i32.load (i32.const 20))))
  (func (export "exit3")
    (call $write (i32.const 2) (i32.const 32) (i32.const 8))
    (call $proc_exit (i32.const 3))
    unreachable)
  (func (export "exit0") (call $write (i32.const 1) (i32.const 32) (i32.const 4)) (call $proc_exit (i32.const 0)) unreachable)
  ;; 8 bytes of realtime clock, then 16 random bytes
  (func (export "time_and_random")
    (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 1024)))
    (drop (call $random_get (i32.const 1032) (i32.const 16)))
    (call $write (i32.const 1) (i32.const 1024) (i32.const 24)))
  ;; the errnos of calls that have no filesystem or network behind them, as bytes
  (func (export "errnos")
    (i32.store8 (i32.const 1024) (call $fd_prestat_get (i32.const 3) (i32.const 512)))
    (i32.store8 (i32.const 1025) (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 512)))
    (i32.store8 (i32.const 1026) (call $poll_oneoff (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 512)))
    (i32.store8 (i32.const 1027) (call $fd_seek (i32.const 1) (i64.const 0) (i32.const 0) (i32.const 512)))
    (i32.store8 (i32.const 1028) (call $fd_write (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 512)))
    (i32.store8 (i32.const 1029) (call $random_get (i32.const 65530) (i32.const 100)))
    (call $write (i32.const 1) (i32.const 1024) (i32.const 6)))
  ;; 64 KiB to stdout, forever
  (func (export "flood") (loop $l (call $write (i32.const 1) (i32.const 0) (i32.const 65536)) (br $l)))
  (func (export "numeric") (param i32) (result i32) local.get 0))`)

test('stdin to stdout: a "cat | uppercase" command in WAT', async () => {
  assert.equal(text(okOf(await call(pool, commands, '_start', [{ stdin: 'hello, wasi world!' }]))), 'HELLO, WASI WORLD!')
  assert.equal(text(okOf(await call(pool, commands, '_start', [{ stdin: new Uint8Array([0x61, 0xff, 0x7a]) }]))), 'A\uFFFDZ')
  assert.equal(text(okOf(await call(pool, commands, '_start', []))), '', 'no stdin is an empty stdin')
})

test('argv: argv[0] is the module CID, then the task\'s strings', async () => {
  const plain = text(okOf(await call(pool, commands, 'args', ['one', 'two words']))).split('\0')
  assert.match(plain[0] ?? '', /^bafk/)
  assert.deepEqual(plain.slice(1), ['one', 'two words', ''])
  const mapped = text(okOf(await call(pool, commands, 'args', [{ args: ['x'] }]))).split('\0')
  assert.deepEqual(mapped.slice(1), ['x', ''])
})

test('proc_exit: a non-zero code is an ExitCode error with the code; stderr is captured; exit 0 is success', async () => {
  const failed = await call(pool, commands, 'exit3', [])
  assert.equal(errorOf(failed)?.name, 'ExitCode')
  assert.equal(errorOf(failed)?.code, 3)
  assert.ok(failed.fuel !== null && failed.fuel > 0n && failed.fuel < 1_000_000n, `fuel up to the exit is exact: ${failed.fuel}`)
  assert.equal(text(okOf(await call(pool, commands, 'exit0', []))), 'fail')
})

test('clock and random are deterministic; random follows the seed', async () => {
  const first = okOf(await call(pool, commands, 'time_and_random', [])) as Uint8Array
  const second = okOf(await call(pool, commands, 'time_and_random', [])) as Uint8Array
  assert.deepEqual(first, second)
  const clock = new DataView(first.buffer, first.byteOffset).getBigUint64(0, true)
  assert.ok(clock >= 1_577_836_800_000_000_000n && clock < 1_577_836_801_000_000_000n, `virtual realtime clock ${clock}`)
  const other = okOf(await call(pool, commands, 'time_and_random', [], new Uint8Array(32).fill(7))) as Uint8Array
  assert.deepEqual(other.subarray(0, 8), first.subarray(0, 8), 'same clock')
  assert.notDeepEqual(other.subarray(8), first.subarray(8), 'another seed, other random bytes')
})

test('no filesystem, network or extra descriptors: EBADF, ENOSYS, ESPIPE, EFAULT', async () => {
  assert.deepEqual([...okOf(await call(pool, commands, 'errnos', [])) as Uint8Array], [Errno.badf, Errno.badf, Errno.nosys, Errno.spipe, Errno.badf, Errno.fault])
})

test('stdout is bounded; entry points must be () -> (); task input shapes are checked', async () => {
  const flood = errorOf(await call(pool, commands, 'flood', []))
  assert.equal(flood?.name, 'LimitExceeded')
  assert.match(flood?.message ?? '', /stdout/)
  assert.equal(errorOf(await call(pool, commands, 'numeric', [1]))?.name, 'UnsupportedAbi')
  for (const args of [[1], [{ argv: ['x'] }], [{ env: { A: 1 } }], [{ stdin: 5 }], [{ args: 'x' }], [{}, {}]]) {
    assert.equal(errorOf(await call(pool, commands, '_start', args as never))?.name, 'ArgumentError', JSON.stringify(args))
  }
  assert.deepEqual(wasiInvocation('cid', '_start', [{ env: { B: '2', A: '1' }, stdin: 'in' }]).env, { B: '2', A: '1' })
})

test('AssemblyScript WASI command (wasi-shim): stdin, argv, env, random, clock and exit codes', async () => {
  const tool = await compileAssemblyScript('wasi-tool', WASI_SHIM)
  assert.equal(text(okOf(await call(pool, tool, '_start', [{ args: ['upper'], stdin: 'make me loud' }]))), 'MAKE ME LOUD')
  assert.equal(text(okOf(await call(pool, tool, '_start', ['args', 'a', 'b']))), 'args a b\n')
  assert.equal(text(okOf(await call(pool, tool, '_start', [{ args: ['env'], env: { ZED: 'last', ALPHA: 'first' } }]))), 'ALPHA=first\nZED=last\n')
  const random = text(okOf(await call(pool, tool, '_start', ['random'])))
  assert.match(random, /^[0-9a-f]{16}\n$/)
  assert.equal(text(okOf(await call(pool, tool, '_start', ['random']))), random, 'same seed, same output')
  assert.notEqual(text(okOf(await call(pool, tool, '_start', ['random'], new Uint8Array(32).fill(1)))), random, 'another seed, another output')
  const time = text(okOf(await call(pool, tool, '_start', ['time'])))
  assert.ok(Number(time) >= 1_577_836_800_000 && Number(time) < 1_577_836_801_000, `Date.now() is the virtual clock: ${time}`)
  const exit = await call(pool, tool, '_start', ['exit', '3'])
  assert.equal(errorOf(exit)?.name, 'ExitCode')
  assert.equal(errorOf(exit)?.code, 3)
})

test('the worker reports the ABI, the exit code and stderr beside the outcome', async () => {
  const { default: run } = await import('../../../src/wasm/worker.js')
  const request = { moduleCid: 'bafk-test-commands', moduleBytes: commands, args: [], fuel: 1_000_000n, memoryPages: 16, seed: new Uint8Array(32) }
  const failed = await run({ ...request, func: 'exit3' })
  assert.equal(failed.status, 'error')
  assert.ok(failed.status === 'error')
  assert.equal(failed.error.name, 'ExitCode')
  assert.equal(failed.exitCode, 3)
  assert.equal(failed.stderr, 'failing\n')
  assert.equal(failed.abi, 'wasi')
  const ok = await run({ ...request, func: 'exit0' })
  assert.ok(ok.status === 'ok')
  assert.equal(ok.exitCode, 0)
  assert.equal(ok.stderr, '')
  const core = await run({ ...request, moduleCid: 'bafk-test-core', moduleBytes: await wat('(module (func (export "seven") (result i32) i32.const 7))'), func: 'seven' })
  assert.ok(core.status === 'ok')
  assert.equal(core.value, 7)
  assert.equal(core.abi, 'core')
  assert.equal(core.stderr, undefined)
})
