/**
 * Delegations (UCAN 0.9 through ucanto): issuing them along the market's chain
 * requester → scheduler → executor, reading their `wasm/run` grants, moving
 * them as CAR files, and loading them from a block store.
 *
 * - {@link delegateBudget}: requester → scheduler, the requester's budget.
 * - {@link delegateAward}: scheduler → executor, one award, narrower than the budget.
 * - {@link archiveDelegation} / {@link extractDelegation}: ucanto's CAR format
 *   (root `{"ucan@0.9.1": link}`), every block checked against its CID.
 */
import { CarBufferReader } from '@ipld/car/buffer-reader'
import * as dagCbor from '@ipld/dag-cbor'
import { delegate, Delegation as UcantoDelegation } from '@ucanto/core'
import { CID } from 'multiformats/cid'
import { digestOf, isSupportedHash } from '../model/block.js'
import { WasmRun, checkWasmRun } from './capabilities.js'
import { BrokenChain, EscalatedCapability, MalformedDelegation } from './errors.js'
import type * as Ucanto from '@ucanto/interface'
import type { AuthResult, BlockGetter, DID, WasmRunCaveats } from './types.js'

/** A ucanto delegation (UCAN 0.9.1 view with its attached proof blocks). */
export type Delegation = Ucanto.Delegation

/** A `wasm/run` grant of a delegation: the resource and the caveats, parsed and checked. */
export interface WasmRunGrant {
  with: DID
  maxFuel?: number
  maxPrice?: number
  maxSpend?: number
  modules?: CID[]
}

/** Time bounds of a delegation, in Unix seconds. */
export interface Lifetime {
  /** Expiry (`exp`); `Infinity` for none. */
  expiration: number
  /** Not valid before (`nbf`). */
  notBefore?: number
}

/** Anything that can issue: ipvm's signers and ucanto's. */
export type Issuer = Ucanto.Signer

/** Options of {@link delegateWasmRun}. */
export interface DelegateWasmRunInit extends Lifetime {
  issuer: { did(): DID, sign(payload: Uint8Array): unknown, signatureCode: number, signatureAlgorithm: string }
  audience: DID
  /** The resource (who pays). @default the proof's resource, else the issuer (a root delegation) */
  with?: DID
  caveats: WasmRunCaveats
  /** The delegations this one narrows; the issuer must be their audience. */
  proofs?: Delegation[]
  nonce?: string
}

/**
 * Issues a `wasm/run` delegation. Checks first what validation would check
 * later, and throws rather than sign something useless:
 * `MalformedDelegation` (a caveat fails the schema), `BrokenChain` (the issuer
 * is not the proofs' audience), `EscalatedCapability` (wider than the proofs).
 */
export async function delegateWasmRun (init: DelegateWasmRunInit): Promise<Delegation> {
  const issuer = init.issuer.did()
  const proofs = init.proofs ?? []
  for (const proof of proofs) {
    if (proof.audience.did() !== issuer) {
      throw new BrokenChain(`${issuer} cannot delegate with proof ${proof.cid}: it is addressed to ${proof.audience.did()}`, { proof: proof.cid.toString() })
    }
  }
  const proofGrants = proofs.flatMap(proof => {
    const grants = wasmRunGrants(proof)
    if (grants.error !== undefined) throw grants.error
    return grants.ok
  })
  const resource = init.with ?? proofGrants[0]?.with ?? issuer
  const nb = caveatsToNb(init.caveats)
  let capability
  try {
    capability = WasmRun.create({ with: resource, nb } as never)
  } catch (err) {
    throw new MalformedDelegation(`invalid wasm/run caveats: ${(err as Error).message}`)
  }
  if (resource !== issuer) {
    const requested = { with: resource, ...init.caveats }
    const violations = proofGrants.map(grant => checkWasmRun(requested, grant, 'the new delegation'))
    if (proofGrants.length === 0) throw new BrokenChain(`${issuer} does not own ${resource} and no proof grants wasm/run on it`)
    if (!violations.includes(undefined)) {
      const first = violations[0]
      throw new EscalatedCapability(`cannot delegate more than the proof grants: ${first?.message ?? 'no matching grant'}`, { caveat: first?.caveat, limit: first?.limit, requested: first?.requested })
    }
  }
  return await delegate({
    issuer: init.issuer as unknown as Issuer,
    audience: { did: () => init.audience },
    capabilities: [capability as Ucanto.Capability],
    proofs,
    expiration: init.expiration,
    ...(init.notBefore !== undefined ? { notBefore: init.notBefore } : {}),
    ...(init.nonce !== undefined ? { nonce: init.nonce } : {})
  })
}

/** Options of {@link delegateBudget}. */
export interface BudgetInit extends Lifetime {
  requester: DelegateWasmRunInit['issuer']
  scheduler: DID
  caveats: WasmRunCaveats
}

