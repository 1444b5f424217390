/**
 * Network benchmark (issue 7, "Measure"). For now only the DHT part:
 * findProviders latency and hop count at 10, 50 and 100 loopback nodes
 * (see ./dht.ts). Writes the latency plot to benchmarks/results/network-dht.svg.
 */
import '../../src/polyfill.js'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { machine, resultsDir } from '../lib.js'
import { measureDht } from './dht.js'
import type { BenchmarkResult } from '../lib.js'

export async function run (): Promise<BenchmarkResult> {
  const dht = await measureDht({ sizes: [10, 50, 100], lookups: 40 })
  if (dht.svg !== undefined) {
    mkdirSync(resultsDir, { recursive: true })
    writeFileSync(join(resultsDir, 'network-dht.svg'), dht.svg)
  }
  return {
    name: 'network',
    description: 'DHT findProviders latency (to the first provider) and hop count with 10, 50 and 100 ipvm nodes in one process on 127.0.0.1',
    machine: machine(),
    date: new Date().toISOString(),
    metrics: dht.metrics,
    targets: dht.targets
  }
}
