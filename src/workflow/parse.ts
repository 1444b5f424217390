/**
 * Reads Homestar workflow files: `{"tasks": [{run, meta, prf, cause}, …]}`,
 * plus an optional `market` section. Every problem is reported with its JSON
 * path before anything runs.
 */
import * as dagJson from '@ipld/dag-json'
import { CID } from 'multiformats/cid'
import { WorkflowValidationError } from '../errors.js'
import { parseResource, WASM_RUN } from '../model/instruction.js'
import { isIpldMap } from '../model/block.js'
import { ABI_KINDS } from '../wasm/abi/select.js'
import { MAX_WORKFLOW_BYTES, MAX_WORKFLOW_TASKS, MAX_TASK_TIME_MS, MAX_REPORTED_ISSUES } from '../constants.js'
import type { ValidationIssue } from '../errors.js'
import type { IpldValue, Instruction, TaskMeta } from '../model/types.js'
import type { Workflow, WorkflowTask } from './types.js'

const textDecoder = new TextDecoder('utf-8', { fatal: true })
const TASK_KEYS = new Set(['run', 'meta', 'prf', 'cause'])
const RUN_KEYS = new Set(['rsc', 'op', 'input', 'nnc'])
const META_KEYS = new Set(['fuel', 'memory', 'time'])
const WORKFLOW_KEYS = new Set(['tasks', 'market', 'name'])
const ABIS: ReadonlySet<string> = new Set(ABI_KINDS)
const U64_MAX = 2n ** 64n - 1n

/** Collects issues with their paths; stops collecting past a bound. */
class Issues {
  readonly list: ValidationIssue[] = []
  add (path: string, message: string): void {
    if (this.list.length < MAX_REPORTED_ISSUES) this.list.push({ path, message })
    else if (this.list.length === MAX_REPORTED_ISSUES) this.list.push({ path: '…', message: 'more problems not shown' })
  }
}

function kindOf (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (value instanceof Uint8Array) return 'bytes'
  if (CID.asCID(value) !== null) return 'a link'
  if (typeof value === 'object') return 'a map'
  return `a ${typeof value}`
}

/** Line and column (1-based) of a character offset. */
function lineColumn (text: string, offset: number): string {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  const column = offset - before.lastIndexOf('\n')
  return `line ${line}, column ${column}`
}

/**
 * Decodes the file as DAG-JSON (links, bytes and exact big integers), with
 * syntax errors located by line and column.
 */
function decode (bytes: Uint8Array, source: string): unknown {
  let text: string
  try {
    text = textDecoder.decode(bytes)
  } catch {
    throw new WorkflowValidationError(source, [{ path: '(file)', message: 'not UTF-8 text' }])
  }
  if (text.trim() === '') throw new WorkflowValidationError(source, [{ path: '(file)', message: 'the file is empty' }])
  try {
    return dagJson.decode(bytes)
  } catch (dagJsonError) {
    // Not DAG-JSON. Plain JSON.parse tells a syntax error (located by line and
    // column) apart from valid JSON holding a malformed link or bytes.
    let plain: unknown
    try {
      plain = JSON.parse(text)
    } catch (err) {
      const message = (err as Error).message
      const position = /position (\d+)/.exec(message)?.[1] ?? /position (\d+)/.exec((dagJsonError as Error).message)?.[1]
      const where = position === undefined ? '' : ` at ${lineColumn(text, Number(position))}`
      const what = message.replace(/, "[\s\S]*" is not valid JSON$/, '').replace(/ in JSON at position \d+.*$/, '')
      throw new WorkflowValidationError(source, [{ path: '(file)', message: `not valid JSON${where}: ${what}` }])
    }
    const issues = new Issues()
    findMalformedLinks(plain, '', issues)
    if (issues.list.length === 0) issues.add('(file)', (dagJsonError as Error).message.replace(/^CBOR decode error: /, ''))
    throw new WorkflowValidationError(source, issues.list)
  }
}

function findMalformedLinks (value: unknown, path: string, issues: Issues): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => findMalformedLinks(item, `${path}[${i}]`, issues))
    return
  }
  if (typeof value !== 'object' || value === null) return
  const record = value as Record<string, unknown>
  if ('/' in record) {
    const slash = record['/']
    if (Object.keys(record).length !== 1) issues.add(path || '(root)', 'a map with a "/" key is a link or bytes and may hold no other key')
    else if (typeof slash === 'string') {
      try { CID.parse(slash) } catch (err) { issues.add(path || '(root)', `"${slash}" is not a CID: ${(err as Error).message}`) }
    } else if (typeof slash === 'object' && slash !== null && 'bytes' in slash) {
      if (typeof (slash as { bytes: unknown }).bytes !== 'string') issues.add(path, 'bytes must be given as {"/": {"bytes": "<base64>"}}')
    } else issues.add(path || '(root)', 'a "/" key must hold a CID string or {"bytes": "<base64>"}')
    return
  }
  for (const [key, item] of Object.entries(record)) findMalformedLinks(item, path === '' ? key : `${path}.${key}`, issues)
}