/**
 * The requester lets a scheduler spend its budget: `wasm/run` on the
 * requester's own DID, within `caveats`, until `expiration`.
 *
 * @example
 * ```ts
 * const budget = await delegateBudget({ requester: alice, scheduler: bob.did(), caveats: { maxFuel: 1e9, maxPrice: 100 }, expiration: now + 3600 })
 * ```
 */
export async function delegateBudget (init: BudgetInit): Promise<Delegation> {
  return await delegateWasmRun({ issuer: init.requester, audience: init.scheduler, with: init.requester.did(), caveats: init.caveats, expiration: init.expiration, notBefore: init.notBefore })
}

/** Options of {@link delegateAward}. */
export interface AwardInit extends Partial<Lifetime> {
  scheduler: DelegateWasmRunInit['issuer']
  executor: DID
  /** The requester's budget delegation (its audience is the scheduler). */
  budget: Delegation
  /** The award's terms: usually the task's module, its fuel and the winning price. */
  caveats: WasmRunCaveats
}

/**
 * The scheduler awards work to an executor: `wasm/run` on the requester's
 * resource, narrowed to the award (modules, fuel, price), with the budget as
 * proof. Expires with the budget unless `expiration` is earlier.
 */
export async function delegateAward (init: AwardInit): Promise<Delegation> {
  const expiration = Math.min(init.expiration ?? Infinity, init.budget.expiration)
  return await delegateWasmRun({ issuer: init.scheduler, audience: init.executor, caveats: init.caveats, proofs: [init.budget], expiration, notBefore: init.notBefore })
}

function caveatsToNb (caveats: WasmRunCaveats): Record<string, unknown> {
  const nb: Record<string, unknown> = {}
  if (caveats.maxFuel !== undefined) nb.maxFuel = caveats.maxFuel
  if (caveats.maxPrice !== undefined) nb.maxPrice = caveats.maxPrice
  if (caveats.maxSpend !== undefined) nb.maxSpend = caveats.maxSpend
  if (caveats.modules !== undefined) nb.modules = caveats.modules.map(module => toCid(module))
  return nb
}

function toCid (value: unknown): CID {
  const cid = CID.asCID(value)
  if (cid === null) throw new MalformedDelegation(`${String(value)} is not a CID`)
  return cid
}

/** True for abilities that cover `wasm/run` (ucanto's patterns `*` and `wasm/*` included). */
function coversWasmRun (can: string): boolean {
  return can === 'wasm/run' || can === 'wasm/*' || can === '*'
}

/**
 * The `wasm/run` grants of a delegation, parsed with the capability's schema.
 * `MalformedDelegation` when a `wasm/run` capability fails it (a negative fuel,
 * a module that is not a CID…). Other abilities are ignored.
 */
export function wasmRunGrants (delegation: Delegation): AuthResult<WasmRunGrant[]> {
  const grants: WasmRunGrant[] = []
  let capabilities
  try {
    capabilities = delegation.capabilities
  } catch (err) {
    return { error: new MalformedDelegation(`delegation ${delegation.cid} cannot be decoded: ${(err as Error).message}`, { delegation: delegation.cid.toString() }) }
  }
  for (const capability of capabilities) {
    if (!coversWasmRun(capability.can)) continue
    const match = WasmRun.match({ capability: { ...capability, can: 'wasm/run' } as never, delegation })
    if (match.error !== undefined) {
      // A wildcard on something that is not a DID (e.g. `ucan:*`) simply grants no wasm/run.
      if (capability.can !== 'wasm/run') continue
      return { error: new MalformedDelegation(`delegation ${delegation.cid} has a malformed wasm/run capability: ${match.error.message}`, { delegation: delegation.cid.toString() }) }
    }
    const value = match.ok.value as unknown as { with: DID, nb: { maxFuel?: number, maxPrice?: number, maxSpend?: number, modules?: unknown[] } }
    const grant: WasmRunGrant = { with: value.with }
    if (value.nb.maxFuel !== undefined) grant.maxFuel = value.nb.maxFuel
    if (value.nb.maxPrice !== undefined) grant.maxPrice = value.nb.maxPrice
    if (value.nb.maxSpend !== undefined) grant.maxSpend = value.nb.maxSpend
    if (value.nb.modules !== undefined) grant.modules = value.nb.modules.map(module => toCid(module))
    grants.push(grant)
  }
  return { ok: grants }
}

/** An IPLD block as ucanto holds it. */
interface RawBlock { cid: CID, bytes: Uint8Array }

/** Every block of a delegation's DAG (its attached proofs first, itself last), e.g. to store beside an invocation. */
export function delegationBlocks (delegation: Delegation): RawBlock[] {
  const out: RawBlock[] = []
  for (const block of delegation.iterateIPLDBlocks()) out.push({ cid: toCid(block.cid), bytes: block.bytes })
  return out
}

