#!/usr/bin/env node
/**
 * Builds the example guest programs and renders the example workflows.
 *
 *   node examples/build.mjs           build, then (re)write stale workflow files
 *   node examples/build.mjs --check   build, then fail if a workflow file is stale
 *
 * 1. Every `examples/src/NAME.wat` is compiled with wabt into
 *    `examples/build/NAME.wasm` (core Wasm, MVP opcodes, no imports allowed),
 *    and the AssemblyScript guests listed in ASSEMBLYSCRIPT with `asc` (those in
 *    COMPONENTS then made WIT components with jco).
 * 2. Every module and every file under `examples/data/` gets its CID exactly as
 *    `ipfs add --cid-version 1` would compute it (UnixFS importer, defaults).
 * 3. Every `examples/workflows/NAME.template.json` is rendered into
 *    `examples/workflows/NAME.json`: placeholders are replaced, task names are
 *    stripped, and the result is Homestar's workflow format, 2-space JSON.
 * 4. `examples/build/manifest.json` records the CIDs, sizes and instruction CIDs.
 *
 * Placeholders (inside any JSON string of a template):
 *   {{NAME.wasm}}      CID of examples/build/NAME.wasm   e.g. "ipfs://{{arith.wasm}}"
 *   {{data/FILE}}      CID of examples/data/FILE         e.g. {"/": "{{data/essay.txt}}"}
 *   {{task:NAME}}      instruction CID (InID) of the earlier task whose template
 *                      has "name": "NAME"               e.g. {"await/ok": {"/": "{{task:sum}}"}}
 *
 * The InID is CIDv1(dag-cbor, sha2-256) of the DAG-CBOR encoding of exactly
 * `{rsc, op, input, nnc}` of the rendered task, read back through DAG-JSON so
 * that `{"/": "cid"}` objects are CID links. Rendering is deterministic and
 * files are only written when their bytes change.
 */
import { readFile, writeFile, readdir, mkdir } from 'node:fs/promises'
import { realpathSync } from 'node:fs'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import wabtInit from 'wabt'
import { importer } from 'ipfs-unixfs-importer'
import * as dagJson from '@ipld/dag-json'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'

const EXAMPLES = fileURLToPath(new URL('.', import.meta.url))
const SRC = join(EXAMPLES, 'src')
const DATA = join(EXAMPLES, 'data')
const BUILD = join(EXAMPLES, 'build')
const WORKFLOWS = join(EXAMPLES, 'workflows')
const TEMPLATE_SUFFIX = '.template.json'
const DAG_CBOR = 0x71
const PLACEHOLDER = /\{\{([^{}]+)\}\}/g

/** An error whose message is printed as is, without a stack trace. */
class BuildError extends Error {
  name = 'BuildError'
}

/**
 * The CID `ipfs add --cid-version 1` gives these bytes: the UnixFS importer
 * with its defaults (CIDv1, raw leaves, 256 KiB chunks, balanced layout).
 * Blocks are not kept; the importer only needs `put`.
 */
export async function unixfsCid (bytes) {
  const blockstore = {
    put: async (cid) => cid,
    get: async (cid) => { throw new Error(`block ${cid} is not kept`) }
  }
  let root
  for await (const entry of importer([{ content: bytes }], blockstore)) root = entry
  return root.cid
}

/** The instruction CID: CIDv1(dag-cbor, sha2-256) of DAG-CBOR `{rsc, op, input, nnc}`. */
export async function instructionCid (run) {
  // Through DAG-JSON, as a runtime reading the workflow file sees it: {"/": "…"} becomes a CID.
  const { rsc, op, input, nnc } = dagJson.decode(new TextEncoder().encode(JSON.stringify(run)))
  const digest = await sha256.digest(dagCbor.encode({ rsc, op, input, nnc }))
  return CID.createV1(DAG_CBOR, digest)
}

async function _listFiles (dir, suffix) {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (err) {
    if (err.code === 'ENOENT') return []
    throw err
  }
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix))
    .map((entry) => entry.name)
    .sort()
}

/** Writes `bytes` to `path` unless the file already holds exactly these bytes. */
async function _writeIfChanged (path, bytes) {
  const existing = await readFile(path).catch(() => null)
  if (existing !== null && Buffer.compare(existing, Buffer.from(bytes)) === 0) return false
  await writeFile(path, bytes)
  return true
}

