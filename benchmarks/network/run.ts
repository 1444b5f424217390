/**
 * Network benchmark (issue 7, "Measure"), result "network":
 * - DHT part (./dht.ts): findProviders latency and hop count at 10, 50 and
 *   100 loopback nodes; plot in benchmarks/results/network-dht.svg.
 * - End-to-end part (./e2e.ts): single tiny task latency (p50/p99) and
 *   sustained tiny tasks/s through a devnet with 1, 2 and 4 executors, signing
 *   on, via Requester.submit and via the Scheduler API; plot in
 *   benchmarks/results/network-e2e.svg.
 * Metrics and targets of both parts are merged into the one result.
 */
import '../../src/polyfill.js'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { machine, resultsDir } from '../lib.js'
import { measureDht } from './dht.js'
import { measureEndToEnd } from './e2e.js'
import type { BenchmarkResult } from '../lib.js'

function writeSvg (name: string, svg: string | undefined): void {
  if (svg === undefined) return
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, name), svg)
}

export async function run (): Promise<BenchmarkResult> {
  const dht = await measureDht({ sizes: [10, 50, 100], lookups: 40 })
  writeSvg('network-dht.svg', dht.svg)
  const e2e = await measureEndToEnd({ executors: [1, 2, 4], tasks: 2000, latencySamples: 200 })
  writeSvg('network-e2e.svg', e2e.svg)
  return {
    name: 'network',
    description: 'DHT findProviders latency (to the first provider) and hop count with 10, 50 and 100 ipvm nodes in one process on 127.0.0.1; ' +
      'end-to-end tiny task (add(i, i)) latency p50/p99 and sustained tasks/s through a devnet (1 scheduler, 1/2/4 executors with 1 worker thread each, signing on) ' +
      'in one process on 127.0.0.1, via Requester.submit (requester node, /ipvm/submit, receipts verified by the requester) and via the Scheduler API directly',
    machine: machine(),
    date: new Date().toISOString(),
    metrics: { ...dht.metrics, ...e2e.metrics },
    targets: [...dht.targets, ...e2e.targets]
  }
}
