/**
 * Process side of the test harness, for runs that need V8 flags (which are
 * process-wide): `node [flags] harness-process.js JOB_FILE` reads a job
 * (JSON, module bytes in base64, bigints tagged), runs it and prints the
 * outcome as JSON. Imported as a plain module it does nothing.
 */

import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { runJob } from './harness-worker.js'
import type { HarnessJob } from './harness-types.js'

/** JSON replacer keeping bigints, byte arrays and non-finite numbers. */
export function encodeJson (_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return { $bigint: value.toString() }
  if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0))) return { $number: Object.is(value, -0) ? '-0' : String(value) }
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') }
  return value
}

/** JSON reviver undoing {@link encodeJson}. */
export function decodeJson (_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null) {
    const tagged = value as { $bigint?: string, $bytes?: string, $number?: string }
    if (typeof tagged.$bigint === 'string') return BigInt(tagged.$bigint)
    if (typeof tagged.$number === 'string') return tagged.$number === '-0' ? -0 : Number(tagged.$number)
    if (typeof tagged.$bytes === 'string') return new Uint8Array(Buffer.from(tagged.$bytes, 'base64'))
  }
  return value
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2]
  if (file === undefined) throw new Error('usage: harness-process.js JOB_FILE')
  const job = JSON.parse(readFileSync(file, 'utf8'), decodeJson) as HarnessJob
  process.stdout.write(JSON.stringify(runJob(job), encodeJson) + '\n')
}