async function _compileModules (wabt) {
  const modules = []
  for (const file of await _listFiles(SRC, '.wat')) {
    const name = file.slice(0, -'.wat'.length) + '.wasm'
    const text = await readFile(join(SRC, file), 'utf8')
    let buffer
    let parsed
    try {
      parsed = wabt.parseWat(file, text)
      parsed.resolveNames()
      parsed.validate()
      buffer = parsed.toBinary({ log: false, write_debug_names: false }).buffer
    } catch (err) {
      throw new BuildError(`cannot compile examples/src/${file}:\n${String(err.message ?? err).trim()}`)
    } finally {
      parsed?.destroy()
    }
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(buffer))
    if (imports.length > 0) {
      const list = imports.map((i) => `${i.module}.${i.name}`).join(', ')
      throw new BuildError(`examples/src/${file} imports ${list}: example guests must have no imports`)
    }
    await _writeIfChanged(join(BUILD, name), buffer)
    modules.push({ key: name, path: `build/${name}`, bytes: buffer.length, cid: (await unixfsCid(buffer)).toString() })
  }
  return modules
}

/**
 * AssemblyScript guests (`examples/src/NAME.ts`), compiled with the installed
 * `asc`: the options each needs (the IPLD ABI guest must not import
 * `env.abort`; the WASI command uses the WASI shim).
 */
const ASSEMBLYSCRIPT = {
  'stats.ts': ['--use', 'abort='],
  'wasi-tool.ts': ['--config', './node_modules/@assemblyscript/wasi-shim/asconfig.json'],
  'image.ts': ['--use', 'abort=']
}

/**
 * AssemblyScript guests that become WIT components: the core module follows
 * the canonical ABI by hand; its WIT (`examples/src/NAME.wit`, world WORLD) is
 * embedded with jco's `componentEmbed` and the result made a component with
 * `componentNew`, as wit-bindgen + wasm-tools would.
 */
const COMPONENTS = {
  'image.ts': { wit: 'image.wit', world: 'image' }
}

async function _makeComponent (core, { wit, world }) {
  const { componentEmbed, componentNew } = await import('@bytecodealliance/jco')
  const witSource = await readFile(join(SRC, wit), 'utf8')
  return await componentNew(await componentEmbed({ binary: core, witSource, world }))
}

async function _compileAssemblyScript () {
  const modules = []
  const root = join(EXAMPLES, '..')
  for (const [file, extra] of Object.entries(ASSEMBLYSCRIPT)) {
    const name = file.slice(0, -'.ts'.length) + '.wasm'
    const out = join(BUILD, name)
    try {
      await promisify(execFile)(process.execPath, [join(root, 'node_modules/assemblyscript/bin/asc.js'), join('examples/src', file), '-O3', '--runtime', 'stub', '-o', out, ...extra], { cwd: root })
    } catch (err) {
      throw new BuildError(`cannot compile examples/src/${file}:\n${String(err.stderr ?? err.message ?? err).trim()}`)
    }
    let bytes = await readFile(out)
    if (COMPONENTS[file] !== undefined) {
      try {
        bytes = Buffer.from(await _makeComponent(bytes, COMPONENTS[file]))
      } catch (err) {
        throw new BuildError(`cannot make examples/src/${file} a component:\n${String(err.message ?? err).trim()}`)
      }
      await _writeIfChanged(out, bytes)
    }
    modules.push({ key: name, path: `build/${name}`, bytes: bytes.length, cid: (await unixfsCid(bytes)).toString() })
  }
  return modules
}

async function _hashData () {
  const files = []
  for (const file of await _listFiles(DATA, '')) {
    const bytes = await readFile(join(DATA, file))
    files.push({ key: `data/${file}`, path: `data/${file}`, bytes: bytes.length, cid: (await unixfsCid(bytes)).toString() })
  }
  return files
}

/** Replaces every placeholder in every string of `value` (a JSON value). */
function _fill (value, resolve) {
  if (typeof value === 'string') return value.replace(PLACEHOLDER, (_, key) => resolve(key.trim()))
  if (Array.isArray(value)) return value.map((item) => _fill(item, resolve))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, _fill(item, resolve)]))
  }
  return value
}

