/**
 * Metering benchmark: what fuel, call-depth and NaN instrumentation cost.
 *
 * For each kernel (see `kernels.ts`), warmed and interleaved, median of
 * several rounds: unmetered Wasm, metered Wasm (fuel + depth + NaN), each
 * part alone, and the same kernel in C (`gcc -O2`, built into a temp dir;
 * skipped with a message when gcc is absent). Then cold one-shot tasks in
 * fresh processes against the warm time, under several V8 tier-up
 * strategies; and the instrumentation's own speed (MB/s).
 *
 * `node dist/benchmarks/metering/run.js` prints a table and writes
 * `benchmarks/results/metering.json`; `run()` is also what the benchmark
 * runner (`dist/benchmarks/run.js metering`) calls.
 */

import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import wabtInit from 'wabt'
import { MeteredInstance, instrument, requireWasmEngine, validateModule } from '../../src/wasm/meter/index.js'
import type { InstrumentOptions, WasmInstance } from '../../src/wasm/meter/index.js'
import { ByteWriter } from '../../src/wasm/meter/bytes.js'
import { parseModule } from '../../src/wasm/meter/module-parser.js'
import { machine, median, round, target, writeResult } from '../lib.js'
import type { BenchmarkResult, Target } from '../lib.js'
import { KERNELS, KERNELS_C, KERNELS_WAT } from './kernels.js'
import type { Kernel } from './kernels.js'

const WARMUP_CALLS = 2
const ROUNDS = 7
const COLD_RUNS = 3
const NATIVE_REPS = 3
const FUEL = 1n << 46n

/** Variants of the kernel module, by what the instrumentation inserts. */
const VARIANTS: Array<{ key: string, label: string, options: InstrumentOptions | undefined }> = [
  { key: 'unmetered', label: 'unmetered', options: undefined },
  { key: 'metered', label: 'fuel+depth+NaN', options: {} },
  { key: 'fuel', label: 'fuel only', options: { callDepth: false, nanCanonicalization: 'off' } },
  { key: 'depth', label: 'depth only', options: { fuel: false, nanCanonicalization: 'off' } },
  { key: 'nan', label: 'NaN (boundary) only', options: { fuel: false, callDepth: false } },
  { key: 'nanEager', label: 'NaN (eager) only', options: { fuel: false, callDepth: false, nanCanonicalization: 'eager' } },
  { key: 'meteredEager', label: 'fuel+depth+eager NaN', options: { nanCanonicalization: 'eager' } }
]

interface KernelResult {
  kernel: string
  description: string
  arg: number
  checksum: string
  nativeMs: number | null
  /** gcc -O2 -fno-tree-vectorize. */
  nativeScalarMs: number | null
  ms: Record<string, number>
  /** Each variant's time over the unmetered time. */
  overhead: Record<string, number>
  meteredOverNative: number | null
  fuelPerCall: string
  fuelPerMicrosecond: number
}

interface ColdResult {
  kernel: string
  strategy: string
  compileMs: number
  runMs: number
  totalMs: number
  warmMs: number
  runOverWarm: number
  totalOverWarm: number
}

const geomean = (values: number[]): number => Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length)
const log = (line: string): void => { process.stdout.write(line + '\n') }

function normalize (value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value >>> 0) : String(value)
  return String(value)
}

function buildNative (dir: string, flags: string[] = [], name = 'kernels'): string | undefined {
  const source = join(dir, 'kernels.c')
  const binary = join(dir, name)
  writeFileSync(source, KERNELS_C)
  const gcc = spawnSync('gcc', ['-O2', ...flags, '-o', binary, source], { encoding: 'utf8' })
  if (gcc.error !== undefined || gcc.status !== 0) {
    log(`  gcc not available or failed (${gcc.error?.message ?? gcc.stderr.trim()}): native baseline skipped`)
    return undefined
  }
  return binary
}

function runNative (binary: string, kernel: Kernel): { ms: number, checksum: string } {
  const child = spawnSync(binary, [kernel.name, String(kernel.arg), String(NATIVE_REPS)], { encoding: 'utf8' })
  if (child.status !== 0) throw new Error(`native ${kernel.name} failed: ${child.stderr}`)
  const lines = child.stdout.trim().split('\n').map(line => line.split(' '))
  const times = lines.map(([ns]) => Number(ns) / 1e6)
  return { ms: median(times), checksum: String(Number(lines[0]?.[1])) }
}

