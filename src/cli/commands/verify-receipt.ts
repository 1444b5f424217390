/**
 * `ipvm verify-receipt FILE|CID`: check a receipt's signature and its
 * invocation's delegation chain, offline, and say precisely what fails.
 */
import { existsSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { CarBufferReader } from '@ipld/car/buffer-reader'
import * as dagJson from '@ipld/dag-json'
import { CID } from 'multiformats/cid'
import { verifyReceipt } from '../../auth/sign.js'
import { matchesCid } from '../../auth/delegation.js'
import { openRevocationStore, revocationsPath } from '../../auth/revocations.js'
import { parsePrincipal } from '../../auth/principal.js'
import { openLmdbRepo } from '../../store/lmdb-repo.js'
import { encodeBlock } from '../../model/block.js'
import { UsageError, InputError } from '../../errors.js'
import { repoPath } from '../config.js'
import { commonOptions, commonHelp } from '../command.js'
import { parseWhen } from './delegate.js'
import type { Command } from '../command.js'
import type { Repo } from '../../store/interface.js'
import type { RevocationStore } from '../../auth/revocations.js'
import type { BlockGetter, DID } from '../../auth/types.js'
import type { VerifiedReceipt } from '../../auth/sign.js'

/** The receipt's bytes and any blocks that came with it (from a CAR). */
export interface Loaded { bytes: Uint8Array, blocks: Map<string, Uint8Array>, source: string }

/**
 * Reads a receipt file: a CAR whose root is the receipt (its other blocks are
 * kept, each checked against its CID), DAG-JSON text, else DAG-CBOR bytes.
 * Throws `InputError` (unreadable, `MalformedReceipt: …`).
 */
/** A command's RECEIPT argument: `undefined` for a file, the CID otherwise (`UsageError` when it is neither). */
export async function targetCid (target: string): Promise<CID | undefined> {
  if (await stat(target).then(info => info.isFile(), () => false)) return undefined
  try {
    return CID.parse(target)
  } catch {
    throw new UsageError(`"${target}" is neither a file nor a CID`)
  }
}

export async function loadFile (path: string): Promise<Loaded> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as Error).message}`)
  }
  const blocks = new Map<string, Uint8Array>()
  // A CAR: the root is the receipt, the other blocks its invocation, authorization, proofs, instruction.
  try {
    const reader = CarBufferReader.fromBytes(bytes)
    for (const block of reader.blocks()) {
      const cid = CID.asCID(block.cid) as CID
      if (!matchesCid(cid, block.bytes)) throw new InputError(`MalformedReceipt: block ${cid} in ${path} does not match its CID`)
      blocks.set(cid.toString(), block.bytes)
    }
    const [root] = reader.getRoots()
    const receipt = root === undefined ? undefined : blocks.get(root.toString())
    if (receipt === undefined) throw new InputError(`MalformedReceipt: ${path} is a CAR without its root block`)
    return { bytes: receipt, blocks, source: path }
  } catch (err) {
    if (err instanceof InputError) throw err
  }
  // DAG-JSON text (what `ipvm receipt` prints), else DAG-CBOR bytes.
  const first = bytes.find(byte => byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09)
  if (first === 0x7b) {
    try {
      return { bytes: encodeBlock(dagJson.decode(bytes)).bytes, blocks, source: path }
    } catch {
      throw new InputError(`MalformedReceipt: ${path} is neither DAG-JSON nor DAG-CBOR`)
    }
  }
  return { bytes, blocks, source: path }
}

/**
 * The receipt `cid` names in `repo`: the receipt recorded for an InID, else the
 * block `cid` itself. Throws `InputError` when there is none or its bytes are wrong.
 */
export async function loadStored (repo: Repo | undefined, cid: CID, home: string): Promise<Loaded> {
  const receiptCid = await repo?.receipts.get(cid) ?? cid
  const bytes = await repo?.blocks.get(receiptCid)
  if (bytes === undefined) throw new InputError(`no receipt ${cid} in ${home}`)
  if (!matchesCid(receiptCid, bytes)) throw new InputError(`MalformedReceipt: the stored bytes of ${receiptCid} do not match its CID`)
  return { bytes, blocks: new Map(), source: receiptCid.toString() }
}

function layered (first: Map<string, Uint8Array>, repo: Repo | undefined): BlockGetter {
  return {
    async get (cid: CID) {
      return first.get(cid.toString()) ?? await repo?.blocks.get(cid)
    }
  }
}

function algorithmOf (did: string): string {
  try {
    return parsePrincipal(did).signatureAlgorithm
  } catch {
    return 'unknown'
  }
}

function report (verified: VerifiedReceipt): string {
  const lines = [`receipt     ${verified.cid}`, `signed by   ${verified.issuer} (${algorithmOf(verified.issuer)}): signature valid`]
  const invocation = verified.invocation
  if (invocation === undefined) {
    lines.push(`invocation  ${verified.receipt.ran}: not available here, chain not checked`)
  } else {
    lines.push(`invocation  ${verified.receipt.ran}: signed by ${invocation.invoker}`)
    if (invocation.chain.length === 0) {
      lines.push('chain       none: self-issued by the executor on its own resource')
    } else {
      lines.push(`chain       ${invocation.chain.length} delegation${invocation.chain.length === 1 ? '' : 's'}, valid, none revoked:`)
      for (const cid of invocation.chain) lines.push(`              ${cid}`)
      const grant = invocation.grant
      lines.push(`grant       wasm/run on ${grant.with}: max fuel ${grant.maxFuel ?? 'any'}, max price ${grant.maxPrice ?? 'any'}, max spend ${grant.maxSpend ?? 'any'}, modules ${grant.modules?.map(String).join(', ') ?? 'any'}`)
    }
  }
  return lines.join('\n') + '\n'
}

export const verifyReceiptCommand: Command = {
  name: 'verify-receipt',
  summary: 'check a receipt\'s signature and its invocation\'s UCAN chain, offline',
  help: `Usage: ipvm verify-receipt [options] FILE|CID

