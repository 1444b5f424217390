/**
 * Multi-process helpers: `ipvm node` and `ipvm submit` as separate OS
 * processes on 127.0.0.1, their JSON events and logs collected, every process
 * killed when the test ends.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'
import type { TestContext } from 'node:test'

export const bin = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url))

/** A running `ipvm node`. */
export interface NodeProcess {
  role: string
  home: string
  child: ChildProcess
  peerId: string
  address: string
  /** JSON events printed on stdout, in order. */
  events: Array<Record<string, any>>
  /** Everything printed on stderr (the node's log lines). */
  stderr: () => string
  /** Resolves with the first event (already seen or to come) that matches, or rejects after `ms`. */
  waitFor: (match: (event: Record<string, any>) => boolean, ms: number) => Promise<Record<string, any>>
  exited: Promise<number | null>
}

function track (t: TestContext, child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>(resolve => { child.on('exit', code => { resolve(code) }) })
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 3_000)
    await exited
    clearTimeout(timer)
  })
  return exited
}

/** Starts `ipvm node --role ROLE --json` with `home` as its repository; resolves once it printed its address. */
export async function startNode (t: TestContext, role: string, home: string, args: string[] = []): Promise<NodeProcess> {
  const child = spawn(process.execPath, [bin, 'node', '--role', role, '--json', ...args], {
    env: { ...process.env, IPVM_HOME: home, NO_COLOR: '1', DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = track(t, child)
  const events: Array<Record<string, any>> = []
  const waiters = new Set<() => void>()
  let stderr = ''
  let pending = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) {
      if (line.trim() === '') continue
      try { events.push(JSON.parse(line)) } catch { events.push({ event: 'text', line }) }
    }
    for (const wake of waiters) wake()
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const waitFor = async (match: (event: Record<string, any>) => boolean, ms: number): Promise<Record<string, any>> => {
    const found = events.find(match)
    if (found !== undefined) return found
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`${role} ${home}: no matching event within ${ms} ms; stderr:\n${stderr.slice(-2000)}`)) }, ms)
      const check = (): void => {
        const hit = events.find(match)
        if (hit === undefined) return
        clearTimeout(timer)
        waiters.delete(check)
        resolve(hit)
      }
      waiters.add(check)
      void exited.then(code => {
        if (!waiters.has(check)) return
        clearTimeout(timer)
        waiters.delete(check)
        reject(new Error(`${role} exited with ${String(code)} before the event; stderr:\n${stderr.slice(-2000)}`))
      })
    })
  }
  const started = await waitFor(event => event.event === 'started', 20_000)
  return { role, home, child, peerId: started.peerId, address: started.addresses[0], events, stderr: () => stderr, waitFor, exited }
}

/** A finished `ipvm` command. */
export interface Finished { code: number | null, stdout: string, stderr: string }

/** Starts an `ipvm` command (e.g. `submit`) in its own process; `done` resolves when it exits (killed after `ms`). */
export function startCommand (t: TestContext, args: string[], home: string, ms: number): { child: ChildProcess, done: Promise<Finished> } {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, IPVM_HOME: home, NO_COLOR: '1', DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = track(t, child)
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, ms)
  const done = exited.then(code => { clearTimeout(timer); return { code, stdout, stderr } })
  return { child, done }
}

/** Runs an `ipvm` command to its end. */
export async function ipvm (t: TestContext, args: string[], home: string, ms = 60_000): Promise<Finished> {
  return await startCommand(t, args, home, ms).done
}