interface Prepared { run: MeteredInstance | undefined, instance: WasmInstance }

function prepare (bytes: Uint8Array, kernel: Kernel): Prepared {
  const engine = requireWasmEngine()
  const instance = new engine.Instance(new engine.Module(bytes))
  const run = instance.exports.__ipvm_fuel !== undefined ? new MeteredInstance(instance, FUEL) : undefined
  const call = (name: string, ...args: unknown[]): unknown => run !== undefined ? run.call(name, ...args) : (instance.exports[name] as (...a: unknown[]) => unknown)(...args)
  if (kernel.name === 'memscan') call('memscan_init')
  if (kernel.name === 'matmul') call('matmul_init', kernel.arg)
  return { run, instance }
}

function timeCall (prepared: Prepared, kernel: Kernel): { ms: number, result: unknown, fuel: bigint } {
  const { run, instance } = prepared
  const before = run?.fuelUsed ?? 0n
  const t0 = performance.now()
  const result = run !== undefined ? run.call(kernel.name, kernel.arg) : (instance.exports[kernel.name] as (a: number) => unknown)(kernel.arg)
  const ms = performance.now() - t0
  return { ms, result, fuel: (run?.fuelUsed ?? 0n) - before }
}

/** A large module for instrumentation speed: the kernels' bodies repeated until the module is about `targetBytes`. */
function replicate (original: Uint8Array, targetBytes: number): Uint8Array {
  const module = parseModule(original)
  const section = (id: number): Uint8Array => {
    const range = module.sections.find(s => s.id === id)
    return range === undefined ? new Uint8Array(0) : original.subarray(range.start, range.end)
  }
  let perCopy = 0
  for (const body of module.bodies) perCopy += body.end - body.start + 3
  const copies = Math.max(1, Math.ceil(targetBytes / perCopy))
  const out = new ByteWriter(targetBytes + 4096)
  out.copy(original, 0, 8)
  out.bytes(section(1))
  const functions = new ByteWriter(copies * module.bodies.length * 2 + 8)
  functions.u32(copies * module.bodies.length)
  for (let c = 0; c < copies; c++) for (const type of module.functionTypes) functions.u32(type)
  out.byte(3); out.u32(functions.length); out.copy(functions.buf, 0, functions.length)
  out.bytes(section(5))
  const code = new ByteWriter(targetBytes + 1024)
  code.u32(copies * module.bodies.length)
  for (let c = 0; c < copies; c++) {
    for (const body of module.bodies) {
      code.u32(body.end - body.start)
      code.copy(original, body.start, body.end)
    }
  }
  out.byte(10); out.u32(code.length); out.copy(code.buf, 0, code.length)
  return out.toBytes()
}

function timeIt (fn: () => unknown, repeats: number): number {
  const samples: number[] = []
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now()
    fn()
    samples.push(performance.now() - t0)
  }
  return median(samples)
}