Checks, without the network:
  1. the receipt's signature by its issuer (\`iss\`);
  2. when its invocation is available (in a CAR FILE or in the node's store),
     the invocation's signature and its delegation chain: every signature,
     each delegation narrowing its proof, expiry and not-before at --at, the
     node's revocations (\`ipvm revoke\`), and the task's module, fuel and
     price against the caveats.

FILE is a receipt as DAG-CBOR, as DAG-JSON (what \`ipvm receipt\` prints), or a
CAR whose root is the receipt and whose other blocks are its invocation,
authorization, instruction and proofs. Anything else is looked up as a CID: an
InID (the receipt recorded for it) or a receipt CID.

Exit status 0 when everything checked is valid; 1 with the name of the first
failure (Expired, NotValidBefore, WrongIssuer, InvalidSignature,
UnknownSignatureAlgorithm, BrokenChain, EscalatedCapability, CaveatExceeded,
Revoked, MalformedDelegation, MissingSignature…).

Options:
  --issuer DID      the receipt must be signed by DID
  --at WHEN         check the chain at this time (ISO date, or a duration from now) instead of now
  --require-chain   fail (MissingBlock) when the invocation is not available
${commonHelp}

Example:
  ipvm verify-receipt bafyrei…
  ipvm verify-receipt receipt.car --issuer did:key:z6Mk…`,
  options: { ...commonOptions, issuer: { type: 'string' }, at: { type: 'string' }, 'require-chain': { type: 'boolean' } },
  async run ({ values, positionals, env, stdout, stderr }) {
    if (positionals.length !== 1) throw new UsageError('ipvm verify-receipt needs exactly one FILE or CID')
    const target = positionals[0] as string
    const issuer = values.issuer as string | undefined
    if (issuer !== undefined && !issuer.startsWith('did:')) throw new UsageError(`--issuer "${issuer}" is not a DID`)
    const now = values.at === undefined ? undefined : parseWhen(values.at as string, Math.floor(Date.now() / 1000), 'at')
    const home = repoPath(values.repo as string | undefined, env)

    const cid = await targetCid(target)
    // The node's store and revocations, when this node has them (verification never creates a store).
    const repo = cid !== undefined || existsSync(join(home, 'store.lmdb')) ? openLmdbRepo({ path: home }) : undefined
    const revocations: RevocationStore | undefined = existsSync(revocationsPath(home)) ? openRevocationStore({ path: revocationsPath(home) }) : undefined
    try {
      let loaded: Loaded
      if (cid !== undefined) {
        loaded = await loadStored(repo, cid, home)
      } else {
        loaded = await loadFile(target)
      }
      const result = await verifyReceipt(loaded.bytes, {
        blocks: layered(loaded.blocks, repo),
        ...(issuer !== undefined ? { issuer: issuer as DID } : {}),
        ...(now !== undefined ? { now } : {}),
        ...(revocations !== undefined ? { revocations } : {}),
        requireInvocation: values['require-chain'] === true
      })
      if (result.error !== undefined) {
        if (values.json === true) stdout.write(JSON.stringify({ ok: false, error: result.error.toValue() }, null, 2) + '\n')
        stderr.write(`ipvm verify-receipt: ${result.error.name}: ${result.error.message}\n`)
        return 1
      }
      if (values.json === true) {
        const invocation = result.ok.invocation
        stdout.write(JSON.stringify({
          ok: true,
          receipt: result.ok.cid.toString(),
          issuer: result.ok.issuer,
          invocation: result.ok.receipt.ran.toString(),
          chainChecked: invocation !== undefined,
          ...(invocation !== undefined
            ? {
                invoker: invocation.invoker,
                subject: invocation.subject,
                chain: invocation.chain.map(String),
                grant: { ...invocation.grant, modules: invocation.grant.modules?.map(String) }
              }
            : {})
        }, null, 2) + '\n')
      } else {
        stdout.write(report(result.ok))
      }
      return 0
    } finally {
      await revocations?.close()
      await repo?.close()
    }
  }
}
