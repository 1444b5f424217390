/**
 * `ipvm delegate`: sign a delegation with the node's identity and write it as
 * a CAR file (or base64 on stdout).
 */
import { writeFile } from 'node:fs/promises'
import { CID } from 'multiformats/cid'
import { base64 } from 'multiformats/bases/base64'
import { loadOrCreateIdentity } from '../../auth/identity.js'
import { archiveDelegation, delegateWasmRun, wasmRunGrants } from '../../auth/delegation.js'
import { readProof } from '../proof-file.js'
import { abilities, TaskBid, ReceiptAttest } from '../../auth/capabilities.js'
import { parsePrincipal } from '../../auth/principal.js'
import { AuthError } from '../../auth/errors.js'
import { parseResource } from '../../model/instruction.js'
import { UsageError, InputError } from '../../errors.js'
import { repoPath } from '../config.js'
import { commonOptions, commonHelp } from '../command.js'
import type { Command } from '../command.js'
import type { Delegation } from '../../auth/delegation.js'
import type { DID, WasmRunCaveats } from '../../auth/types.js'

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }

/**
 * A point in time in Unix seconds from a duration after `now` (`90s`, `15m`,
 * `1h`, `7d`, `2w`) or an ISO 8601 date (`2030-01-01T00:00:00Z`).
 */
export function parseWhen (text: string, now: number, flag: string): number {
  const duration = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text)
  if (duration !== null) return now + Math.round(Number(duration[1]) * (UNITS[duration[2] as string] as number))
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text)
    if (!Number.isNaN(ms)) return Math.floor(ms / 1000)
  }
  throw new UsageError(`--${flag} "${text}" is neither a duration (30s, 15m, 1h, 7d, 2w) nor an ISO date (2030-01-01T00:00:00Z)`)
}

function parseCount (text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text.replaceAll('_', ''))
  if (!Number.isSafeInteger(value) || value < 0) throw new UsageError(`--${flag} "${text}" is not a whole number between 0 and ${Number.MAX_SAFE_INTEGER}`)
  return value
}

function parseLink (text: string, flag: string): CID {
  const cid = parseResource(text)
  if (cid === null) throw new UsageError(`--${flag} "${text}" is not a CID`)
  return cid
}

function parseDid (text: string, flag: string): DID {
  if (!/^did:[a-z0-9]+:.+/.test(text)) throw new UsageError(`--${flag} "${text}" is not a DID (did:key:z…)`)
  if (text.startsWith('did:key:')) {
    try {
      parsePrincipal(text)
    } catch (err) {
      throw new UsageError(`--${flag}: ${(err as Error).message}`)
    }
  }
  return text as DID
}

function describeWhen (seconds: number): string {
  return Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : 'never'
}