async function _renderWorkflow (file, cids) {
  const where = `examples/workflows/${file}`
  let template
  try {
    template = JSON.parse(await readFile(join(WORKFLOWS, file), 'utf8'))
  } catch (err) {
    throw new BuildError(`cannot read ${where}: ${err.message}`)
  }
  if (!Array.isArray(template?.tasks)) throw new BuildError(`${where}: expected {"tasks": [...]}`)
  const extra = Object.keys(template).filter((key) => key !== 'tasks')
  if (extra.length > 0) throw new BuildError(`${where}: unexpected top-level keys ${extra.join(', ')}`)

  const instructionCids = new Map()
  const tasks = []
  const names = []
  for (const [index, { name, ...task }] of template.tasks.entries()) {
    const label = `${where} task ${index}${name === undefined ? '' : ` (${name})`}`
    const unknownKeys = Object.keys(task).filter((key) => !['run', 'meta', 'prf'].includes(key))
    if (unknownKeys.length > 0) throw new BuildError(`${label}: unexpected keys ${unknownKeys.join(', ')}`)
    if (task.run === undefined) throw new BuildError(`${label}: missing "run"`)
    const resolve = (key) => {
      if (key.startsWith('task:')) {
        const cid = instructionCids.get(key.slice('task:'.length))
        if (cid === undefined) throw new BuildError(`${label}: {{${key}}} names no earlier task (tasks must come after the tasks they await)`)
        return cid.toString()
      }
      const cid = cids.get(key)
      if (cid === undefined) throw new BuildError(`${label}: unknown placeholder {{${key}}}; known: ${[...cids.keys()].join(', ')}, task:NAME`)
      return cid
    }
    const rendered = _fill(task, resolve)
    const cid = await instructionCid(rendered.run)
    if (name !== undefined) {
      if (typeof name !== 'string' || name.length === 0) throw new BuildError(`${label}: "name" must be a non-empty string`)
      if (instructionCids.has(name)) throw new BuildError(`${label}: duplicate task name`)
      instructionCids.set(name, cid)
    }
    names.push({ name: name ?? null, instructionCid: cid.toString() })
    tasks.push({ run: rendered.run, meta: rendered.meta ?? {}, prf: rendered.prf ?? [] })
  }
  return { text: JSON.stringify({ tasks }, null, 2) + '\n', tasks: names }
}

async function main () {
  const check = process.argv.includes('--check')
  const started = performance.now()
  await mkdir(BUILD, { recursive: true })
  const wabt = await wabtInit()

  const modules = [...await _compileModules(wabt), ...await _compileAssemblyScript()]
  const data = await _hashData()
  const cids = new Map([...modules, ...data].map((entry) => [entry.key, entry.cid]))
  for (const entry of [...modules, ...data]) {
    console.log(`${entry.key.padEnd(18)} ${entry.cid}  ${entry.bytes} B`)
  }

  const workflows = {}
  const stale = []
  const written = []
  for (const file of await _listFiles(WORKFLOWS, TEMPLATE_SUFFIX)) {
    const output = file.slice(0, -TEMPLATE_SUFFIX.length) + '.json'
    const { text, tasks } = await _renderWorkflow(file, cids)
    workflows[output] = tasks
    const path = join(WORKFLOWS, output)
    if (check) {
      const existing = await readFile(path, 'utf8').catch(() => null)
      if (existing !== text) stale.push(output)
    } else if (await _writeIfChanged(path, text)) {
      written.push(output)
    }
  }

  const manifest = {
    modules: Object.fromEntries(modules.map(({ key, ...rest }) => [key, rest])),
    data: Object.fromEntries(data.map(({ key, ...rest }) => [key, rest])),
    workflows
  }
  await _writeIfChanged(join(BUILD, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')

  const count = Object.keys(workflows).length
  const ms = (performance.now() - started).toFixed(0)
  if (stale.length > 0) {
    throw new BuildError(`stale workflow files: ${stale.join(', ')}; run node examples/build.mjs to render them`)
  }
  const change = written.length > 0 ? `rendered ${written.join(', ')}` : 'all up to date'
  console.log(`workflows: ${count} (${change}); built in ${ms} ms`)
}

// Run only when executed directly, so check.mjs and tests can import the helpers.
function _isMain () {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (_isMain()) {
  main().catch((err) => {
    console.error(`examples/build.mjs: ${err instanceof BuildError ? err.message : err.stack}`)
    process.exitCode = 1
  })
}