/** A delegation and its attached proofs as a CAR file (ucanto's archive format). */
export async function archiveDelegation (delegation: Delegation): Promise<Uint8Array> {
  const result = await UcantoDelegation.archive(delegation)
  if (result.error !== undefined) throw new MalformedDelegation(`cannot archive delegation ${delegation.cid}: ${result.error.message}`)
  return result.ok
}

/** True when `bytes` hash to `cid` (with the CID's own hash function). */
export function matchesCid (cid: CID, bytes: Uint8Array): boolean {
  if (!isSupportedHash(cid.multihash.code)) return false
  const digest = digestOf(bytes, cid.multihash.code).digest
  const expected = cid.multihash.digest
  if (digest.length !== expected.length) return false
  for (let i = 0; i < digest.length; i++) if (digest[i] !== expected[i]) return false
  return true
}

/**
 * Reads a delegation from a CAR file (ucanto's archive, or a CAR whose root is
 * the UCAN itself). `MalformedDelegation` for a truncated or corrupt CAR, a
 * block whose bytes do not match its CID, or a root that is not a UCAN.
 */
export function extractDelegation (bytes: Uint8Array): AuthResult<Delegation> {
  let reader
  try {
    reader = CarBufferReader.fromBytes(bytes)
  } catch (err) {
    return { error: new MalformedDelegation(`not a readable CAR file: ${(err as Error).message}`) }
  }
  const blocks = new Map<string, RawBlock>()
  try {
    for (const block of reader.blocks()) {
      const cid = toCid(block.cid)
      if (!matchesCid(cid, block.bytes)) return { error: new MalformedDelegation(`block ${cid} in the CAR does not match its CID (tampered or corrupt)`, { block: cid.toString() }) }
      blocks.set(cid.toString(), { cid, bytes: block.bytes })
    }
  } catch (err) {
    if (err instanceof MalformedDelegation) return { error: err }
    return { error: new MalformedDelegation(`the CAR file is truncated or corrupt: ${(err as Error).message}`) }
  }
  const [root] = reader.getRoots()
  if (root === undefined) return { error: new MalformedDelegation('the CAR file has no root') }
  const rootBlock = blocks.get(toCid(root).toString())
  if (rootBlock === undefined) return { error: new MalformedDelegation(`the CAR file lacks its root block ${root}`) }
  let link = rootBlock.cid
  try {
    const variant = dagCbor.decode<unknown>(rootBlock.bytes)
    if (typeof variant === 'object' && variant !== null && !Array.isArray(variant) && !(variant instanceof Uint8Array)) {
      const entries = Object.entries(variant)
      const wrapped = entries.length === 1 && entries[0] !== undefined && entries[0][0].startsWith('ucan@') ? CID.asCID(entries[0][1]) : null
      if (wrapped !== null) link = wrapped
    }
  } catch {
    // A JWT-encoded UCAN root is not DAG-CBOR: use it as is.
  }
  const ucanBlock = blocks.get(link.toString())
  if (ucanBlock === undefined) return { error: new MalformedDelegation(`the CAR file lacks the delegation block ${link}`) }
  const delegation = UcantoDelegation.create({ root: ucanBlock as never, blocks: blocks as never }) as Delegation
  return checkDecodes(delegation)
}

function checkDecodes (delegation: Delegation): AuthResult<Delegation> {
  try {
    void delegation.data.issuer
    return { ok: delegation }
  } catch (err) {
    return { error: new MalformedDelegation(`block ${delegation.cid} is not a UCAN delegation: ${(err as Error).message}`, { delegation: delegation.cid.toString() }) }
  }
}

/**
 * Reads the delegation `cid` from a block store, checking its bytes against
 * the CID. Its proofs stay links, resolved the same way when validated.
 * `BrokenChain` when the block is missing, `MalformedDelegation` when it is
 * not a UCAN or does not match its CID.
 */
export async function loadDelegation (cid: CID, blocks: BlockGetter): Promise<AuthResult<Delegation>> {
  let bytes: Uint8Array | undefined
  try {
    bytes = await blocks.get(cid)
  } catch (err) {
    return { error: new BrokenChain(`proof ${cid} could not be read: ${(err as Error).message}`, { proof: cid.toString() }) }
  }
  if (bytes === undefined) return { error: new BrokenChain(`proof ${cid} is not available`, { proof: cid.toString() }) }
  if (!matchesCid(cid, bytes)) return { error: new MalformedDelegation(`the bytes of delegation ${cid} do not match its CID (tampered or corrupt)`, { delegation: cid.toString() }) }
  return checkDecodes(UcantoDelegation.create({ root: { cid, bytes } as never, blocks: new Map() }) as Delegation)
}