export const delegate: Command = {
  name: 'delegate',
  summary: 'sign a UCAN delegation (wasm/run, task/bid, receipt/attest) with this node\'s key',
  help: `Usage: ipvm delegate --to DID --expires WHEN [options]

Signs a delegation from this node's identity (see \`ipvm id\`) to DID and writes
it as a CAR file with --out, else as base64 on stdout. Hand it to the audience,
who cites it with --proof when delegating further, or attaches it to the tasks
it invokes. A delegation can only narrow its proof: ipvm refuses to sign one
with a higher fuel or price, or a module outside the proof's list.

Without --proof the node delegates its own resource (with = its DID): a
requester granting a scheduler a budget. With --proof, the node must be the
proof's audience: a scheduler awarding work to an executor.

Options:
  --to DID            the audience (required)
  --can ABILITY       wasm/run (default), task/bid or receipt/attest
  --expires WHEN      expiry: a duration (30s, 15m, 1h, 7d, 2w) or an ISO date (required)
  --not-before WHEN   not valid before: a duration from now or an ISO date
  --max-fuel N        wasm/run: most fuel per task (required for wasm/run)
  --max-price P       wasm/run, task/bid: highest price, in credits per million fuel
  --max-spend N       wasm/run: most credits one task may commit (fuel limit × price)
  --module CID        wasm/run: a module that may run (repeat for several; default any)
  --task INID         task/bid: bids on this task only
  --receipt CID       receipt/attest: this receipt only
  --with DID          the resource (default: the proof's, else this node's DID)
  --proof FILE        the delegation this one narrows (CAR, or base64 text)
  --out FILE          write the CAR here instead of base64 on stdout
${commonHelp}

Examples:
  ipvm delegate --to did:key:z6Mk… --max-fuel 1000000000 --max-price 100 --expires 7d --out budget.car
  ipvm delegate --to did:key:z6Mk… --max-fuel 5000000 --module bafkrei… --expires 1h --proof budget.car --out award.car`,
  options: {
    ...commonOptions,
    to: { type: 'string' },
    can: { type: 'string' },
    expires: { type: 'string' },
    'not-before': { type: 'string' },
    'max-fuel': { type: 'string' },
    'max-price': { type: 'string' },
    'max-spend': { type: 'string' },
    module: { type: 'string', multiple: true },
    task: { type: 'string' },
    receipt: { type: 'string' },
    with: { type: 'string' },
    proof: { type: 'string' },
    out: { type: 'string' }
  },
  async run ({ values, positionals, env, stdout }) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
    const can = (values.can as string | undefined) ?? 'wasm/run'
    if (!(can in abilities)) throw new UsageError(`--can "${can}" is not an ability ipvm delegates (${Object.keys(abilities).join(', ')})`)
    if (values.to === undefined) throw new UsageError('--to DID is required')
    if (values.expires === undefined) throw new UsageError('--expires is required (e.g. 1h, 7d, or an ISO date)')
    const audience = parseDid(values.to as string, 'to')
    const now = Math.floor(Date.now() / 1000)
    const expiration = parseWhen(values.expires as string, now, 'expires')
    const notBefore = values['not-before'] === undefined ? undefined : parseWhen(values['not-before'] as string, now, 'not-before')
    if (expiration <= now) throw new UsageError(`--expires ${values.expires as string} is in the past`)
    if (notBefore !== undefined && notBefore >= expiration) throw new UsageError('--not-before must be before --expires')
    const resource = values.with === undefined ? undefined : parseDid(values.with as string, 'with')
    const maxFuel = parseCount(values['max-fuel'] as string | undefined, 'max-fuel')
    const maxPrice = parseCount(values['max-price'] as string | undefined, 'max-price')
    const maxSpend = parseCount(values['max-spend'] as string | undefined, 'max-spend')
    const modules = (values.module as string[] | undefined)?.map(text => parseLink(text, 'module'))
    const misplaced = can === 'wasm/run'
      ? ['task', 'receipt'].find(flag => values[flag] !== undefined)
      : ['max-fuel', 'max-spend', 'module', ...(can === 'receipt/attest' ? ['max-price', 'task'] : ['receipt'])].find(flag => values[flag] !== undefined)
    if (misplaced !== undefined) throw new UsageError(`--${misplaced} does not apply to ${can}`)
    if (can === 'wasm/run' && maxFuel === undefined) throw new UsageError('wasm/run needs --max-fuel N (the most fuel one task may use)')

    const proofs = values.proof === undefined ? [] : [await readProof(values.proof as string)]
    const identity = await loadOrCreateIdentity(repoPath(values.repo as string | undefined, env))
    let delegation: Delegation
    try {
      if (can === 'wasm/run') {
        const caveats: WasmRunCaveats = { maxFuel }
        if (maxPrice !== undefined) caveats.maxPrice = maxPrice
        if (maxSpend !== undefined) caveats.maxSpend = maxSpend
        if (modules !== undefined) caveats.modules = modules
        delegation = await delegateWasmRun({ issuer: identity.signer, audience, caveats, proofs, expiration, ...(resource !== undefined ? { with: resource } : {}), ...(notBefore !== undefined ? { notBefore } : {}) })
      } else {
        for (const proof of proofs) {
          if (proof.audience.did() !== identity.did) throw new InputError(`BrokenChain: the proof ${proof.cid} is addressed to ${proof.audience.did()}, not to this node (${identity.did})`)
        }
        const inherited = proofs.flatMap(proof => proof.capabilities).find(capability => capability.can === can)?.with as DID | undefined
        const nb: Record<string, unknown> = {}
        if (can === 'task/bid') {
          if (values.task !== undefined) nb.task = parseLink(values.task as string, 'task')
          if (maxPrice !== undefined) nb.maxPrice = maxPrice
        } else if (values.receipt !== undefined) {
          nb.receipt = parseLink(values.receipt as string, 'receipt')
        }
        const parser = can === 'task/bid' ? TaskBid : ReceiptAttest
        delegation = await parser.delegate({
          issuer: identity.signer as never,
          audience: { did: () => audience },
          with: resource ?? inherited ?? identity.did,
          nb: nb as never,
          proofs,
          expiration,
          ...(notBefore !== undefined ? { notBefore } : {})
        }) as unknown as Delegation
      }
    } catch (err) {
      if (err instanceof AuthError) throw new InputError(`${err.name}: ${err.message}`)
      if (err instanceof InputError) throw err
      throw new UsageError(`cannot sign the delegation: ${(err as Error).message}`)
    }
    const car = await archiveDelegation(delegation)
    const out = values.out as string | undefined
    if (out !== undefined) {
      try {
        await writeFile(out, car)
      } catch (err) {
        throw new InputError(`cannot write ${out}: ${(err as Error).message}`)
      }
    }
    const grants = wasmRunGrants(delegation).ok ?? []
    if (values.json === true) {
      stdout.write(JSON.stringify({
        cid: delegation.cid.toString(),
        issuer: identity.did,
        audience,
        capabilities: delegation.capabilities.map(capability => JSON.parse(JSON.stringify(capability))),
        expiration: Number.isFinite(expiration) ? expiration : null,
        ...(notBefore !== undefined ? { notBefore } : {}),
        proofs: proofs.map(proof => proof.cid.toString()),
        ...(out !== undefined ? { out } : { car: base64.encode(car) })
      }, null, 2) + '\n')
      return 0
    }
    if (out === undefined) {
      stdout.write(base64.encode(car) + '\n')
      return 0
    }
    const terms = can === 'wasm/run' && grants[0] !== undefined
      ? ` (max fuel ${grants[0].maxFuel ?? 'any'}, max price ${grants[0].maxPrice ?? 'any'}, max spend ${grants[0].maxSpend ?? 'any'}, modules ${grants[0].modules?.map(String).join(', ') ?? 'any'})`
      : ''
    stdout.write(`delegation ${delegation.cid}\n  ${identity.did} → ${audience}\n  ${can}${terms}\n  valid ${notBefore !== undefined ? `from ${describeWhen(notBefore)} ` : ''}until ${describeWhen(expiration)}\n  written to ${out}\n`)
    return 0
  }
}
