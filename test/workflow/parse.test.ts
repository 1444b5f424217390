import test from 'node:test'
import assert from 'node:assert/strict'
import { parseWorkflow } from '../../src/workflow/parse.js'
import { WorkflowValidationError } from '../../src/errors.js'

const MODULE = 'bafkreidgxzucs63ums2yhzs4unin5a3vjemapc373rypon63kdp5xoqlzm'
const enc = (text: string): Uint8Array => new TextEncoder().encode(text)
const good = (run: Record<string, unknown> = {}, rest: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ run: { rsc: `ipfs://${MODULE}`, op: 'wasm/run', input: { func: 'add', args: [1, 2] }, nnc: '', ...run }, meta: {}, prf: [], ...rest })

/** The issues a workflow is rejected with. */
function issues (file: unknown): Array<{ path: string, message: string }> {
  const bytes = typeof file === 'string' ? enc(file) : enc(JSON.stringify(file))
  try {
    parseWorkflow(bytes, 'test.json')
  } catch (err) {
    assert.ok(err instanceof WorkflowValidationError, `expected WorkflowValidationError, got ${String(err)}`)
    assert.equal(err.name, 'WorkflowValidationError')
    assert.match(err.message, /^invalid workflow test\.json:/)
    return err.issues
  }
  assert.fail('the workflow was accepted')
}

function assertIssue (file: unknown, path: string, message: RegExp): void {
  const found = issues(file)
  assert.ok(found.some(i => i.path === path && message.test(i.message)), `no issue at ${path} matching ${message}; got ${JSON.stringify(found)}`)
}

test('a Homestar workflow file parses, including its u64::MAX fuel spelling and null cause', () => {
  const text = `{"tasks": [{"cause": null, "meta": {"fuel": 18446744073709552000, "memory": 4294967296, "time": 100000},
    "prf": [], "run": {"input": {"args": [1], "func": "add_one"}, "nnc": "", "op": "wasm/run", "rsc": "ipfs://${MODULE}"}}]}`
  const workflow = parseWorkflow(enc(text), 'homestar.json')
  assert.equal(workflow.tasks.length, 1)
  const [first] = workflow.tasks
  assert.equal(first?.module.toString(), MODULE)
  assert.equal(first?.meta.fuel, 2n ** 64n - 1n)
  assert.equal(first?.meta.memory, 4294967296)
  assert.equal(first?.meta.time, 100000)
  assert.equal(first?.cause, undefined)
  assert.equal(first?.path, 'tasks[0]')
})

test('rsc may be ipfs://CID, /ipfs/CID or a bare CID; nnc defaults to ""', () => {
  for (const rsc of [`ipfs://${MODULE}`, `/ipfs/${MODULE}`, MODULE]) {
    const workflow = parseWorkflow(enc(JSON.stringify({ tasks: [good({ rsc, nnc: undefined })] })))
    assert.equal(workflow.tasks[0]?.module.toString(), MODULE)
    assert.equal(workflow.tasks[0]?.instruction.nnc, '')
    assert.equal(workflow.tasks[0]?.instruction.rsc, rsc, 'rsc is kept as written, so InIDs match other implementations')
  }
})

test('arguments may be numbers, strings, lists, maps, links, bytes and exact big integers', () => {
  const text = `{"tasks": [{"run": {"rsc": "${MODULE}", "op": "wasm/run", "nnc": "",
    "input": {"func": "f", "args": [1, -2.5, "s", [1, [2]], {"k": "v"}, {"/": "${MODULE}"}, {"/": {"bytes": "AQID"}}, 9007199254740993]}}}]}`
  const args = parseWorkflow(enc(text)).tasks[0]?.instruction.input.args as unknown[]
  assert.equal(args[0], 1)
  assert.equal(args[1], -2.5)
  assert.equal(args[2], 's')
  assert.deepEqual(args[3], [1, [2]])
  assert.deepEqual(args[4], { k: 'v' })
  assert.equal(String(args[5]), MODULE)
  assert.deepEqual(args[6], new Uint8Array([1, 2, 3]))
  assert.equal(args[7], 9007199254740993n)
})

test('malformed JSON is located by line and column', () => {
  const found = issues('{\n  "tasks": [\n    {"run": },\n  ]\n}')
  assert.equal(found[0]?.path, '(file)')
  assert.match(found[0]?.message ?? '', /not valid JSON at line 3, column 13/)
  assert.match(issues('')[0]?.message ?? '', /empty/)
  assert.match(issues('{"tasks": [')[0]?.message ?? '', /not valid JSON/)
  assert.match(issues(new TextDecoder().decode(new Uint8Array([0xff, 0xfe])))[0]?.message ?? '', /JSON|UTF-8/)
})