function checkMeta (value: unknown, path: string, issues: Issues): TaskMeta {
  const meta: TaskMeta = {}
  if (value === undefined || value === null) return meta
  if (!isIpldMap(value)) { issues.add(path, `meta must be a map, not ${kindOf(value)}`); return meta }
  for (const key of Object.keys(value)) {
    if (!META_KEYS.has(key)) issues.add(`${path}.${key}`, `unknown meta key (expected fuel, memory, time)`)
  }
  const { fuel, memory, time } = value
  if (fuel !== undefined) {
    // Homestar writes u64::MAX as 18446744073709552000 (2^64 after a float round trip):
    // any integer from 2^64-1 up means "the most fuel there is".
    const whole = typeof fuel === 'bigint' ? fuel : typeof fuel === 'number' && Number.isInteger(fuel) ? BigInt(fuel) : undefined
    if (whole === undefined || whole < 0n) issues.add(`${path}.fuel`, 'fuel must be a non-negative integer')
    else meta.fuel = whole >= U64_MAX ? U64_MAX : typeof fuel === 'number' && Number.isSafeInteger(fuel) ? fuel : whole
  }
  if (memory !== undefined) {
    if (typeof memory === 'number' && Number.isSafeInteger(memory) && memory > 0) meta.memory = memory
    else issues.add(`${path}.memory`, 'memory must be a positive integer number of bytes')
  }
  if (time !== undefined) {
    if (typeof time === 'number' && Number.isInteger(time) && time > 0 && time <= MAX_TASK_TIME_MS) meta.time = time
    else issues.add(`${path}.time`, `time must be a positive integer of milliseconds, at most ${MAX_TASK_TIME_MS}`)
  }
  return meta
}

function checkLinks (value: unknown, path: string, issues: Issues): CID[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) { issues.add(path, `must be a list of links, not ${kindOf(value)}`); return [] }
  const links: CID[] = []
  value.forEach((item, i) => {
    const cid = CID.asCID(item)
    if (cid === null) issues.add(`${path}[${i}]`, `must be a link {"/": "CID"}, not ${kindOf(item)}`)
    else links.push(cid)
  })
  return links
}

function checkTask (value: unknown, index: number, issues: Issues): WorkflowTask | undefined {
  const path = `tasks[${index}]`
  if (!isIpldMap(value)) { issues.add(path, `a task must be a map, not ${kindOf(value)}`); return undefined }
  for (const key of Object.keys(value)) {
    if (!TASK_KEYS.has(key)) issues.add(`${path}.${key}`, 'unknown task key (expected run, meta, prf, cause)')
  }
  const run = value.run
  if (!isIpldMap(run)) { issues.add(`${path}.run`, run === undefined ? 'missing: every task needs a run instruction' : `run must be a map, not ${kindOf(run)}`); return undefined }
  for (const key of Object.keys(run)) {
    if (!RUN_KEYS.has(key)) issues.add(`${path}.run.${key}`, 'unknown instruction key (expected rsc, op, input, nnc)')
  }
  const before = issues.list.length
  const { rsc, op, input, nnc } = run
  let module: CID | null = null
  if (typeof rsc !== 'string') issues.add(`${path}.run.rsc`, rsc === undefined ? 'missing: the module to run, as ipfs://CID' : `rsc must be a string, not ${kindOf(rsc)}`)
  else if ((module = parseResource(rsc)) === null) issues.add(`${path}.run.rsc`, `"${rsc}" is not ipfs://CID, /ipfs/CID or a CID`)
  if (typeof op !== 'string') issues.add(`${path}.run.op`, op === undefined ? `missing: the ability, "${WASM_RUN}"` : `op must be a string, not ${kindOf(op)}`)
  else if (op !== WASM_RUN) issues.add(`${path}.run.op`, `unknown op "${op}": this node runs "${WASM_RUN}" only`)
  if (nnc !== undefined && typeof nnc !== 'string') issues.add(`${path}.run.nnc`, `nnc must be a string, not ${kindOf(nnc)}`)
  if (!isIpldMap(input)) issues.add(`${path}.run.input`, input === undefined ? 'missing: {"func": …, "args": […]}' : `input must be a map, not ${kindOf(input)}`)
  else {
    const { func, args } = input
    if (typeof func !== 'string' || func === '') issues.add(`${path}.run.input.func`, func === undefined ? 'missing: the name of the exported function to call' : 'func must be a non-empty string')
    if (args !== undefined && !Array.isArray(args)) issues.add(`${path}.run.input.args`, `args must be a list, not ${kindOf(args)}`)
    const abi = input.abi
    if (abi !== undefined && !(typeof abi === 'string' && ABIS.has(abi))) issues.add(`${path}.run.input.abi`, `abi must be one of ${[...ABIS].join(', ')} (it forces the calling convention; usually it is chosen from the module)`)
  }
  const meta = checkMeta(value.meta, `${path}.meta`, issues)
  const prf = checkLinks(value.prf, `${path}.prf`, issues)
  let cause: CID | undefined
  if (value.cause !== undefined && value.cause !== null) {
    cause = CID.asCID(value.cause) ?? undefined
    if (cause === undefined) issues.add(`${path}.cause`, `cause must be a link to a receipt, not ${kindOf(value.cause)}`)
  }
  if (issues.list.length > before || module === null) return undefined
  const instruction: Instruction = { rsc: rsc as string, op: op as string, input: input as Instruction['input'], nnc: (nnc as string | undefined) ?? '' }
  const task: WorkflowTask = { index, path, instruction, module, meta, prf }
  if (cause !== undefined) task.cause = cause
  return task
}

