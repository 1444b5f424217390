/**
 * Shared benchmark helpers: statistics, machine description, result files.
 */
import { cpus, totalmem, platform, arch } from 'node:os'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

/** A figure an issue asks for, and whether this run reached it. */
export interface Target {
  metric: string
  value: number
  /** e.g. `>= 50` or `<= 0.15`. */
  target: string
  met: boolean
}

/** What every benchmark returns. */
export interface BenchmarkResult {
  name: string
  description: string
  machine: ReturnType<typeof machine>
  date: string
  metrics: Record<string, unknown>
  targets: Target[]
}

/** The machine a result was measured on. */
export function machine (): { cpu: string, cpus: number, memoryGiB: number, node: string, platform: string } {
  const list = cpus()
  return {
    cpu: list[0]?.model ?? 'unknown',
    cpus: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${platform()}-${arch()}`
  }
}

/** The q-quantile (0..1) of `samples`. */
export function quantile (samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[index] ?? NaN
}

export const median = (samples: number[]): number => quantile(samples, 0.5)

/** `value` compared with a bound: `>=` or `<=`. */
export function target (metric: string, value: number, op: '>=' | '<=', bound: number): Target {
  return { metric, value, target: `${op} ${bound}`, met: op === '>=' ? value >= bound : value <= bound }
}

/** Where results go: benchmarks/results/ in the source tree (not dist/). */
export const resultsDir = fileURLToPath(new URL('../../benchmarks/results/', import.meta.url))

/** Writes `result` to benchmarks/results/NAME.json. */
export function writeResult (result: BenchmarkResult): string {
  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, `${result.name}.json`)
  writeFileSync(file, JSON.stringify(result, (_, v) => typeof v === 'bigint' ? v.toString() : v, 2) + '\n')
  return file
}

/** Rounds for printing. */
export const round = (value: number, digits = 3): number => Number(value.toFixed(digits))

/** Quantiles and spread of a set of samples (ms), rounded. */
export interface Stats {
  p50: number
  p90: number
  p99: number
  mean: number
  min: number
  max: number
  samples: number
}

/** {@link Stats} of `samples`. */
export function stats (samples: number[]): Stats {
  return {
    p50: round(quantile(samples, 0.5)),
    p90: round(quantile(samples, 0.9)),
    p99: round(quantile(samples, 0.99)),
    mean: round(samples.reduce((a, b) => a + b, 0) / samples.length),
    min: round(Math.min(...samples)),
    max: round(Math.max(...samples)),
    samples: samples.length
  }
}
