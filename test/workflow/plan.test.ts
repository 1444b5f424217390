import test from 'node:test'
import assert from 'node:assert/strict'
import * as dagJson from '@ipld/dag-json'
import { CID } from 'multiformats/cid'
import { loadWorkflow, orderTasks } from '../../src/workflow/plan.js'
import { instructionCid } from '../../src/model/instruction.js'
import { hashes, cidOf, codecs } from '../../src/model/block.js'
import type { Instruction } from '../../src/model/types.js'

const MODULE = CID.parse('bafkreidgxzucs63ums2yhzs4unin5a3vjemapc373rypon63kdp5xoqlzm')
const instruction = (func: string, args: unknown[], nnc = ''): Instruction =>
  ({ rsc: `ipfs://${MODULE}`, op: 'wasm/run', input: { func, args } as Instruction['input'], nnc })
const file = (instructions: Instruction[]): Uint8Array => dagJson.encode({ tasks: instructions.map(run => ({ run, meta: {}, prf: [] })) })

function rejected (bytes: Uint8Array): Array<{ path: string, message: string }> {
  try {
    loadWorkflow(bytes, 'plan.json')
  } catch (err) {
    assert.equal((err as Error).name, 'WorkflowValidationError')
    return (err as { issues: Array<{ path: string, message: string }> }).issues
  }
  assert.fail('accepted')
}

test('promises resolve to tasks by sha2-256 and by sha3-256 InIDs, in any file order', () => {
  const a = instruction('add', [1, 2])
  const b = instruction('mul', [{ 'await/ok': instructionCid(a) }, 3])
  const c = instruction('add', [{ 'await/*': instructionCid(b, hashes.sha3_256) }, { 'await/ok': instructionCid(a, hashes.sha3_256) }])
  const plan = loadWorkflow(file([c, b, a]))
  assert.deepEqual(plan.tasks.map(t => t.dependsOn.sort()), [[1, 2], [2], []])
  assert.deepEqual(plan.order, [2, 1, 0])
  assert.equal(plan.tasks[0]?.awaits[0]?.selector, 'await/*')
  assert.equal(plan.tasks[0]?.awaits[0]?.path, 'tasks[0].run.input.args[0].await/*')
  assert.ok(plan.tasks[2]?.instructionCid.equals(instructionCid(a)))
})

test('promises nested inside lists and maps are found', () => {
  const a = instruction('add', [1, 2])
  const b = instruction('f', [[{ x: { 'await/ok': instructionCid(a) } }]])
  const plan = loadWorkflow(file([a, b]))
  assert.deepEqual(plan.tasks[1]?.dependsOn, [0])
  assert.equal(plan.tasks[1]?.awaits[0]?.path, 'tasks[1].run.input.args[0][0].x.await/ok')
})

test('a dangling promise is reported with its path', () => {
  const missing = instructionCid(instruction('nope', []))
  const found = rejected(file([instruction('f', [{ 'await/ok': missing }])]))
  assert.equal(found[0]?.path, 'tasks[0].run.input.args[0].await/ok')
  assert.match(found[0]?.message ?? '', /dangling promise: .* is not the InID of any task/)
})

test('duplicate instructions are reported; a different nonce makes them distinct', () => {
  const a = instruction('add', [1, 2])
  const found = rejected(file([a, instruction('x', []), a]))
  assert.equal(found[0]?.path, 'tasks[2]')
  assert.match(found[0]?.message ?? '', /same instruction as tasks\[0\].*different nnc/)
  assert.equal(loadWorkflow(file([a, instruction('add', [1, 2], 'again')])).tasks.length, 2)
})

test('malformed promises are reported', () => {
  const a = instruction('add', [1, 2])
  const cases: Array<[unknown, RegExp]> = [
    [{ 'await/maybe': instructionCid(a) }, /unknown promise "await\/maybe"/],
    [{ 'await/ok': 'bafy' }, /must name an instruction as a link/],
    [{ 'await/ok': instructionCid(a), extra: 1 }, /single key/],
    [{ 'await/ok': cidOf(new Uint8Array([1]), codecs.raw) }, /not an instruction CID/],
    [{ 'await/ok': CID.createV1(codecs.dagCbor, { code: 0x13, size: 2, digest: new Uint8Array([1, 2]), bytes: new Uint8Array([0x13, 2, 1, 2]) } as any) }, /multihash 0x13/]
  ]
  for (const [promise, message] of cases) {
    const found = rejected(file([a, instruction('f', [promise])]))
    assert.ok(found.some(i => i.path.startsWith('tasks[1].run.input.args[0]') && message.test(i.message)), `${message}: ${JSON.stringify(found)}`)
  }
})

test('orderTasks orders dependencies first and reports cycles', () => {
  assert.deepEqual(orderTasks([[], [0], [0, 1]]), { order: [0, 1, 2], cycles: [] })
  // Content addressing makes cycles impossible to write in a file (an InID would
  // have to contain itself), so the planner's cycle check is tested on the graph.
  const { order, cycles } = orderTasks([[], [2], [3], [1], [3]])
  assert.deepEqual(order, [0])
  assert.deepEqual(cycles.map(c => [...c].sort()), [[1, 2, 3]])
  assert.deepEqual(orderTasks([[0]]).cycles, [[0]])
})