/**
 * Parses and validates a workflow file. Throws `WorkflowValidationError`
 * listing every problem with its JSON path (syntax errors with line and column).
 * Dependencies between tasks are checked by `planWorkflow`.
 */
export function parseWorkflow (bytes: Uint8Array, source = 'workflow'): Workflow {
  if (bytes.byteLength > MAX_WORKFLOW_BYTES) {
    throw new WorkflowValidationError(source, [{ path: '(file)', message: `the file is ${bytes.byteLength} bytes, over the limit of ${MAX_WORKFLOW_BYTES}` }])
  }
  const value = decode(bytes, source)
  const issues = new Issues()
  if (!isIpldMap(value)) throw new WorkflowValidationError(source, [{ path: '(root)', message: `a workflow is a map {"tasks": […]}, not ${kindOf(value)}` }])
  for (const key of Object.keys(value)) {
    if (!WORKFLOW_KEYS.has(key)) issues.add(key, 'unknown workflow key (expected tasks, market, name)')
  }
  const tasks = value.tasks
  if (!Array.isArray(tasks)) {
    issues.add('tasks', tasks === undefined ? 'missing: a workflow needs a list of tasks' : `tasks must be a list, not ${kindOf(tasks)}`)
    throw new WorkflowValidationError(source, issues.list)
  }
  if (tasks.length === 0) issues.add('tasks', 'the workflow has no tasks')
  if (tasks.length > MAX_WORKFLOW_TASKS) {
    issues.add('tasks', `${tasks.length} tasks, over the limit of ${MAX_WORKFLOW_TASKS}`)
    throw new WorkflowValidationError(source, issues.list)
  }
  if (value.market !== undefined && !isIpldMap(value.market)) issues.add('market', `market must be a map, not ${kindOf(value.market)}`)
  else if (value.market !== undefined) {
    // What the requester's budget takes from the file: whole credits (per million fuel for the price).
    for (const key of ['maxPrice', 'budget']) {
      const amount = (value.market as { [key: string]: unknown })[key]
      if (amount !== undefined && !(typeof amount === 'number' && Number.isSafeInteger(amount) && amount >= 0)) issues.add(`market.${key}`, `${key} must be a non-negative whole number of credits${key === 'maxPrice' ? ' per million fuel' : ''}`)
    }
    // Verifiers whose attestation makes a result final (before the challenge window ends).
    const trusted = (value.market as { [key: string]: unknown }).trustedVerifiers
    if (trusted !== undefined && !(Array.isArray(trusted) && trusted.length <= 64 && trusted.every(did => typeof did === 'string' && /^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$/.test(did)))) {
      issues.add('market.trustedVerifiers', 'trustedVerifiers must be a list of at most 64 did:key DIDs')
    }
  }
  const checked: WorkflowTask[] = []
  tasks.forEach((task, index) => {
    const result = checkTask(task, index, issues)
    if (result !== undefined) checked.push(result)
  })
  if (issues.list.length > 0) throw new WorkflowValidationError(source, issues.list)
  const workflow: Workflow = { source, tasks: checked }
  if (value.market !== undefined) workflow.market = value.market as Workflow['market']
  return workflow
}
