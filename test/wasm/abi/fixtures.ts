/**
 * Helpers of the ABI tests: compiling the AssemblyScript examples, and a pool
 * call that returns the whole outcome.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { cidOf, codecs } from '../../../src/model/block.js'
import type { WasmPool, WasmOutcome } from '../../../src/wasm/pool.js'
import type { WasmArgument } from '../../../src/wasm/abi.js'

const root = fileURLToPath(new URL('../../../../', import.meta.url))

/** Compiles `examples/src/NAME.ts` with the installed `asc`; `extra` are more asc options. */
export async function compileAssemblyScript (name: string, extra: string[]): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'ipvm-asc-'))
  try {
    const out = join(dir, `${name}.wasm`)
    await promisify(execFile)(process.execPath, [join(root, 'node_modules/assemblyscript/bin/asc.js'), join('examples/src', `${name}.ts`), '-O3', '--runtime', 'stub', '-o', out, ...extra], { cwd: root })
    return new Uint8Array(await readFile(out))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Options that make asc emit a WASI command. */
export const WASI_SHIM = ['--config', './node_modules/@assemblyscript/wasi-shim/asconfig.json']

/** Limits of every call. */
export const limits = { fuel: 1_000_000_000n, memoryBytes: 16 * 1024 * 1024, seed: new Uint8Array(32) }

/** Runs `func` of `bytes` in `pool`. */
export async function call (pool: WasmPool, bytes: Uint8Array, func: string, args: WasmArgument[], seed = limits.seed): Promise<WasmOutcome> {
  return await pool.run({ moduleCid: cidOf(bytes, codecs.raw), loadModule: async () => bytes, func, args, timeoutMs: 10_000, ...limits, seed })
}

/** The `ok` value, or fails showing the error. */
export function okOf (outcome: WasmOutcome): unknown {
  if ('error' in outcome) throw new Error(`expected ok, got ${outcome.error.name}: ${outcome.error.message}`)
  return outcome.ok
}

/** The error, or undefined. */
export function errorOf (outcome: WasmOutcome): { name: string, message: string, [key: string]: unknown } | undefined {
  return 'error' in outcome ? outcome.error : undefined
}
