/**
 * The cost of crossing into a guest and back, per call, for each ABI, with
 * inputs of 1 KiB, 64 KiB and 1 MiB of bytes, against a plain memory copy of
 * the same bytes (host → guest memory → host). The guests do nothing but hand
 * the bytes back (or their length), so what is measured is the crossing:
 *
 * - core: bytes through `alloc` + `(ptr, len)`, a number back (one copy in;
 *   compared with one plain copy in);
 * - ipld: the args list as DAG-CBOR through `ipvm_alloc`, DAG-CBOR back;
 * - wasi: stdin → stdout through `fd_read`/`fd_write` (a command is one-shot,
 *   so this includes instantiating it; the instantiation alone is reported);
 * - component: `echo: func(data: list<u8>) -> list<u8>` through jco's
 *   bindings, the IPLD ↔ WIT conversion included.
 *
 * Every guest is instrumented (as in the worker) and reused between calls
 * except the WASI command. Target: crossing ≤ 2× a plain copy.
 */
import '../../src/polyfill.js'
import wabtInit from 'wabt'
import { componentEmbed, componentNew, parse } from '@bytecodealliance/jco'
import { instrument, MeteredInstance, MAX_FUEL } from '../../src/wasm/meter/index.js'
import { findExport } from '../../src/wasm/abi.js'
import { callCore, callIpld, runCommand, wasiInvocation } from '../../src/wasm/abi/index.js'
import { wasiHost } from '../../src/wasm/wasi.js'
import { prepareComponent, instantiateComponent } from '../../src/wasm/abi/component.js'
import { machine, median, target, round } from '../lib.js'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { memoryRepo } from '../../src/store/memory-repo.js'
import { addFile } from '../../src/store/unixfs.js'
import { LocalExecutor } from '../../src/executor/local.js'
import { loadWorkflow } from '../../src/workflow/plan.js'
import { runWorkflow } from '../../src/workflow/run.js'
import type { BenchmarkResult } from '../lib.js'
import type { Guest } from '../../src/wasm/abi/index.js'
import type { WasmResult } from '../../src/wasm/abi.js'

const SIZES = [1024, 64 * 1024, 1024 * 1024]
const MEMORY_PAGES = 256
/** Bytes moved per timed batch: small inputs are called many times per sample. */
const BATCH_BYTES = 8 * 1024 * 1024
const SAMPLES = 15

/** An allocator that always hands out the same region at 64 KiB, growing memory to fit: calls never accumulate memory. */
const FIXED_ALLOC = `(func $alloc (param $n i32) (result i32)
    (local $need i32)
    i32.const 65536 local.get $n i32.add i32.const 65535 i32.add i32.const 16 i32.shr_u
    memory.size i32.sub local.tee $need
    i32.const 0 i32.gt_s
    if local.get $need memory.grow i32.const -1 i32.eq if unreachable end end
    i32.const 65536)`

const CORE_WAT = `(module (memory (export "memory") 2) ${FIXED_ALLOC}
  (export "alloc" (func $alloc))
  (func (export "length") (param i32 i32) (result i32) local.get 1))`

const IPLD_WAT = `(module (memory (export "memory") 2) ${FIXED_ALLOC}
  (export "ipvm_alloc" (func $alloc))
  (func (export "echo") (param $p i32) (param $n i32) (result i64)
    local.get $p i64.extend_i32_u i64.const 32 i64.shl local.get $n i64.extend_i32_u i64.or))`

// cat: read stdin in 64 KiB chunks at 64 KiB, write each to stdout.
const WASI_WAT = `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start")
    (loop $more
      (i32.store (i32.const 0) (i32.const 65536))
      (i32.store (i32.const 4) (i32.const 65536))
      (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
      (if (i32.load (i32.const 16))
        (then
          (i32.store (i32.const 4) (i32.load (i32.const 16)))
          (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20)))
          (br $more)))))
)`

const COMPONENT_WIT = `package ipvm:bench;
world bench { export echo: func(data: list<u8>) -> list<u8>; }`

const COMPONENT_WAT = `(module (memory (export "memory") 2) ${FIXED_ALLOC}
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) local.get 3 call $alloc)
  (func (export "echo") (param $p i32) (param $n i32) (result i32)
    i32.const 16 local.get $p i32.store
    i32.const 20 local.get $n i32.store
    i32.const 16))`

