import test from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { writeFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as dagJson from '@ipld/dag-json'
import { tempDir, wat, MATH_WAT, task } from '../helpers.js'
import { cidOf, codecs } from '../../src/model/block.js'
import { instructionCid } from '../../src/model/instruction.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const bin = join(root, 'dist/src/cli/bin.js')
const example = (path: string): string => join(root, 'examples', path)

interface Result { code: number, stdout: string, stderr: string }

async function ipvm (args: string[], home: string): Promise<Result> {
  return await new Promise(resolve => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, IPVM_HOME: home, NO_COLOR: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

/** No stack trace ever reaches a user. */
function assertClean (result: Result): void {
  assert.doesNotMatch(result.stderr + result.stdout, /\n\s+at .+:\d+:\d+/, 'printed a stack trace')
}

/** A node home with the test math module added through the CLI, and a scratch directory. */
async function homeWithMath (t: { after: (fn: () => Promise<void>) => void }): Promise<{ home: string, dir: string, module: ReturnType<typeof cidOf> }> {
  const home = await tempDir(t)
  const dir = await tempDir(t)
  const math = await wat(MATH_WAT)
  await writeFile(join(dir, 'math.wasm'), math)
  assert.equal((await ipvm(['add', join(dir, 'math.wasm')], home)).code, 0)
  return { home, dir, module: cidOf(math, codecs.raw) }
}

const expected = JSON.parse(await readFile(example('workflows/expected.json'), 'utf8')) as Record<string, Array<number | string>>

test('add, run (twice), receipt: the README walk-through', async t => {
  const home = await tempDir(t)
  const added = await ipvm(['add', example('build/arith.wasm'), example('build/text.wasm'), example('build/hashchain.wasm'), example('data/essay.txt')], home)
  assert.equal(added.code, 0, added.stderr)
  assert.match(added.stdout, /^added bafkrei\w+ .*arith\.wasm \(\d+ bytes\)$/m)

  const first = await ipvm(['run', example('workflows/arith.json')], home)
  assert.equal(first.code, 0, first.stderr)
  assert.match(first.stdout, /#\s+task\s+InID\s+status\s+result\s+fuel\s+time\s+cached/)
  assert.match(first.stdout, /add_one\s+bafyrei\w+\s+ok\s+21\s+\d+\s+[\d.]+ [µm]?s/)
  assert.match(first.stdout, /5 tasks, 5 ok, 0 cached, 5 executed/)
  assert.match(first.stdout, /add_one\s+bafyrei\w+\s+ok\s+21/)

  const second = await ipvm(['run', example('workflows/arith.json'), '--json'], home)
  assert.equal(second.code, 0)
  const report = JSON.parse(second.stdout)
  assert.equal(report.ok, true)
  assert.equal(report.executed, 0)
  assert.equal(report.cached, 5)
  assert.deepEqual(report.tasks.map((task: any) => task.out.ok), expected['arith.json'])
  assert.ok(report.tasks.every((task: any) => task.cached === true && /^bafyrei/.test(task.receipt) && /^bafyrei/.test(task.outcomeDigest)))

  const shown = await ipvm(['receipt', report.tasks[4].instruction], home)
  assert.equal(shown.code, 0, shown.stderr)
  const receipt = JSON.parse(shown.stdout)
  assert.deepEqual(receipt.out, { ok: 63 })
  assert.match(receipt.ran['/'], /^bafyrei/)
  assert.deepEqual(receipt.fx, { fork: [] })

  const withInvocation = JSON.parse((await ipvm(['receipt', '--invocation', report.tasks[0].instruction], home)).stdout)
  assert.equal(withInvocation.invocation.task.run['/'], report.tasks[0].instruction)

  // The file-input pipeline: exact i64 values across modules.
  const text = await ipvm(['run', '--json', example('workflows/text.json')], home)
  assert.equal(text.code, 0, text.stderr)
  // DAG-JSON keeps every digit of the i64 results (JSON.parse would round them).
  const values = dagJson.decode<any>(new TextEncoder().encode(text.stdout)).tasks.map((task: any) => task.out.ok)
  assert.deepEqual(values.map(String), expected['text.json']?.map(String))
  assert.equal(typeof values[2], 'bigint')
})

test('a missing module fails its task, names the CID and exits 1', async t => {
  const home = await tempDir(t)
  const result = await ipvm(['run', example('workflows/arith.json')], home)
  assert.equal(result.code, 1)
  assertClean(result)
  assert.match(result.stdout, /ModuleNotFound: module bafkrei\w+ is not in the store; add it with `ipvm add FILE`/)
  assert.match(result.stdout, /5 failed/)
})

test('invalid workflows exit 2 with the JSON path of the problem', async t => {
  const home = await tempDir(t)
  const dir = await tempDir(t)
  const cases: Array<[string, RegExp]> = [
    ['{"tasks": [ {"run": } ]}', /not valid JSON at line 1, column \d+/],
    ['{"tasks": [{"run": {"rsc": "ipfs://bafkreid5a4tieythwmatz36cnoapkrxsrgldsz4cpcrvgkn6uugo7r4zyq", "op": "wasm/go", "input": {"func": "f"}}}]}', /tasks\[0\]\.run\.op: unknown op "wasm\/go"/],
    ['{"tasks": [{"run": {"rsc": "ipfs://nope", "op": "wasm/run", "input": {"func": "f"}}}]}', /tasks\[0\]\.run\.rsc: "ipfs:\/\/nope" is not/],
    ['[1, 2]', /a workflow is a map/]
  ]
  for (const [content, message] of cases) {
    const file = join(dir, 'bad.json')
    await writeFile(file, content)
    const result = await ipvm(['run', file], home)
    assert.equal(result.code, 2, content)
    assertClean(result)
    assert.match(result.stderr, message)
  }
  const missing = await ipvm(['run', join(dir, 'missing.json')], home)
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /cannot read workflow .*missing\.json: no such file/)
})

test('usage errors: unknown command, unknown flag, missing argument, bad CID', async t => {
  const home = await tempDir(t)
  const cases: Array<[string[], number, RegExp]> = [
    [['frobnicate'], 2, /unknown command "frobnicate"/],
    [['run', '--turbo', 'x.json'], 2, /Unknown option '--turbo'.*ipvm run --help/],
    [['run'], 2, /needs exactly one WORKFLOW/],
    [['run', 'x.json', '--workers', 'many'], 2, /--workers must be an integer/],
    [['add'], 2, /at least one FILE/],
    [['receipt', 'not-a-cid'], 2, /is not a CID/],
    [['receipt', 'bafyreiairz26wffhgze6slc6vh3gz3b3c4uuy2yl6dhalatu5ml6teshqm'], 1, /no receipt for bafyrei/]
  ]
  for (const [args, code, message] of cases) {
    const result = await ipvm(args, home)
    assert.equal(result.code, code, args.join(' '))
    assertClean(result)
    assert.match(result.stderr, message, args.join(' '))
  }
})

test('add keeps going past a bad file and exits 1; --raw refuses files over 2 MiB', async t => {
  const home = await tempDir(t)
  const dir = await tempDir(t)
  const big = join(dir, 'big.bin')
  await writeFile(big, new Uint8Array(3 * 1024 * 1024))
  const result = await ipvm(['add', '--json', join(dir, 'nope.txt'), example('data/essay.txt')], home)
  assert.equal(result.code, 1)
  const out = JSON.parse(result.stdout)
  assert.equal(out.added.length, 1)
  assert.equal(out.failed[0].error.includes('no such file'), true)
  const raw = await ipvm(['add', '--raw', big], home)
  assert.equal(raw.code, 1)
  assert.match(raw.stderr, /over|holds at most/)
  const quiet = await ipvm(['add', '-q', big], home)
  assert.match(quiet.stdout, /^bafybei\w+\n$/)
})

test('--help and --version', async t => {
  const home = await tempDir(t)
  const help = await ipvm(['--help'], home)
  assert.equal(help.code, 0)
  for (const command of ['run', 'add', 'receipt']) {
    assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'))
    const own = await ipvm([command, '--help'], home)
    assert.equal(own.code, 0)
    assert.match(own.stdout, new RegExp(`^Usage: ipvm ${command}`))
  }
  assert.match((await ipvm(['--version'], home)).stdout, /^ipvm \d+\.\d+\.\d+/)
})

test('a file that is not Wasm, used as a module, gives an InvalidModule receipt and exit 1', async t => {
  const home = await tempDir(t)
  const added = await ipvm(['add', '-q', example('data/essay.txt')], home)
  const cid = added.stdout.trim()
  const dir = await tempDir(t)
  const file = join(dir, 'w.json')
  await writeFile(file, JSON.stringify({ tasks: [{ run: { rsc: `ipfs://${cid}`, op: 'wasm/run', input: { func: 'main', args: [] }, nnc: '' } }] }))
  const result = await ipvm(['run', file], home)
  assert.equal(result.code, 1)
  assertClean(result)
  assert.match(result.stdout, /InvalidModule: module bafkrei\w+: invalid module at byte \d+/)
})

test('Ctrl-C stops the run cleanly: exit 130, the interrupted task not recorded, no stack trace', async t => {
  const { home, dir, module } = await homeWithMath(t)
  const file = join(dir, 'spin.json')
  await writeFile(file, JSON.stringify({ tasks: [task(module, 'spin', [], { time: 60_000 }), task(module, 'add', [1, 2])] }))
  const child = spawn(process.execPath, [bin, 'run', file], { env: { ...process.env, IPVM_HOME: home, NO_COLOR: '1' } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', chunk => { stdout += chunk })
  child.stderr.on('data', chunk => { stderr += chunk })
  setTimeout(() => child.kill('SIGINT'), 1500)
  const code = await new Promise<number | null>(resolve => child.on('exit', resolve))
  assert.equal(code, 130, stderr)
  assert.match(stderr, /interrupted: stopping/)
  assert.match(stdout, /spin\s+bafyrei\w+\s+not run/)
  assertClean({ code: 130, stdout, stderr })
  const spinId = /spin\s+(bafyrei\w+)/.exec(stdout)?.[1] as string
  const receipt = await ipvm(['receipt', spinId], home)
  assert.equal(receipt.code, 1, 'an interrupted task leaves no receipt behind')
  assert.match(receipt.stderr, /no receipt for/)
})

test('run --proof: a requester delegates to the node; caveats are enforced and receipts verify offline', async t => {
  const requester = await tempDir(t)
  const home = await tempDir(t)
  const nodeId = JSON.parse((await ipvm(['id', '--json'], home)).stdout)
  assert.match(nodeId.did, /^did:key:z6Mk/)
  const proof = join(requester, 'proof.car')
  const delegated = await ipvm(['delegate', '--to', nodeId.did, '--can', 'wasm/run', '--max-fuel', '1000000000', '--expires', '1h', '--out', proof], requester)
  assert.equal(delegated.code, 0, delegated.stderr)
  await ipvm(['add', example('build/arith.wasm'), example('build/mandelbrot.wasm')], home)

  const heavy = await ipvm(['run', '--json', '--proof', proof, example('workflows/mandelbrot.json')], home)
  assert.equal(heavy.code, 1)
  const heavyReport = JSON.parse(heavy.stdout)
  assert.deepEqual(heavyReport.tasks.map((task: any) => task.out.error.name), ['CaveatExceeded', 'CaveatExceeded', 'CaveatExceeded', 'CaveatExceeded', 'DependencyFailed'])
  assert.equal(heavyReport.executed, 0)

  const light = await ipvm(['run', '--json', '--proof', proof, example('workflows/arith.json')], home)
  assert.equal(light.code, 0, light.stderr)
  const receiptCid = JSON.parse(light.stdout).tasks[4].receipt
  const verified = await ipvm(['verify-receipt', '--require-chain', receiptCid], home)
  assert.equal(verified.code, 0, verified.stderr)
  assert.match(verified.stdout, /signature valid/)

  const garbage = join(requester, 'garbage.car')
  await writeFile(garbage, 'not a delegation')
  const bad = await ipvm(['run', '--proof', garbage, example('workflows/arith.json')], home)
  assert.equal(bad.code, 1)
  assertClean(bad)
  assert.match(bad.stderr, /proof .*garbage\.car/)
})

test('SIGKILL mid-run loses nothing: the rerun answers finished tasks from the store and runs the rest', async t => {
  const { home, dir, module } = await homeWithMath(t)
  const quick = task(module, 'add', [20, 22])
  const slow = task(module, 'spin', [], { time: 60_000, nnc: 'slow' })
  ;(slow as any).meta.fuel = 2 ** 46
  const file = join(dir, 'kill.json')
  await writeFile(file, JSON.stringify({ tasks: [quick, slow] }))
  const child = spawn(process.execPath, [bin, 'run', file], { env: { ...process.env, IPVM_HOME: home, NO_COLOR: '1' } })
  // Wait until the quick task's receipt is on disk (another process reading the same LMDB store).
  const deadline = Date.now() + 20_000
  let recorded = false
  const inid = instructionCid((quick as any).run).toString()
  while (!recorded && Date.now() < deadline) {
    recorded = (await ipvm(['receipt', inid], home)).code === 0
    if (!recorded) await new Promise(resolve => setTimeout(resolve, 100))
  }
  assert.ok(recorded, 'the quick task was recorded while the slow one spins')
  child.kill('SIGKILL')
  await new Promise(resolve => child.on('exit', resolve))

  // Rerun with a short limit for the slow task's sake: the quick one must come from the store.
  ;(slow as any).meta.time = 300
  await writeFile(file, JSON.stringify({ tasks: [quick, slow] }))
  const rerun = await ipvm(['run', '--json', file], home)
  const report = JSON.parse(rerun.stdout)
  assert.equal(report.tasks[0].cached, true)
  assert.equal(report.tasks[0].out.ok, 42)
  assert.equal(report.tasks[1].out.error.name, 'Timeout')
  assert.equal(report.executed, 1)
})

test('network commands: misuse exits 2 with a clear message; an unreachable scheduler exits 1, no stack trace', async t => {
  const home = await tempDir(t)
  const cases: Array<[string[], RegExp]> = [
    [['node'], /--role must be one of scheduler, executor, verifier/],
    [['node', '--role', 'executor'], /--listen ADDR is required/],
    [['node', '--role', 'executor', '--listen', 'not-an-address'], /--listen not-an-address: not a multiaddr/],
    [['node', '--role', 'verifier', '--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', '/ip4/127.0.0.1/tcp/4001'], /has no \/p2p\/<peerId>/],
    [['node', '--role', 'scheduler', '--listen', '/ip4/127.0.0.1/tcp/0', '--workers', '2'], /--workers is for executors and verifiers/],
    [['node', '--role', 'executor', '--listen', '/ip4/127.0.0.1/tcp/0', '--sample-rate', '0.1'], /--sample-rate is for schedulers and verifiers/],
    [['node', '--role', 'verifier', '--listen', '/ip4/127.0.0.1/tcp/0', '--sample-rate', '1.5'], /--sample-rate must be a number from 0 to 1/],
    [['node', '--role', 'executor', '--listen', '/ip4/127.0.0.1/tcp/0', '--dishonest-cheat-rate', 'often'], /--dishonest-cheat-rate must be a number from 0 to 1/],
    [['node', '--role', 'scheduler', '--listen', '/ip4/127.0.0.1/tcp/0', '--trust-verifier', 'did:web:x'], /--trust-verifier did:web:x is not a did:key/],
    [['node', '--role', 'scheduler', '--listen', '/ip4/127.0.0.1/tcp/0', '--price', '3'], /--price is for executors/],
    [['node', '--role', 'executor', '--listen', '/ip4/127.0.0.1/tcp/0', '--faucet', '10'], /--faucet is for schedulers/],
    [['node', '--role', 'executor', '--listen', '/ip4/127.0.0.1/tcp/0', '--price', '2', '--min-price', '5'], /--min-price must not be above --price/],
    [['node', '--role', 'executor', '--listen', '/ip4/127.0.0.1/tcp/0', '--refuse-module', 'nope'], /--refuse-module nope is not a CID/],
    [['deposit', '100'], /give the scheduler with --scheduler ADDR/],
    [['deposit', 'lots', '--scheduler', '/ip4/127.0.0.1/tcp/9/p2p/12D3KooWJ4fingZMB8K3SbTP3nZwNrhdorfuY6UURAihFyZV7PKH'], /--AMOUNT must be an integer/],
    [['deposit', '5', '--to', 'did:web:example.com', '--scheduler', '/ip4/127.0.0.1/tcp/9/p2p/12D3KooWJ4fingZMB8K3SbTP3nZwNrhdorfuY6UURAihFyZV7PKH'], /--to did:web:example.com is not a did:key/],
    [['balance', 'a', 'b'], /at most one DID/],
    [['verifiers', 'extra'], /ipvm verifiers takes no arguments/],
    [['run', '--local', '--verifiers', '2', 'flow.json'], /--verifiers is for the devnet/],
    [['run', '--sample-rate', '2', 'flow.json'], /--sample-rate must be a number from 0 to 1/],
    [['status'], /needs one WORKFLOW/],
    [['submit', example('workflows/arith.json')], /give the scheduler with --scheduler ADDR/],
    [['submit', '--scheduler', '/ip4/127.0.0.1/tcp/1', example('workflows/arith.json')], /has no \/p2p\/<peerId>/],
    [['devnet', '--listen', '/ip4/10.0.0.1/tcp/4001'], /--listen must be a loopback address/],
    [['devnet', '--executors', '0'], /--executors must be an integer from 1 to 16/],
    [['run', '--local', '--executors', '2', example('workflows/arith.json')], /--executors is for the devnet/]
  ]
  for (const [args, message] of cases) {
    const result = await ipvm(args, home)
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
    assert.match(result.stderr, message)
    assertClean(result)
  }
  // Nobody listens there: a named error, exit 1.
  const gone = await ipvm(['submit', '--reconnect', '0', '--scheduler', '/ip4/127.0.0.1/tcp/9/p2p/12D3KooWJ4fingZMB8K3SbTP3nZwNrhdorfuY6UURAihFyZV7PKH', example('workflows/arith.json')], home)
  assert.equal(gone.code, 1, gone.stderr)
  assert.match(gone.stderr, /scheduler/)
  assertClean(gone)
  for (const args of [['balance'], ['executors'], ['status', example('workflows/arith.json')], ['deposit', '10']]) {
    const unreachable = await ipvm([...args, '--scheduler', '/ip4/127.0.0.1/tcp/9/p2p/12D3KooWJ4fingZMB8K3SbTP3nZwNrhdorfuY6UURAihFyZV7PKH'], home)
    assert.equal(unreachable.code, 1, unreachable.stderr)
    assert.match(unreachable.stderr, /cannot reach the scheduler at \/ip4\/127\.0\.0\.1\/tcp\/9/)
    assertClean(unreachable)
  }
})