test('structural problems name their JSON path', () => {
  assertIssue([], '(root)', /a workflow is a map/)
  assertIssue({}, 'tasks', /missing/)
  assertIssue({ tasks: {} }, 'tasks', /must be a list/)
  assertIssue({ tasks: [] }, 'tasks', /no tasks/)
  assertIssue({ tasks: [good()], extra: 1 }, 'extra', /unknown workflow key/)
  assertIssue({ tasks: [7] }, 'tasks[0]', /must be a map/)
  assertIssue({ tasks: [{ meta: {} }] }, 'tasks[0].run', /missing/)
  assertIssue({ tasks: [good(), good({ op: 'wasm/fly' })] }, 'tasks[1].run.op', /unknown op "wasm\/fly"/)
  assertIssue({ tasks: [good({ op: undefined })] }, 'tasks[0].run.op', /missing/)
  assertIssue({ tasks: [good({ rsc: 'https://example.com/m.wasm' })] }, 'tasks[0].run.rsc', /is not ipfs:\/\/CID/)
  assertIssue({ tasks: [good({ rsc: 42 })] }, 'tasks[0].run.rsc', /must be a string/)
  assertIssue({ tasks: [good({ input: { args: [] } })] }, 'tasks[0].run.input.func', /missing/)
  assertIssue({ tasks: [good({ input: { func: 'f', args: 3 } })] }, 'tasks[0].run.input.args', /must be a list/)
  assertIssue({ tasks: [good({ input: 'f' })] }, 'tasks[0].run.input', /must be a map/)
  assertIssue({ tasks: [good({ input: { func: 'f', args: [], abi: 'cobol' } })] }, 'tasks[0].run.input.abi', /abi must be one of core, ipld, wasi, component/)
  assertIssue({ tasks: [good({ nnc: 1 })] }, 'tasks[0].run.nnc', /must be a string/)
  assertIssue({ tasks: [good({ fnc: 'x' })] }, 'tasks[0].run.fnc', /unknown instruction key/)
  assertIssue({ tasks: [good({}, { mtea: {} })] }, 'tasks[0].mtea', /unknown task key/)
})

test('meta limits are checked', () => {
  assertIssue({ tasks: [good({}, { meta: { time: -1 } })] }, 'tasks[0].meta.time', /positive integer/)
  assertIssue({ tasks: [good({}, { meta: { time: 1e9 } })] }, 'tasks[0].meta.time', /at most/)
  assertIssue({ tasks: [good({}, { meta: { memory: 0 } })] }, 'tasks[0].meta.memory', /positive integer/)
  assertIssue({ tasks: [good({}, { meta: { fuel: -5 } })] }, 'tasks[0].meta.fuel', /non-negative/)
  assertIssue({ tasks: [good({}, { meta: { fuel: 1.5 } })] }, 'tasks[0].meta.fuel', /non-negative integer/)
  assertIssue({ tasks: [good({}, { meta: { cpu: 1 } })] }, 'tasks[0].meta.cpu', /unknown meta key/)
  assertIssue({ tasks: [good({}, { meta: [] })] }, 'tasks[0].meta', /must be a map/)
})

test('malformed links and proofs are located', () => {
  assertIssue(`{"tasks": [{"run": {"rsc": "${MODULE}", "op": "wasm/run", "input": {"func": "f", "args": [{"/": "notacid"}]}}}]}`,
    'tasks[0].run.input.args[0]', /is not a CID/)
  assertIssue(`{"tasks": [{"run": {"rsc": "${MODULE}", "op": "wasm/run", "input": {"func": "f", "args": [{"/": "${MODULE}", "x": 1}]}}}]}`,
    'tasks[0].run.input.args[0]', /no other key/)
  assertIssue({ tasks: [good({}, { prf: ['x'] })] }, 'tasks[0].prf[0]', /must be a link/)
  assertIssue({ tasks: [good({}, { cause: 'x' })] }, 'tasks[0].cause', /must be a link/)
  assertIssue('{"tasks": [], "tasks": []}', '(file)', /repeat map key/)
})

test('every problem is reported at once', () => {
  const found = issues({ tasks: [good({ op: 'x' }), good({ rsc: 'y' }), 3] })
  assert.deepEqual(found.map(i => i.path), ['tasks[0].run.op', 'tasks[1].run.rsc', 'tasks[2]'])
})

test('oversized files are refused before parsing', () => {
  const huge = new Uint8Array(16 * 1024 * 1024 + 1).fill(0x20)
  assert.throws(() => parseWorkflow(huge, 'big.json'), (err: Error) => err.name === 'WorkflowValidationError' && /over the limit/.test(err.message))
})

test('a market section gives the budget\'s price and total as whole credits; anything else is named', () => {
  const workflow = parseWorkflow(enc(JSON.stringify({ tasks: [good()], market: { maxPrice: 5, budget: 1_000, sampleRate: 0.1 } })))
  assert.deepEqual(workflow.market, { maxPrice: 5, budget: 1_000, sampleRate: 0.1 })
  assertIssue({ tasks: [good()], market: { maxPrice: -1 } }, 'market.maxPrice', /non-negative whole number of credits per million fuel/)
  assertIssue({ tasks: [good()], market: { budget: 2.5 } }, 'market.budget', /non-negative whole number of credits/)
  assertIssue({ tasks: [good()], market: [] }, 'market', /market must be a map/)
})