function guestOf (bytes: Uint8Array, func: string, allowedImports: ReadonlySet<string> = new Set(), imports: (memory: () => WebAssembly.Memory | undefined) => WebAssembly.Imports = () => ({})): () => Guest {
  const instrumented = instrument(bytes, { limits: { maxMemoryPages: MEMORY_PAGES }, allowedImports })
  const module = new WebAssembly.Module(instrumented.bytes as Uint8Array<ArrayBuffer>)
  const exported = findExport(instrumented.summary, func)
  if (exported?.type === undefined) throw new Error(`no export ${func}`)
  const type = exported.type
  return () => {
    let memory: WebAssembly.Memory | undefined
    const instance = new WebAssembly.Instance(module, imports(() => memory))
    memory = instance.exports.memory as WebAssembly.Memory
    return { moduleCid: 'bench', func, exported: { ...exported, type }, run: new MeteredInstance(instance, MAX_FUEL), memory }
  }
}

/** Median ns per call of `fn` over batches moving about {@link BATCH_BYTES}. */
function timePerCall (size: number, fn: () => unknown): number {
  const calls = Math.max(4, Math.floor(BATCH_BYTES / size))
  for (let i = 0; i < calls; i++) fn()
  const samples: number[] = []
  for (let s = 0; s < SAMPLES; s++) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < calls; i++) fn()
    samples.push(Number(process.hrtime.bigint() - started) / calls)
  }
  return median(samples)
}

const sameLength = (value: WasmResult, size: number): void => {
  const length = value instanceof Uint8Array ? value.byteLength : Array.isArray(value) && value[0] instanceof Uint8Array ? value[0].byteLength : value
  if (length !== size) throw new Error(`the guest returned ${String(length)} bytes, expected ${size}`)
}

