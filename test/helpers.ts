/**
 * Shared test helpers: WAT compilation, temp directories, workflow builders.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as dagJson from '@ipld/dag-json'
import wabtInit from 'wabt'
import { cidOf, codecs } from '../src/model/block.js'
import type { CID } from 'multiformats/cid'
import type { Blocks } from '../src/store/interface.js'

let wabt: Awaited<ReturnType<typeof wabtInit>> | undefined

/** Compiles WebAssembly text to a binary module. */
export async function wat (text: string): Promise<Uint8Array> {
  wabt ??= await wabtInit()
  const module = wabt.parseWat('test.wat', text, { multi_value: true })
  try {
    module.resolveNames()
    module.validate()
    return new Uint8Array(module.toBinary({}).buffer)
  } finally {
    module.destroy()
  }
}

/** Stores a module as one raw block (its CID is what `ipvm add` gives for small files). */
export async function putModule (blocks: Blocks, bytes: Uint8Array): Promise<CID> {
  const cid = cidOf(bytes, codecs.raw)
  await blocks.put(cid, bytes)
  return cid
}

/** A fresh temporary directory, removed when the test ends. */
export async function tempDir (t: { after: (fn: () => Promise<void>) => void }, prefix = 'ipvm-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

/** A workflow task in Homestar's format. */
export function task (module: CID, func: string, args: unknown[], extra: { nnc?: string, time?: number, fuel?: number } = {}): Record<string, unknown> {
  const meta: Record<string, unknown> = {}
  if (extra.time !== undefined) meta.time = extra.time
  if (extra.fuel !== undefined) meta.fuel = extra.fuel
  return { run: { rsc: `ipfs://${module}`, op: 'wasm/run', input: { func, args }, nnc: extra.nnc ?? '' }, meta, prf: [] }
}

/** Encodes a workflow (which may hold CIDs) as DAG-JSON file bytes. */
export function workflowFile (tasks: unknown[], extra: Record<string, unknown> = {}): Uint8Array {
  return dagJson.encode({ tasks, ...extra })
}

/** A module with arithmetic, traps, loops and a bytes ABI, used across tests. */
export const MATH_WAT = `(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "alloc") (param $len i32) (result i32)
    (local $ptr i32)
    global.get $heap
    local.set $ptr
    global.get $heap
    local.get $len
    i32.add
    global.set $heap
    local.get $ptr)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "mul") (param i32 i32) (result i32) local.get 0 local.get 1 i32.mul)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "add-one") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
  (func (export "half") (param f64) (result f64) local.get 0 f64.const 0.5 f64.mul)
  (func (export "nan") (result f64) f64.const 0 f64.const 0 f64.div)
  (func (export "pair") (param i32) (result i32 i32) local.get 0 local.get 0 i32.const 1 i32.add)
  (func (export "nothing"))
  (func (export "fail") (result i32) unreachable)
  (func (export "spin") (result i32) (loop $l br $l) i32.const 0)
  (func $deep (export "deep") (param i32) (result i32) local.get 0 i32.const 1 i32.add call $deep)
  (func (export "sum") (param $ptr i32) (param $len i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $next
        local.get $len
        i32.eqz
        br_if $done
        local.get $acc
        local.get $ptr
        i32.load8_u
        i32.add
        local.set $acc
        local.get $ptr
        i32.const 1
        i32.add
        local.set $ptr
        local.get $len
        i32.const 1
        i32.sub
        local.set $len
        br $next))
    local.get $acc)
  (global (export "counter") i32 (i32.const 7))
)`
