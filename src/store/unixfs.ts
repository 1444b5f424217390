/**
 * Files in and out of the block store, as UnixFS, with the IPFS project's own
 * importer and exporter: `addFile` gives the CIDs `ipfs add --cid-version 1` gives.
 */
import { createReadStream } from 'node:fs'
import { importer } from 'ipfs-unixfs-importer'
import { exporter } from 'ipfs-unixfs-exporter'
import { CID } from 'multiformats/cid'
import { cidOf, codecs } from '../model/block.js'
import { BlockNotFoundError, InputError } from '../errors.js'
import { MAX_RAW_BLOCK_BYTES } from '../constants.js'
import type { Blocks, AbortOptions } from './interface.js'

/** What {@link addFile} stored. */
export interface AddedFile {
  cid: CID
  /** File size in bytes. */
  size: number
}

/** The interface-blockstore shape the UnixFS importer and exporter expect. */
function unixfsBlockstore (blocks: Blocks): any {
  return {
    async put (cid: CID, bytes: Uint8Array) {
      await blocks.put(cid, bytes)
      return cid
    },
    async * get (cid: CID) {
      const bytes = await blocks.get(cid)
      if (bytes === undefined) throw new BlockNotFoundError(cid.toString())
      yield bytes
    },
    async has (cid: CID) { return await blocks.has(cid) }
  }
}

/**
 * Imports the file at `path` as UnixFS (CIDv1, raw leaves, 256 KiB chunks,
 * balanced layout with 174 links a node: the defaults of `ipfs add --cid-version 1`).
 */
export async function addFile (blocks: Blocks, path: string, options: AbortOptions = {}): Promise<AddedFile> {
  try {
    let size = 0
    const content = (async function * () {
      for await (const chunk of createReadStream(path)) {
        size += (chunk as Buffer).byteLength
        yield chunk as Uint8Array
      }
    })()
    let cid: CID | undefined
    for await (const entry of importer([{ content }], unixfsBlockstore(blocks), { cidVersion: 1, signal: options.signal } as any)) {
      cid = CID.asCID(entry.cid) ?? undefined
    }
    if (cid === undefined) throw new InputError(`nothing was imported from ${path}`)
    return { cid, size }
  } catch (err) {
    throw asInputError(err, path)
  }
}

/** Stores `bytes` as one raw block (codec 0x55, sha2-256), refusing blocks over {@link MAX_RAW_BLOCK_BYTES}. */
export async function addRawBlock (blocks: Blocks, bytes: Uint8Array, name = 'input'): Promise<AddedFile> {
  if (bytes.byteLength > MAX_RAW_BLOCK_BYTES) {
    throw new InputError(`${name} is ${bytes.byteLength} bytes; a raw block holds at most ${MAX_RAW_BLOCK_BYTES} (add it without --raw to chunk it as UnixFS)`)
  }
  const cid = cidOf(bytes, codecs.raw)
  await blocks.put(cid, bytes)
  return { cid, size: bytes.byteLength }
}

/** Options of {@link readBytes}. */
export interface ReadBytesOptions extends AbortOptions {
  /** Refuse content larger than this many bytes. */
  maxBytes?: number
  /** How the CID is named in errors, e.g. `module`. @default 'block' */
  what?: string
}

/**
 * The bytes a CID stands for: the file for UnixFS (DAG-PB) CIDs, the block
 * itself for raw and every other codec. Throws `BlockNotFoundError` naming the
 * missing CID, and `InputError` when the content is over `maxBytes`.
 */
export async function readBytes (blocks: Blocks, cid: CID, options: ReadBytesOptions = {}): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER
  const what = options.what ?? 'block'
  if (cid.code !== codecs.dagPb) {
    const bytes = await blocks.get(cid, options)
    if (bytes === undefined) throw new BlockNotFoundError(cid.toString(), what)
    if (bytes.byteLength > maxBytes) throw new InputError(`${what} ${cid} is ${bytes.byteLength} bytes, over the limit of ${maxBytes}`)
    return bytes
  }
  if (!await blocks.has(cid)) throw new BlockNotFoundError(cid.toString(), what)
  const entry = await exporter(cid, unixfsBlockstore(blocks), options)
  if (entry.type !== 'file' && entry.type !== 'raw' && entry.type !== 'identity') {
    throw new InputError(`${what} ${cid} is a UnixFS ${entry.type}, not a file`)
  }
  const size = Number(entry.size)
  if (size > maxBytes) throw new InputError(`${what} ${cid} is ${size} bytes, over the limit of ${maxBytes}`)
  const out = new Uint8Array(size)
  let offset = 0
  try {
    for await (const chunk of entry.content(options)) {
      if (offset + chunk.byteLength > size) throw new InputError(`${what} ${cid} holds more bytes than its UnixFS size says`)
      out.set(chunk, offset)
      offset += chunk.byteLength
    }
  } catch (err) {
    if (err instanceof BlockNotFoundError) throw new BlockNotFoundError(err.cid, `block of ${what} ${cid}:`)
    throw err
  }
  return out
}

function asInputError (err: unknown, path: string): Error {
  if (err instanceof InputError) return err
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return new InputError(`cannot add ${path}: no such file`)
  if (code === 'EISDIR') return new InputError(`cannot add ${path}: it is a directory (add the files in it)`)
  if (code === 'EACCES') return new InputError(`cannot add ${path}: permission denied`)
  return new InputError(`cannot add ${path}: ${(err as Error).message}`)
}
