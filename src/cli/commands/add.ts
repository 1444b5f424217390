/**
 * `ipvm add FILE...`: import files into the block store.
 */
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { openLmdbRepo } from '../../store/lmdb-repo.js'
import { addFile, addRawBlock } from '../../store/unixfs.js'
import { IpvmError, UsageError, InputError } from '../../errors.js'
import { repoPath } from '../config.js'
import { commonOptions, commonHelp } from '../command.js'
import type { Command } from '../command.js'

export const add: Command = {
  name: 'add',
  summary: 'add files to the store and print their CIDs',
  help: `Usage: ipvm add [options] FILE...

Imports files into the node's block store and prints their CIDs. Files are
chunked as UnixFS with the defaults of \`ipfs add --cid-version 1\`, so the CIDs
are the ones IPFS gives. Use the CIDs as a workflow's \`rsc\` (modules) or as
\`{"/": "CID"}\` arguments (inputs). Every file is tried; the exit code is 1 if
any failed.

Options:
  --raw        store each file as one raw block (at most 2 MiB) instead of UnixFS
  -q, --quiet  print only the CIDs
${commonHelp}

Example:
  ipvm add examples/build/arith.wasm examples/data/essay.txt`,
  options: { ...commonOptions, raw: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' } },
  async run ({ values, positionals, env, stdout, stderr, signal }) {
    if (positionals.length === 0) throw new UsageError('ipvm add needs at least one FILE')
    const repo = openLmdbRepo({ path: repoPath(values.repo as string | undefined, env) })
    const added: Array<{ path: string, cid: string, size: number }> = []
    const failed: Array<{ path: string, error: string }> = []
    try {
      for (const path of positionals) {
        try {
          const result = values.raw === true
            ? await addRawBlock(repo.blocks, await readRaw(path), basename(path))
            : await addFile(repo.blocks, path, { signal })
          added.push({ path, cid: result.cid.toString(), size: result.size })
          if (values.json !== true) stdout.write(values.quiet === true ? `${result.cid}\n` : `added ${result.cid} ${path} (${result.size} bytes)\n`)
        } catch (err) {
          if (!(err instanceof IpvmError)) throw err
          failed.push({ path, error: err.message })
          stderr.write(`ipvm add: ${err.message}\n`)
        }
      }
    } finally {
      await repo.close()
    }
    if (values.json === true) stdout.write(JSON.stringify({ added, failed }, null, 2) + '\n')
    return failed.length === 0 ? 0 : 1
  }
}

async function readRaw (path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new InputError(`cannot add ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message}`)
  }
}