export async function run (): Promise<BenchmarkResult> {
  const wabt = await wabtInit()
  const wat = (source: string): Uint8Array => {
    const parsed = wabt.parseWat('bench.wat', source, { bulk_memory: true })
    try { return new Uint8Array(parsed.toBinary({}).buffer) } finally { parsed.destroy() }
  }
  const core = guestOf(wat(CORE_WAT), 'length')()
  const ipld = guestOf(wat(IPLD_WAT), 'echo')()
  const wasiBytes = wat(WASI_WAT)
  let wasiState: { memory?: WebAssembly.Memory, host?: ReturnType<typeof wasiHost> } = {}
  const newCommand = guestOf(wasiBytes, '_start', new Set(['wasi_snapshot_preview1.*']), () => wasiState.host?.imports ?? {})
  const component = prepareComponent(await componentNew(await componentEmbed({ binary: await parse(COMPONENT_WAT), witSource: COMPONENT_WIT, world: 'bench' })), { moduleCid: 'bench', memoryPages: MEMORY_PAGES })
  const componentInstance = instantiateComponent(component, { moduleCid: 'bench', fuel: MAX_FUEL, seed: new Uint8Array(32) })
  const plainMemory = new WebAssembly.Memory({ initial: 32 })

  const rows: Array<Record<string, number | string>> = []
  const targets = []
  for (const size of SIZES) {
    const input = new Uint8Array(size).map((_, i) => i * 31)
    const plainIn = timePerCall(size, () => new Uint8Array(plainMemory.buffer).set(input, 65536))
    const plainRoundTrip = timePerCall(size, () => {
      new Uint8Array(plainMemory.buffer).set(input, 65536)
      return new Uint8Array(plainMemory.buffer, 65536, size).slice()
    })
    const coreNs = timePerCall(size, () => sameLength(callCore(core, [input]), size))
    const ipldNs = timePerCall(size, () => sameLength(callIpld(ipld, [input]), size))
    const componentNs = timePerCall(size, () => sameLength(componentInstance.invoke('echo', [input]), size))
    const command = (): WasmResult => {
      const init = wasiInvocation('bench', '_start', [{ stdin: input }])
      wasiState = {}
      wasiState.host = wasiHost(init, { memory: () => wasiState.memory, nowNs: () => 0n, elapsedNs: () => 0n, randomFill: out => out.fill(0) })
      const guest = newCommand()
      wasiState.memory = guest.memory
      const result = runCommand(guest, wasiState.host)
      return result.stdout
    }
    const wasiNs = timePerCall(size, () => sameLength(command(), size))
    // Instantiation does not depend on the input: timed over a fixed 200 calls.
    const instantiateNs = timePerCall(BATCH_BYTES / 200, () => newCommand())
    const row = {
      bytes: size,
      plainCopyInNs: round(plainIn, 0),
      plainRoundTripNs: round(plainRoundTrip, 0),
      coreNs: round(coreNs, 0),
      ipldNs: round(ipldNs, 0),
      wasiNs: round(wasiNs, 0),
      wasiInstantiateNs: round(instantiateNs, 0),
      componentNs: round(componentNs, 0),
      coreRatio: round(coreNs / plainIn, 2),
      ipldRatio: round(ipldNs / plainRoundTrip, 2),
      wasiRatio: round((wasiNs - instantiateNs) / plainRoundTrip, 2),
      componentRatio: round(componentNs / plainRoundTrip, 2)
    }
    rows.push(row)
    const label = size >= 1024 * 1024 ? `${size / 1024 / 1024}MiB` : `${size / 1024}KiB`
    for (const abi of ['core', 'ipld', 'wasi', 'component'] as const) targets.push(target(`${abi} crossing / plain copy, ${label}`, row[`${abi}Ratio`], '<=', 2))
  }
  process.stdout.write('  bytes     plain-in  plain-rt     core     ipld     wasi (inst)        component   ratios core/ipld/wasi/component\n')
  for (const r of rows) {
    process.stdout.write(`  ${String(r.bytes).padEnd(9)} ${String(r.plainCopyInNs).padStart(8)} ${String(r.plainRoundTripNs).padStart(9)} ${String(r.coreNs).padStart(8)} ${String(r.ipldNs).padStart(8)} ${String(r.wasiNs).padStart(8)} (${String(r.wasiInstantiateNs).padStart(7)}) ${String(r.componentNs).padStart(12)}   ${r.coreRatio}/${r.ipldRatio}/${r.wasiRatio}/${r.componentRatio}\n`)
  }
  const image = await imagePipeline()
  process.stdout.write(`  image pipeline (crop → rotate90 → blur → grayscale, 64×48 PNG, a WIT component): cold ${image.coldMs} ms, warm ${image.warmMs} ms p50 (guest ${image.warmGuestMs} ms)\n`)
  return {
    name: 'abi',
    description: 'Per-call crossing cost (ns, median) of each ABI for 1 KiB, 64 KiB and 1 MiB of bytes, against a plain copy into Wasm memory (core: copy in; others: copy in and out). WASI: one-shot command, ratio after subtracting its instantiation. imagePipeline: examples/workflows/image.json end to end through the runner and a one-thread pool (cold: first run, the worker loads jco and compiles; warm: median of 5 runs with the memo off; guest: the tasks\' own worker time).',
    machine: machine(),
    date: new Date().toISOString(),
    metrics: { sizes: rows, imagePipeline: image },
    targets
  }
}

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url))

/** The image example end to end: crop → rotate90 → blur → grayscale through the runner and the pool. */
async function imagePipeline (): Promise<{ coldMs: number, warmMs: number, warmGuestMs: number, tasks: number, pngBytes: number }> {
  const repo = memoryRepo()
  await addFile(repo.blocks, `${EXAMPLES}build/image.wasm`)
  const png = await addFile(repo.blocks, `${EXAMPLES}data/image.png`)
  const plan = loadWorkflow(readFileSync(`${EXAMPLES}workflows/image.json`), 'image.json')
  const executor = new LocalExecutor(repo.blocks, { threads: 1 })
  try {
    const timed = async (): Promise<{ ms: number, guestMs: number }> => {
      const started = performance.now()
      const report = await runWorkflow(plan, { repo, executor, memo: false, concurrency: 1 })
      if (!report.ok) throw new Error(`the image pipeline failed: ${JSON.stringify(report.tasks.map(task => task.out))}`)
      return { ms: performance.now() - started, guestMs: report.tasks.reduce((sum, task) => sum + (task.durationMs ?? 0), 0) }
    }
    const cold = await timed()
    const warm = []
    for (let i = 0; i < 5; i++) warm.push(await timed())
    return {
      coldMs: round(cold.ms, 1),
      warmMs: round(median(warm.map(run => run.ms)), 1),
      warmGuestMs: round(median(warm.map(run => run.guestMs)), 1),
      tasks: plan.tasks.length,
      pngBytes: png.size
    }
  } finally {
    await executor.stop()
  }
}
