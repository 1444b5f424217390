/**
 * Child process of the metering benchmark: one cold, one-shot task.
 * `node cold.js WASM_FILE KERNEL ARG STRATEGY` compiles the (instrumented)
 * module, instantiates it, runs the kernel once and prints JSON timings.
 * Strategies: `default`; `warmup` (first small calls to trigger tier-up,
 * then a pause so the optimizing compile can finish); `set-flags`
 * (`v8.setFlagsFromString('--no-liftoff')` at startup, as a worker could);
 * command-line V8 flags (`--no-liftoff`, `--no-wasm-dynamic-tiering`) are
 * passed by the parent.
 */

import { readFileSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { performance } from 'node:perf_hooks'
import { MeteredInstance, requireWasmEngine } from '../../src/wasm/meter/index.js'

const [file, kernel, argText, strategy] = process.argv.slice(2)
if (file === undefined || kernel === undefined || argText === undefined) {
  process.stderr.write('usage: cold.js WASM_FILE KERNEL ARG [STRATEGY]\n')
  process.exit(2)
}
const arg = Number(argText)
if (strategy === 'set-flags') {
  // What a worker can do at startup, before compiling anything: V8 flags are process-wide.
  setFlagsFromString('--no-liftoff')
}
const engine = requireWasmEngine()
const bytes = readFileSync(file)
const t0 = performance.now()
const module = new engine.Module(bytes)
const t1 = performance.now()
const run = new MeteredInstance(new engine.Instance(module), 1n << 46n)
const t2 = performance.now()
if (strategy === 'warmup') {
  // Short calls make the kernel hot enough to tier up; the optimizing
  // compile runs on a background thread, so give it a moment.
  const small: Record<string, number> = { intmix: 20_000, memscan: 1, matmul: 16, fib: 12, mandel: 16 }
  if (kernel === 'memscan') run.call('memscan_init')
  for (let i = 0; i < 3; i++) run.call(kernel, small[kernel] ?? 1)
  const until = performance.now() + 10
  while (performance.now() < until) { /* let the background compile finish */ }
}
if (kernel === 'memscan') run.call('memscan_init')
if (kernel === 'matmul') run.call('matmul_init', arg)
const t3 = performance.now()
const result = run.call(kernel, arg)
const t4 = performance.now()
process.stdout.write(JSON.stringify({ compileMs: t1 - t0, instantiateMs: t2 - t1, prepareMs: t3 - t2, runMs: t4 - t3, result: String(result) }) + '\n')
