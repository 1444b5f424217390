/**
 * The WASI command runner. A task's input for a command:
 *
 * - `args: []` — no arguments, no environment, empty stdin;
 * - `args: ["a", "b"]` — only strings: `argv[1..]`;
 * - `args: [{ args?: [string], env?: {string: string}, stdin?: string | bytes }]`
 *   — one map with any of these keys (a file link given as `stdin` arrives
 *   resolved to its bytes).
 *
 * `argv[0]` is the module's CID. The called function must be `() -> ()`
 * (normally `_start`). The result is what the command wrote to stdout, as
 * bytes; exit code 0 (or returning from `_start`) is success, any other code
 * is an `ExitCode` error with `code`. What it wrote to stderr is returned
 * beside the result (for the receipt's meta).
 */
import { TaskError } from '../../errors.js'
import { ProcExit } from '../wasi.js'
import { MAX_STDERR_BYTES, MAX_STDOUT_BYTES } from './constants.js'
import type { Guest } from './guest.js'
import type { SignatureSummary } from '../meter/summary.js'
import type { WasiHost, WasiInit } from '../wasi.js'
import type { WasmArgument } from '../abi.js'

const INVOCATION_KEYS = new Set(['args', 'env', 'stdin'])
const encoder = new TextEncoder()

/**
 * Reads a command's argv, environment and stdin from the task's arguments.
 * Throws `ArgumentError` saying which shape is expected.
 */
export function wasiInvocation (moduleCid: string, func: string, args: WasmArgument[]): WasiInit {
  const init: WasiInit = { argv: [moduleCid], env: {}, stdin: new Uint8Array(0), maxStdoutBytes: MAX_STDOUT_BYTES, maxStderrBytes: MAX_STDERR_BYTES }
  const fail = (why: string): never => {
    throw new TaskError('ArgumentError', `${func} is a WASI command: its arguments are strings (argv) or one map {args?: [string], env?: {string: string}, stdin?: string | bytes}; ${why}`, { func })
  }
  if (args.every(arg => typeof arg === 'string')) {
    init.argv.push(...args as string[])
    return init
  }
  const [invocation] = args
  if (args.length !== 1 || invocation === null || typeof invocation !== 'object' || Array.isArray(invocation) || invocation instanceof Uint8Array) return fail('got something else')
  for (const key of Object.keys(invocation)) if (!INVOCATION_KEYS.has(key)) fail(`unknown key ${JSON.stringify(key)}`)
  const { args: argv, env, stdin } = invocation
  if (argv !== undefined) {
    if (!Array.isArray(argv) || !argv.every(a => typeof a === 'string')) fail('args must be a list of strings')
    init.argv.push(...argv as string[])
  }
  if (env !== undefined) {
    if (env === null || typeof env !== 'object' || Array.isArray(env) || env instanceof Uint8Array) return fail('env must be a map of strings')
    for (const [key, value] of Object.entries(env)) {
      if (typeof value !== 'string' || key.includes('=')) fail(`env ${JSON.stringify(key)} must be a string, and names cannot hold "="`)
      init.env[key] = value as string
    }
  }
  if (stdin !== undefined) {
    if (typeof stdin === 'string') init.stdin = encoder.encode(stdin)
    else if (stdin instanceof Uint8Array) init.stdin = stdin
    else fail('stdin must be a string or bytes')
  }
  return init
}

/** Throws `UnsupportedAbi` unless a command's entry point is `() -> ()`. */
export function checkCommandEntry (moduleCid: string, func: string, type: SignatureSummary): void {
  const { params, results } = type
  if (params.length !== 0 || results.length !== 0) {
    throw new TaskError('UnsupportedAbi', `${func} has signature (${params.join(', ')}) -> (${results.join(', ')}), but module ${moduleCid} is a WASI command, whose entry points take and return nothing (call _start)`, { module: moduleCid, func })
  }
}

/** What a command produced. */
export interface CommandResult {
  /** Its stdout. */
  stdout: Uint8Array
  /** Its stderr (UTF-8, invalid sequences replaced). */
  stderr: string
  /** Its exit code: 0 when `_start` returned. */
  exitCode: number
}

/**
 * Runs a WASI command to its end. A non-zero exit is returned here, not
 * thrown: the caller decides (the worker makes it an `ExitCode` error, keeping
 * stderr). Traps, `OutOfFuel` and the like are thrown as usual.
 */
export function runCommand (guest: Guest, host: WasiHost): CommandResult {
  checkCommandEntry(guest.moduleCid, guest.func, guest.exported.type)
  let exitCode = 0
  try {
    guest.run.call(guest.exported.name)
  } catch (err) {
    if (!(err instanceof ProcExit)) throw err
    exitCode = err.code
  }
  return { stdout: host.stdout(), stderr: host.stderr(), exitCode }
}

/** The error of a command that exited with a non-zero code. */
export function exitCodeError (func: string, exitCode: number): TaskError {
  return new TaskError('ExitCode', `${func} exited with code ${exitCode}`, { func, code: exitCode })
}
