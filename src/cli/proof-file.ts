/**
 * Reading delegations given on the command line (`--proof FILE`).
 */
import { readFile } from 'node:fs/promises'
import { base64 } from 'multiformats/bases/base64'
import { extractDelegation } from '../auth/delegation.js'
import { InputError } from '../errors.js'
import type { Delegation } from '../auth/delegation.js'

/** Reads a delegation from a CAR file, or from a file holding the CAR as base64 text (what `ipvm delegate` prints). */
export async function readProof (path: string): Promise<Delegation> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new InputError(`cannot read proof ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
  }
  let result = extractDelegation(bytes)
  if (result.error !== undefined) {
    const text = new TextDecoder().decode(bytes).trim()
    if (/^m?[A-Za-z0-9+/]+=*$/.test(text)) {
      try {
        result = extractDelegation(text.startsWith('m') ? base64.decode(text) : base64.baseDecode(text))
      } catch {
        // Not base64 after all: report the CAR error below.
      }
    }
  }
  if (result.error !== undefined) throw new InputError(`proof ${path}: ${result.error.name}: ${result.error.message}`)
  return result.ok
}
