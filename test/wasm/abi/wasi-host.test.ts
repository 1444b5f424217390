import test from 'node:test'
import assert from 'node:assert/strict'
import { wasiHost, ProcExit, Errno, WASI_FUNCTIONS } from '../../../src/wasm/wasi.js'

function host (init: Partial<Parameters<typeof wasiHost>[0]> = {}): { wasi: ReturnType<typeof wasiHost>, memory: WebAssembly.Memory, fn: (name: string) => (...args: unknown[]) => unknown } {
  const memory = new WebAssembly.Memory({ initial: 1 })
  const wasi = wasiHost({ argv: ['prog'], env: {}, stdin: new Uint8Array(0), maxStdoutBytes: 64, maxStderrBytes: 8, ...init }, {
    memory: () => memory, nowNs: () => 5n, elapsedNs: () => 1n, randomFill: out => out.fill(9)
  })
  const table = wasi.imports.wasi_snapshot_preview1 as Record<string, (...args: unknown[]) => unknown>
  return { wasi, memory, fn: name => table[name] as (...args: unknown[]) => unknown }
}

test('every preview 1 function is provided', () => {
  const { fn } = host()
  assert.equal(WASI_FUNCTIONS.length, 46)
  for (const name of WASI_FUNCTIONS) assert.equal(typeof fn(name), 'function', name)
})

test('environ is written in sorted key order, NUL-terminated', () => {
  const { fn, memory } = host({ env: { ZED: 'z', ALPHA: 'a' } })
  assert.equal(fn('environ_sizes_get')(0, 4), Errno.success)
  const view = new DataView(memory.buffer)
  assert.equal(view.getUint32(0, true), 2)
  assert.equal(fn('environ_get')(100, 200), Errno.success)
  assert.equal(new TextDecoder().decode(new Uint8Array(memory.buffer, 200, view.getUint32(4, true))), 'ALPHA=a\0ZED=z\0')
  assert.equal(view.getUint32(104, true), 200 + 'ALPHA=a\0'.length)
})

test('stderr keeps its first bytes and notes the drop; bad pointers are EFAULT; proc_exit unwinds', () => {
  const { fn, memory, wasi } = host()
  new Uint8Array(memory.buffer).set(new TextEncoder().encode('0123456789'), 64)
  const view = new DataView(memory.buffer)
  view.setUint32(0, 64, true)
  view.setUint32(4, 10, true)
  assert.equal(fn('fd_write')(2, 0, 1, 16), Errno.success)
  assert.equal(wasi.stderr(), '01234567 [stderr truncated]')
  view.setUint32(0, 65530, true)
  assert.equal(fn('fd_write')(1, 0, 1, 16), Errno.fault)
  assert.equal(fn('args_get')(65535, 0), Errno.fault)
  assert.throws(() => fn('proc_exit')(7), (err: unknown) => err instanceof ProcExit && err.code === 7)
})
