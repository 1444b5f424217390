/**
 * Runs benchmarks and writes their results to benchmarks/results/NAME.json.
 * `node dist/benchmarks/run.js [NAME...]` runs the named ones, else all.
 * Each benchmark is a folder with a `run.ts` exporting `run()`.
 */
import '../src/polyfill.js'
import { readdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeResult } from './lib.js'
import type { BenchmarkResult } from './lib.js'

const here = fileURLToPath(new URL('.', import.meta.url))
const available = readdirSync(here, { withFileTypes: true })
  .filter(entry => entry.isDirectory() && existsSync(join(here, entry.name, 'run.js')))
  .map(entry => entry.name)
  .sort()
const wanted = process.argv.slice(2)
const unknown = wanted.filter(name => !available.includes(name))
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; available: ${available.join(', ')}\n`)
  process.exit(2)
}

let failed = false
for (const name of wanted.length > 0 ? wanted : available) {
  process.stdout.write(`\n▶ ${name}\n`)
  try {
    const module = await import(join(here, name, 'run.js')) as { run: () => Promise<BenchmarkResult | undefined> }
    const result = await module.run()
    if (result === undefined) continue
    const file = writeResult(result)
    for (const [metric, value] of Object.entries(result.metrics)) {
      if (typeof value !== 'object') process.stdout.write(`  ${metric.padEnd(28)} ${String(value)}\n`)
    }
    for (const t of result.targets) process.stdout.write(`  ${t.met ? '✓' : '✗'} ${t.metric}: ${t.value} (target ${t.target})\n`)
    process.stdout.write(`  → ${file}\n`)
  } catch (err) {
    failed = true
    process.stderr.write(`  ${name} failed: ${(err as Error).stack ?? String(err)}\n`)
  }
}
process.exitCode = failed ? 1 : 0
