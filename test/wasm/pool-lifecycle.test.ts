import test from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const churn = fileURLToPath(new URL('./fixtures/pool-churn.js', import.meta.url))

test('stopping a pool while a timed-out worker is being replaced never crashes the process', async () => {
  // Three child processes, 20 rounds each; a crash of the process fails the test instead of the runner.
  for (let i = 0; i < 3; i++) {
    const result = await new Promise<{ code: number | null, signal: string | null, stdout: string, stderr: string }>(resolve => {
      execFile(process.execPath, [churn, '20'], { timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1, signal: (err as { signal?: string } | null)?.signal ?? null, stdout, stderr })
      })
    })
    assert.doesNotMatch(result.stderr, /FATAL ERROR/)
    assert.equal(result.signal, null, `child died by ${result.signal}: ${result.stderr.slice(0, 500)}`)
    assert.equal(result.code, 0, result.stderr.slice(0, 500))
    assert.match(result.stdout, /survived 20 rounds/)
  }
})