/** Runs the benchmark and returns its result (also printed). */
export async function run (): Promise<BenchmarkResult> {
  const wabt = await wabtInit()
  const parsed = wabt.parseWat('kernels.wat', KERNELS_WAT, {})
  const original = parsed.toBinary({}).buffer
  parsed.destroy()
  const modules = new Map<string, Uint8Array>()
  for (const variant of VARIANTS) modules.set(variant.key, variant.options === undefined ? original : instrument(original, variant.options).bytes)

  const dir = mkdtempSync(join(tmpdir(), 'ipvm-metering-'))
  try {
    const native = buildNative(dir)
    // For context: how much of the gap to gcc is auto-vectorization, which V8 does not do.
    const nativeScalar = native === undefined ? undefined : buildNative(dir, ['-fno-tree-vectorize'], 'kernels-scalar')
    const kernels: KernelResult[] = []

    log('\nkernels (median of ' + ROUNDS + ' interleaved rounds, ms; ratios over unmetered)')
    for (const kernel of KERNELS) {
      const prepared = new Map<string, Prepared>()
      for (const variant of VARIANTS) prepared.set(variant.key, prepare(modules.get(variant.key) as Uint8Array, kernel))
      const samples = new Map<string, number[]>(VARIANTS.map(v => [v.key, []]))
      const nativeSamples: number[] = []
      const nativeScalarSamples: number[] = []
      let checksum = ''
      let fuelPerCall = 0n
      for (const variant of VARIANTS) {
        for (let i = 0; i < WARMUP_CALLS; i++) {
          const { result } = timeCall(prepared.get(variant.key) as Prepared, kernel)
          if (variant.key === 'unmetered') checksum = normalize(result)
          else if (normalize(result) !== checksum) throw new Error(`${kernel.name}: ${variant.key} returned ${normalize(result)}, unmetered ${checksum}`)
        }
      }
      for (let r = 0; r < ROUNDS; r++) {
        // Rotate the order each round so no variant always runs first.
        for (let v = 0; v < VARIANTS.length; v++) {
          const variant = VARIANTS[(v + r) % VARIANTS.length] as typeof VARIANTS[number]
          const { ms, fuel } = timeCall(prepared.get(variant.key) as Prepared, kernel)
          samples.get(variant.key)?.push(ms)
          if (variant.key === 'metered') fuelPerCall = fuel
        }
        if (native !== undefined) {
          const result = runNative(native, kernel)
          if (result.checksum !== checksum) throw new Error(`${kernel.name}: native checksum ${result.checksum}, wasm ${checksum}`)
          nativeSamples.push(result.ms)
        }
        if (nativeScalar !== undefined) nativeScalarSamples.push(runNative(nativeScalar, kernel).ms)
      }
      const ms: Record<string, number> = {}
      for (const [key, values] of samples) ms[key] = median(values)
      const base = ms.unmetered as number
      const overhead: Record<string, number> = {}
      for (const variant of VARIANTS) if (variant.key !== 'unmetered') overhead[variant.key] = round((ms[variant.key] as number) / base)
      const nativeMs = native !== undefined ? median(nativeSamples) : null
      const metered = ms.metered as number
      kernels.push({
        kernel: kernel.name,
        description: kernel.description,
        arg: kernel.arg,
        checksum,
        nativeMs: nativeMs === null ? null : round(nativeMs),
        nativeScalarMs: nativeScalarSamples.length === 0 ? null : round(median(nativeScalarSamples)),
        ms: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, round(v)])),
        overhead,
        meteredOverNative: nativeMs === null ? null : round(metered / nativeMs),
        fuelPerCall: fuelPerCall.toString(),
        fuelPerMicrosecond: round(Number(fuelPerCall) / (metered * 1000), 1)
      })
    }

    const header = ['kernel', 'native', 'scalar', 'unmetered', 'metered', 'met/unmet', 'met/native', 'fuel', 'depth', 'NaN', 'NaN eager', 'met+eager', 'Mfuel/s']
    log(header.map((h, i) => i === 0 ? h.padEnd(9) : h.padStart(11)).join(''))
    for (const k of kernels) {
      const cells = [
        k.nativeMs === null ? '-' : k.nativeMs.toFixed(2),
        k.nativeScalarMs === null ? '-' : k.nativeScalarMs.toFixed(2),
        (k.ms.unmetered as number).toFixed(2),
        (k.ms.metered as number).toFixed(2),
        (k.overhead.metered as number).toFixed(3),
        k.meteredOverNative === null ? '-' : k.meteredOverNative.toFixed(3),
        (k.overhead.fuel as number).toFixed(3),
        (k.overhead.depth as number).toFixed(3),
        (k.overhead.nan as number).toFixed(3),
        (k.overhead.nanEager as number).toFixed(3),
        (k.overhead.meteredEager as number).toFixed(3),
        k.fuelPerMicrosecond.toFixed(0)
      ]
      log(k.kernel.padEnd(9) + cells.map(c => c.padStart(11)).join(''))
    }
    const ratio = (key: string): number[] => kernels.map(k => k.overhead[key] as number)
    const summary = {
      meteredGeomean: round(geomean(ratio('metered'))),
      meteredWorst: round(Math.max(...ratio('metered'))),
      fuelGeomean: round(geomean(ratio('fuel'))),
      depthGeomean: round(geomean(ratio('depth'))),
      nanBoundaryGeomean: round(geomean(ratio('nan'))),
      nanEagerGeomean: round(geomean(ratio('nanEager'))),
      meteredEagerGeomean: round(geomean(ratio('meteredEager'))),
      meteredEagerWorst: round(Math.max(...ratio('meteredEager'))),
      meteredOverNativeGeomean: native === undefined ? null : round(geomean(kernels.map(k => k.meteredOverNative as number))),
      meteredOverNativeScalarGeomean: nativeScalar === undefined ? null : round(geomean(kernels.map(k => (k.ms.metered as number) / (k.nativeScalarMs as number)))),
      unmeteredOverNativeGeomean: native === undefined ? null : round(geomean(kernels.map(k => (k.ms.unmetered as number) / (k.nativeMs as number))))
    }
    log(`geomean metered/unmetered ${summary.meteredGeomean} (worst ${summary.meteredWorst}); parts: fuel ${summary.fuelGeomean}, depth ${summary.depthGeomean}, NaN boundary ${summary.nanBoundaryGeomean}, NaN eager ${summary.nanEagerGeomean}`)
    if (summary.meteredOverNativeGeomean !== null) log(`geomean metered/native ${summary.meteredOverNativeGeomean} (unmetered/native ${summary.unmeteredOverNativeGeomean}; metered/native without auto-vectorization ${summary.meteredOverNativeScalarGeomean})`)

    // Cold one-shot tasks, each in a fresh process.
    const cold: ColdResult[] = []
    const meteredFile = join(dir, 'metered.wasm')
    writeFileSync(meteredFile, modules.get('metered') as Uint8Array)
    const script = fileURLToPath(new URL('./cold.js', import.meta.url))
    const strategies: Array<{ name: string, flags: string[], mode: string }> = [
      { name: 'default', flags: [], mode: 'default' },
      { name: 'warm-up call', flags: [], mode: 'warmup' },
      { name: '--no-wasm-dynamic-tiering', flags: ['--no-wasm-dynamic-tiering'], mode: 'default' },
      { name: '--no-liftoff', flags: ['--no-liftoff'], mode: 'default' },
      { name: 'v8.setFlagsFromString', flags: [], mode: 'set-flags' }
    ]
    log('\ncold one-shot task (fresh process, median of ' + COLD_RUNS + ') against the warm metered time')
    log('kernel'.padEnd(9) + 'strategy'.padEnd(28) + ['compile', 'run', 'warm', 'run/warm', 'total/warm'].map(h => h.padStart(11)).join(''))
    for (const kernel of KERNELS) {
      const warm = kernels.find(k => k.kernel === kernel.name)?.ms.metered as number
      for (const strategy of strategies) {
        const compile: number[] = []
        const runs: number[] = []
        const totals: number[] = []
        for (let i = 0; i < COLD_RUNS; i++) {
          const child = spawnSync(process.execPath, [...strategy.flags, script, meteredFile, kernel.name, String(kernel.arg), strategy.mode], { encoding: 'utf8' })
          if (child.status !== 0) throw new Error(`cold ${kernel.name} ${strategy.name}: ${child.stderr}`)
          const timing = JSON.parse(child.stdout) as { compileMs: number, instantiateMs: number, prepareMs: number, runMs: number, result: string }
          if (normalize(Number.isNaN(Number(timing.result)) ? timing.result : Number(timing.result)) !== kernels.find(k => k.kernel === kernel.name)?.checksum) throw new Error(`cold ${kernel.name}: wrong result ${timing.result}`)
          compile.push(timing.compileMs)
          runs.push(timing.runMs)
          // The kernel's own data set-up (filling memory) is not part of the task; a warm-up is.
          totals.push(timing.compileMs + timing.instantiateMs + (strategy.mode === 'warmup' ? timing.prepareMs : 0) + timing.runMs)
        }
        const entry: ColdResult = {
          kernel: kernel.name,
          strategy: strategy.name,
          compileMs: round(median(compile)),
          runMs: round(median(runs)),
          totalMs: round(median(totals)),
          warmMs: round(warm),
          runOverWarm: round(median(runs) / warm),
          totalOverWarm: round(median(totals) / warm)
        }
        cold.push(entry)
        log(kernel.name.padEnd(9) + strategy.name.padEnd(28) + [entry.compileMs, entry.runMs, entry.warmMs, entry.runOverWarm, entry.totalOverWarm].map(v => v.toFixed(2).padStart(11)).join(''))
      }
    }
    const coldByStrategy: Record<string, { runOverWarmGeomean: number, totalOverWarmGeomean: number }> = {}
    for (const strategy of strategies) {
      const entries = cold.filter(c => c.strategy === strategy.name)
      coldByStrategy[strategy.name] = {
        runOverWarmGeomean: round(geomean(entries.map(e => e.runOverWarm))),
        totalOverWarmGeomean: round(geomean(entries.map(e => e.totalOverWarm)))
      }
    }
    for (const [name, figures] of Object.entries(coldByStrategy)) log(`  ${name.padEnd(28)} cold run/warm ${figures.runOverWarmGeomean}, cold total/warm ${figures.totalOverWarmGeomean} (geomean)`)

    // Instrumentation speed.
    const big = replicate(original, 4 * 1024 * 1024)
    const megabytes = big.length / (1024 * 1024)
    const engine = requireWasmEngine()
    const ours = timeIt(() => instrument(big, { engineValidation: false, limits: { maxFunctions: 200_000 } }), 5)
    const oursWithEngine = timeIt(() => instrument(big, { limits: { maxFunctions: 200_000 } }), 3)
    const validateOnly = timeIt(() => validateModule(big, { maxFunctions: 200_000 }), 3)
    const engineValidate = timeIt(() => engine.validate(big), 3)
    const instrumented = instrument(big, { engineValidation: false, limits: { maxFunctions: 200_000 } }).bytes
    const compileOriginal = timeIt(() => new engine.Module(big), 3)
    const compileInstrumented = timeIt(() => new engine.Module(instrumented), 3)
    // With --no-liftoff (the cold-start fix), compilation is TurboFan's: measure it in a child process.
    const bigFile = join(dir, 'big.wasm')
    writeFileSync(bigFile, instrumented)
    const turbofan = spawnSync(process.execPath, ['--no-liftoff', '-e', 'const b = require("fs").readFileSync(process.argv[1]); const t = performance.now(); new WebAssembly.Module(b); console.log(performance.now() - t)', bigFile], { encoding: 'utf8' })
    const compileTurbofan = turbofan.status === 0 ? Number(turbofan.stdout.trim()) : NaN
    const instrumentation = {
      moduleMiB: round(megabytes, 2),
      instrumentMs: round(ours),
      instrumentMiBPerSecond: round(megabytes / (ours / 1000), 1),
      instrumentWithEngineValidationMs: round(oursWithEngine),
      validateModuleMs: round(validateOnly),
      engineValidateMs: round(engineValidate),
      sizeGrowth: round(instrumented.length / big.length),
      v8CompileOriginalMs: round(compileOriginal),
      v8CompileInstrumentedMs: round(compileInstrumented),
      v8CompileInstrumentedNoLiftoffMs: round(compileTurbofan),
      kernelModuleGrowth: round((modules.get('metered') as Uint8Array).length / original.length)
    }
    log(`\ninstrumentation of a ${instrumentation.moduleMiB} MiB module: ${instrumentation.instrumentMs} ms (${instrumentation.instrumentMiBPerSecond} MiB/s; ${instrumentation.instrumentWithEngineValidationMs} ms with WebAssembly.validate), size ×${instrumentation.sizeGrowth}; V8 compile ${instrumentation.v8CompileOriginalMs} → ${instrumentation.v8CompileInstrumentedMs} ms (${instrumentation.v8CompileInstrumentedNoLiftoffMs} ms with --no-liftoff)`)

    const best = Object.entries(coldByStrategy).sort((a, b) => a[1].totalOverWarmGeomean - b[1].totalOverWarmGeomean)[0] as [string, { runOverWarmGeomean: number, totalOverWarmGeomean: number }]
    const targets: Target[] = [
      target('metered/unmetered geomean', summary.meteredGeomean, '<=', 1.15),
      target('metered/unmetered worst', summary.meteredWorst, '<=', 1.4),
      target(`cold task (compile+instantiate+run)/warm geomean, ${best[0]}`, best[1].totalOverWarmGeomean, '<=', 1.1),
      target(`cold run/warm geomean, ${best[0]}`, best[1].runOverWarmGeomean, '<=', 1.1)
    ]
    if (summary.meteredOverNativeGeomean !== null) targets.splice(2, 0, target('metered/native geomean', summary.meteredOverNativeGeomean, '<=', 1.5))
    return {
      name: 'metering',
      description: 'Cost of fuel metering, call-depth limit and NaN canonicalization on Wasm kernels, against unmetered Wasm and gcc -O2; cold vs warm; instrumentation speed',
      machine: machine(),
      date: new Date().toISOString(),
      metrics: { summary, kernels, cold, coldByStrategy, instrumentation, rounds: ROUNDS, warmupCalls: WARMUP_CALLS },
      targets
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// Run directly: `node dist/benchmarks/metering/run.js`.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await run()
  const file = writeResult(result)
  for (const t of result.targets) log(`${t.met ? '✓' : '✗'} ${t.metric}: ${t.value} (target ${t.target})`)
  log(`→ ${file}`)
}
