/**
 * Checks an invocation's authority before any fuel is spent: the invoker's
 * signature over the task, every delegation of the chain (signature, issuer =
 * proof's audience, only narrowing, a root that owns the resource), time
 * bounds at `now`, revocations, and the task's module, fuel and price against
 * the caveats.
 *
 * Why not ucanto's `access()`/`claim()` directly: they read the clock
 * themselves (no `now`), report an exploration tree rather than one named
 * error, and re-verify the whole chain each time. This walker uses ucanto's
 * parts (delegations, `WasmRun` schema, the same `checkWasmRun` its `derives`
 * uses, `UCAN.verifySignature`) and agrees with `claim()` (tested), but caches
 * what is content-addressed: a delegation, once validated, is kept by CID, so
 * after the first task of a chain a task costs one signature check (its
 * authorization's). Time and revocations are never cached.
 *
 * Who invokes: as in UCAN, the invoker is the audience of the task's proofs
 * (the end of the chain requester → scheduler → executor, i.e. the executor).
 * A task without proofs is self-issued: the invoker acts on its own resource.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { UCAN } from '@ucanto/core'
import { CID } from 'multiformats/cid'
import { encodeBlock } from '../model/block.js'
import { parseResource } from '../model/instruction.js'
import { checkWasmRun } from './capabilities.js'
import { loadDelegation, matchesCid, wasmRunGrants } from './delegation.js'
import {
  BrokenChain, CaveatExceeded, EscalatedCapability, Expired, InvalidSignature, MalformedDelegation,
  MalformedInvocation, MissingBlock, MissingSignature, NotValidBefore, Revoked, UnknownSignatureAlgorithm, WrongAudience
} from './errors.js'
import { parsePrincipal, signatureAlgorithms, verifySignature } from './principal.js'
import type { Block } from '../model/block.js'
import type { Instruction, Invocation, Task } from '../model/types.js'
import { costOf } from '../model/price.js'
import type { Delegation, WasmRunGrant } from './delegation.js'
import type { RevocationStore } from './revocations.js'
import type { Authorization, AuthResult, BlockGetter, DID, TaskTerms } from './types.js'

/** Longest chain followed (delegations from the invocation to the root). */
export const MAX_CHAIN_DEPTH = 16

/** One delegation of a validated chain, with what must be re-checked at each use. */
export interface ChainLink {
  cid: CID
  issuer: DID
  audience: DID
  /** Unix seconds; `Infinity` when it never expires. */
  expiration: number
  notBefore?: number
}

/** A delegation whose signature, alignment and derivation from its proofs have been checked. */
export interface ValidatedDelegation {
  cid: CID
  issuer: DID
  audience: DID
  /** The `wasm/run` grants it carries, each proven by its proofs. */
  grants: WasmRunGrant[]
  /** It and every delegation it rests on (itself first): checked for time and revocation at each use. */
  path: ChainLink[]
}

/** Options of {@link DelegationCache}. */
export interface DelegationCacheInit {
  /** Most validated delegations kept. @default 10000 */
  maxDelegations?: number
  /** Most verified authorization signatures kept. @default 10000 */
  maxAuthorizations?: number
}

/**
 * Already-validated delegations by CID, and already-verified authorization
 * signatures by (authorization CID, invoker). Both are facts about immutable,
 * content-addressed data, so one cache may be shared by every validation;
 * time bounds and revocations are checked anew at each use. Oldest entries go
 * first when full.
 */
export class DelegationCache {
  private readonly delegations = new Map<string, ValidatedDelegation>()
  private readonly authorizations = new Map<string, ReadonlySet<string>>()
  private readonly maxDelegations: number
  private readonly maxAuthorizations: number

  constructor (init: DelegationCacheInit = {}) {
    this.maxDelegations = init.maxDelegations ?? 10_000
    this.maxAuthorizations = init.maxAuthorizations ?? 10_000
    if (!(this.maxDelegations >= 0)) throw new RangeError('maxDelegations must be >= 0')
    if (!(this.maxAuthorizations >= 0)) throw new RangeError('maxAuthorizations must be >= 0')
  }

  /** The validated delegation with this CID, if known. */
  get (cid: string): ValidatedDelegation | undefined {
    return this.delegations.get(cid)
  }

  set (cid: string, value: ValidatedDelegation): void {
    if (this.maxDelegations === 0) return
    if (this.delegations.size >= this.maxDelegations) {
      const oldest = this.delegations.keys().next().value
      if (oldest !== undefined) this.delegations.delete(oldest)
    }
    this.delegations.set(cid, value)
  }

  /** The task CIDs of authorization `cid`, when `invoker`'s signature on it was verified before. */
  getAuthorization (cid: string, invoker: string): ReadonlySet<string> | undefined {
    return this.authorizations.get(`${cid} ${invoker}`)
  }

  /** Remembers that `invoker` signed authorization `cid` over `scope` (task CIDs as strings). */
  addAuthorization (cid: string, invoker: string, scope: ReadonlySet<string>): void {
    if (this.maxAuthorizations === 0) return
    if (this.authorizations.size >= this.maxAuthorizations) {
      const oldest = this.authorizations.keys().next().value
      if (oldest !== undefined) this.authorizations.delete(oldest)
    }
    this.authorizations.set(`${cid} ${invoker}`, scope)
  }

  /** Number of validated delegations held. */
  get size (): number {
    return this.delegations.size
  }

  clear (): void {
    this.delegations.clear()
    this.authorizations.clear()
  }
}

/** The cache used when a caller gives none. */
export const defaultDelegationCache = new DelegationCache()

/** Options of {@link validateInvocation}. */
export interface ValidateInvocationOptions {
  /** The node about to run the task: the chain must authorise it. */
  executor: DID | { did(): DID }
  /**
   * What will run: module, fuel limit, price. When absent they are read from
   * the invocation (the instruction's `rsc` through `blocks`, `meta.fuel`,
   * `meta.price`).
   */
  task?: TaskTerms
  /** Revoked delegations are rejected. */
  revocations?: RevocationStore
  /**
   * Unix seconds. `null` checks no time bounds: for a record of the past (a
   * memoized receipt), whose delegations may have expired since it ran.
   * @default now
   */
  now?: number | null
  /** Where the authorization, proofs and instruction are read from (checked against their CIDs). */
  blocks?: BlockGetter
  /** The authorization block, when the caller has it at hand. */
  authorization?: Block<Authorization>
  /** Delegations at hand (e.g. from a CAR), with their attached proofs. */
  proofs?: Delegation[]
  /** @default defaultDelegationCache */
  cache?: DelegationCache
}

/** What a valid invocation proved. */
export interface ValidatedInvocation {
  /** Who signed the authorization (the executor). */
  invoker: DID
  /** Whose resource is spent (the root of the chain, or the invoker when self-issued). */
  subject: DID
  /** CID of the task (what the authorization's scope names). */
  taskCid: CID
  authorization: CID
  /** The delegations relied on, from the invocation towards the root. */
  chain: CID[]
  /** The grant the task fits in (`{ with }` only when self-issued). */
  grant: WasmRunGrant
}

function isBlock<T> (value: unknown): value is Block<T> {
  return typeof value === 'object' && value !== null && 'cid' in value && 'bytes' in value && 'value' in value
}

function isCid (value: unknown): value is CID {
  return CID.asCID(value) !== null
}

function iso (seconds: number): string {
  return Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : 'never'
}

function describe (link: { cid: CID, issuer: string, audience: string }): string {
  return `delegation ${link.cid} (${link.issuer} → ${link.audience})`
}

/** Shape check of an invocation value: `{ task: { run, meta, prf, cause? }, auth }`. */
function checkInvocationShape (invocation: unknown): AuthResult<Invocation & { auth: CID }> {
  if (typeof invocation !== 'object' || invocation === null) return { error: new MalformedInvocation('the invocation is not a map') }
  const { task, auth } = invocation as { task?: unknown, auth?: unknown }
  if (typeof task !== 'object' || task === null) return { error: new MalformedInvocation('the invocation has no task') }
  const { run, meta, prf } = task as Partial<Task>
  if (!isCid(run)) return { error: new MalformedInvocation('the task\'s `run` is not a link to an instruction') }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return { error: new MalformedInvocation('the task\'s `meta` is not a map') }
  if (!Array.isArray(prf) || !prf.every(isCid)) return { error: new MalformedInvocation('the task\'s `prf` is not a list of links') }
  if (auth === undefined || auth === null) return { error: new MissingSignature('the invocation is not signed: it has no `auth`') }
  if (!isCid(auth)) return { error: new MalformedInvocation('the invocation\'s `auth` is not a link') }
  return { ok: invocation as Invocation & { auth: CID } }
}

/** Decodes and shape-checks an authorization block. */
export function decodeAuthorization (cid: CID, bytes: Uint8Array): AuthResult<Authorization> {
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch {
    return { error: new MalformedInvocation(`authorization ${cid} is not DAG-CBOR`) }
  }
  const { scope, s } = (typeof value === 'object' && value !== null ? value : {}) as { scope?: unknown, s?: unknown }
  if (!Array.isArray(scope) || !scope.every(isCid)) return { error: new MalformedInvocation(`authorization ${cid} has no \`scope\` list of links`) }
  if (!(s instanceof Uint8Array)) return { error: new MalformedInvocation(`authorization ${cid} has no signature \`s\``) }
  return { ok: { scope: scope.map(link => CID.asCID(link) as CID), s } }
}

/** The bytes an authorization's `s` signs: the DAG-CBOR encoding of `scope`. */
export function authorizationPayload (scope: CID[]): Uint8Array {
  return dagCbor.encode(scope)
}

/**
 * The module, fuel and price of an invocation's task: the instruction (read
 * through `blocks`) names the module; `meta.fuel` and `meta.price` the rest.
 */
export async function taskTermsOf (task: Task, blocks: BlockGetter | undefined): Promise<AuthResult<TaskTerms>> {
  const run = CID.asCID(task.run) as CID
  const bytes = blocks === undefined ? undefined : await blocks.get(run)
  if (bytes === undefined) return { error: new MissingBlock(`instruction ${run} is not available, so its module cannot be checked against the chain`, { block: run.toString() }) }
  if (!matchesCid(run, bytes)) return { error: new MalformedInvocation(`the bytes of instruction ${run} do not match its CID`) }
  let instruction: Partial<Instruction>
  try {
    instruction = dagCbor.decode<Partial<Instruction>>(bytes)
  } catch {
    return { error: new MalformedInvocation(`instruction ${run} is not DAG-CBOR`) }
  }
  const module = typeof instruction.rsc === 'string' ? parseResource(instruction.rsc) : null
  if (module === null) return { error: new MalformedInvocation(`instruction ${run} does not name a module in \`rsc\``) }
  const terms: TaskTerms = { module }
  const fuel = task.meta.fuel
  const price = task.meta.price
  if (typeof fuel === 'number' || typeof fuel === 'bigint') terms.fuel = fuel
  if (typeof price === 'number' || typeof price === 'bigint') terms.price = price
  return { ok: terms }
}

interface WalkContext {
  blocks?: BlockGetter
  known: Map<string, Delegation>
  cache: DelegationCache
}

/** Finds the delegation behind a proof link: attached to its parent, given by the caller, or in the block store. */
async function resolveProof (link: CID, attached: ReadonlyMap<string, Delegation>, context: WalkContext): Promise<AuthResult<Delegation>> {
  const key = link.toString()
  const found = attached.get(key) ?? context.known.get(key)
  if (found !== undefined) return { ok: found }
  if (context.blocks === undefined) return { error: new BrokenChain(`proof ${key} is not available`, { proof: key }) }
  return await loadDelegation(link, context.blocks)
}

function attachedProofs (delegation: Delegation): Map<string, Delegation> {
  const attached = new Map<string, Delegation>()
  for (const proof of delegation.proofs) {
    if (!isCid(proof) && typeof proof === 'object' && proof !== null && 'capabilities' in proof) attached.set(proof.cid.toString(), proof)
  }
  return attached
}

/** Verifies a delegation's signature with named errors. */
export async function checkDelegationSignature (delegation: Delegation, issuer: DID): Promise<AuthResult<true>> {
  const what = describe({ cid: delegation.cid as unknown as CID, issuer, audience: delegation.audience.did() })
  const details = { delegation: delegation.cid.toString(), issuer }
  const code = delegation.data.signature.code
  if (!signatureAlgorithms.has(code)) {
    return { error: new UnknownSignatureAlgorithm(`${what} is signed with varsig 0x${code.toString(16)}, which this node cannot verify (EdDSA and ES256K are supported)`, details) }
  }
  let verifier
  try {
    verifier = parsePrincipal(issuer)
  } catch (err) {
    return { error: err as UnknownSignatureAlgorithm }
  }
  if (verifier.signatureCode !== code) return { error: new InvalidSignature(`${what} carries an ${signatureAlgorithms.get(code)} signature but its issuer has an ${verifier.signatureAlgorithm} key`, details) }
  let valid = false
  try {
    valid = await UCAN.verifySignature(delegation.data, verifier as never)
  } catch {
    valid = false
  }
  return valid ? { ok: true } : { error: new InvalidSignature(`the signature of ${what} does not verify`, details) }
}

/**
 * Validates a delegation and everything it rests on, except time and
 * revocation (see {@link checkPath}); memoized in the cache by CID.
 */
export async function validateDelegation (delegation: Delegation, context: WalkContext, depth = 0): Promise<AuthResult<ValidatedDelegation>> {
  const key = delegation.cid.toString()
  const cached = context.cache.get(key)
  if (cached !== undefined) return { ok: cached }
  if (depth >= MAX_CHAIN_DEPTH) return { error: new BrokenChain(`the chain is longer than ${MAX_CHAIN_DEPTH} delegations`, { delegation: key }) }
  const cid = CID.asCID(delegation.cid) as CID
  if (!matchesCid(cid, delegation.bytes)) return { error: new MalformedDelegation(`the bytes of delegation ${key} do not match its CID (tampered or corrupt)`, { delegation: key }) }
  let issuer: DID
  let audience: DID
  let proofLinks: CID[]
  try {
    issuer = delegation.issuer.did()
    audience = delegation.audience.did()
    proofLinks = delegation.data.proofs.map(link => CID.asCID(link) as CID)
    void delegation.data.signature.code
  } catch (err) {
    return { error: new MalformedDelegation(`delegation ${key} cannot be decoded: ${(err as Error).message}`, { delegation: key }) }
  }
  const self: ChainLink = { cid, issuer, audience, expiration: delegation.expiration ?? Infinity }
  if (delegation.notBefore !== undefined && delegation.notBefore !== null) self.notBefore = delegation.notBefore

  const signature = await checkDelegationSignature(delegation, issuer)
  if (signature.error !== undefined) return signature

  const grants = wasmRunGrants(delegation)
  if (grants.error !== undefined) return grants

  const parents: ValidatedDelegation[] = []
  const attached = attachedProofs(delegation)
  for (const link of proofLinks) {
    const proof = await resolveProof(link, attached, context)
    if (proof.error !== undefined) return proof
    const proofAudience = proof.ok.audience.did()
    if (proofAudience !== issuer) {
      return { error: new BrokenChain(`${describe(self)} cites proof ${link}, which is addressed to ${proofAudience}, not to its issuer`, { delegation: key, proof: link.toString() }) }
    }
    const parent = await validateDelegation(proof.ok, context, depth + 1)
    if (parent.error !== undefined) return parent
    parents.push(parent.ok)
  }

  for (const grant of grants.ok) {
    // A principal may always delegate its own resource.
    if (grant.with === issuer) continue
    if (parents.length === 0) {
      return { error: new BrokenChain(`${describe(self)} grants wasm/run on ${grant.with}, which its issuer does not own, and cites no proof`, { delegation: key, with: grant.with }) }
    }
    const candidates = parents.flatMap(parent => parent.grants)
    if (candidates.length === 0) {
      return { error: new EscalatedCapability(`${describe(self)} grants wasm/run but its proofs grant none`, { delegation: key }) }
    }
    const violations = candidates.map(candidate => checkWasmRun(grant, candidate, 'the delegation'))
    if (!violations.includes(undefined)) {
      const violation = violations[0]
      return { error: new EscalatedCapability(`${describe(self)} grants more than its proof: ${violation?.message ?? ''}`, { delegation: key, caveat: violation?.caveat, limit: violation?.limit, requested: violation?.requested }) }
    }
  }

  const path: ChainLink[] = [self]
  const seen = new Set([key])
  for (const parent of parents) {
    for (const link of parent.path) {
      const linkKey = link.cid.toString()
      if (!seen.has(linkKey)) { seen.add(linkKey); path.push(link) }
    }
  }
  const validated: ValidatedDelegation = { cid, issuer, audience, grants: grants.ok, path }
  context.cache.set(key, validated)
  return { ok: validated }
}

/** Time bounds and revocations of every delegation in `path`, at `now`. */
export async function checkPath (path: readonly ChainLink[], now: number, revocations: RevocationStore | undefined): Promise<AuthResult<true>> {
  for (const link of path) {
    if (link.expiration <= now) {
      return { error: new Expired(`${describe(link)} expired at ${iso(link.expiration)}; it is ${iso(now)}`, { delegation: link.cid.toString(), expiration: link.expiration, now }) }
    }
    if (link.notBefore !== undefined && now < link.notBefore) {
      return { error: new NotValidBefore(`${describe(link)} is not valid before ${iso(link.notBefore)}; it is ${iso(now)}`, { delegation: link.cid.toString(), notBefore: link.notBefore, now }) }
    }
  }
  if (revocations !== undefined) {
    for (const link of path) {
      if (await revocations.isRevoked(link.cid)) {
        return { error: new Revoked(`${describe(link)} has been revoked`, { delegation: link.cid.toString() }) }
      }
    }
  }
  return { ok: true }
}

/**
 * Validates an invocation against the node about to run it, before any fuel is
 * spent. Resolves to `{ ok }` with what was proven, or `{ error }` with a named
 * error: `MalformedInvocation`, `MissingSignature`, `MissingBlock`,
 * `BrokenChain`, `MalformedDelegation`, `WrongAudience`, `InvalidSignature`,
 * `UnknownSignatureAlgorithm`, `EscalatedCapability`, `Expired`,
 * `NotValidBefore`, `Revoked`, `CaveatExceeded` (`details.caveat` says which).
 *
 * @example
 * ```ts
 * const result = await validateInvocation(invocation, {
 *   executor: identity.did, task: { module, fuel, price }, revocations, blocks: repo.blocks
 * })
 * if (result.error) return errorReceipt(result.error.toValue())
 * ```
 */
export async function validateInvocation (input: Invocation | Block<Invocation>, options: ValidateInvocationOptions): Promise<AuthResult<ValidatedInvocation>> {
  const shaped = checkInvocationShape(isBlock<Invocation>(input) ? input.value : input)
  if (shaped.error !== undefined) return shaped
  const invocation = shaped.ok
  const task = invocation.task
  const executor = typeof options.executor === 'string' ? options.executor : options.executor.did()
  const now = options.now === null ? null : options.now ?? Math.floor(Date.now() / 1000)
  const cache = options.cache ?? defaultDelegationCache
  const context: WalkContext = { cache, known: new Map() }
  if (options.blocks !== undefined) context.blocks = options.blocks
  for (const proof of options.proofs ?? []) {
    context.known.set(proof.cid.toString(), proof)
    for (const nested of proof.iterate()) context.known.set(nested.cid.toString(), nested)
  }

  // The proofs the task cites (validated ones straight from the cache); their audience is the invoker.
  const cited: Array<{ key: string, audience: DID, validated?: ValidatedDelegation, delegation?: Delegation }> = []
  const none = new Map<string, Delegation>()
  for (const link of task.prf) {
    const key = link.toString()
    const validated = cache.get(key)
    if (validated !== undefined) {
      cited.push({ key, audience: validated.audience, validated })
      continue
    }
    const proof = await resolveProof(CID.asCID(link) as CID, none, context)
    if (proof.error !== undefined) return proof
    let audience: DID
    try {
      audience = proof.ok.audience.did()
    } catch (err) {
      return { error: new MalformedDelegation(`delegation ${key} cannot be decoded: ${(err as Error).message}`, { delegation: key }) }
    }
    cited.push({ key, audience, delegation: proof.ok })
  }
  const invoker = cited[0]?.audience ?? executor as DID
  for (const proof of cited) {
    if (proof.audience !== invoker) {
      return { error: new BrokenChain(`the task's proofs are addressed to different principals (${invoker}, ${proof.audience})`, { proof: proof.key }) }
    }
  }
  if (invoker !== executor) {
    return { error: new WrongAudience(`the chain authorises ${invoker} to run this task, not ${executor}`, { audience: invoker, executor }) }
  }

  // The invoker's signature over the task (an authorization verified once covers each task in its scope).
  const taskCid = encodeBlock(task).cid
  const authKey = invocation.auth.toString()
  let scope = cache.getAuthorization(authKey, invoker)
  if (scope === undefined) {
    const authorization = await readAuthorization(invocation.auth, options)
    if (authorization.error !== undefined) return authorization
    const verified = verifySignature(invoker, authorizationPayload(authorization.ok.value.scope), authorization.ok.value.s, { what: `authorization ${authKey}`, details: { authorization: authKey } })
    if (verified.error !== undefined) return verified
    scope = new Set(authorization.ok.value.scope.map(link => link.toString()))
    cache.addAuthorization(authKey, invoker, scope)
  }
  if (!scope.has(taskCid.toString())) {
    return { error: new InvalidSignature(`authorization ${authKey} does not cover task ${taskCid}`, { authorization: authKey, task: taskCid.toString() }) }
  }

  if (cited.length === 0) {
    return { ok: { invoker, subject: invoker, taskCid, authorization: invocation.auth, chain: [], grant: { with: invoker } } }
  }

  // The chain: signatures, alignment, derivation (cached), then time and revocations (never cached).
  const validated: ValidatedDelegation[] = []
  for (const proof of cited) {
    if (proof.validated !== undefined) {
      validated.push(proof.validated)
      continue
    }
    const result = await validateDelegation(proof.delegation as Delegation, context)
    if (result.error !== undefined) return result
    validated.push(result.ok)
  }
  const path = validated.length === 1 ? (validated[0] as ValidatedDelegation).path : mergePaths(validated)
  // Revocations apply even to records of the past: a revoked chain proves nothing.
  const timely = await checkPath(now === null ? path.map(({ cid, issuer, audience }) => ({ cid, issuer, audience, expiration: Infinity })) : path, now ?? 0, options.revocations)
  if (timely.error !== undefined) return timely

  // The task against the grants.
  let terms = options.task
  if (terms === undefined) {
    const read = await taskTermsOf(task, options.blocks)
    if (read.error !== undefined) return read
    terms = read.ok
  }
  // What the task commits: its fuel limit at its price (unbounded fuel at a non-zero price: unbounded spending).
  const price = terms.price ?? 0
  const spend = BigInt(price) === 0n ? 0 : terms.fuel === undefined ? undefined : safeCost(terms.fuel, price)
  const claim = { maxFuel: terms.fuel, maxPrice: price, maxSpend: spend, modules: [terms.module] }
  const grants = validated.flatMap(entry => entry.grants)
  if (grants.length === 0) return { error: new EscalatedCapability('the task\'s proofs grant no wasm/run', { task: taskCid.toString() }) }
  let firstViolation
  for (const grant of grants) {
    const violation = checkWasmRun(claim, grant, `task ${taskCid}`)
    if (violation === undefined) {
      return { ok: { invoker, subject: grant.with, taskCid, authorization: invocation.auth, chain: path.map(link => link.cid), grant } }
    }
    firstViolation ??= violation
  }
  return { error: new CaveatExceeded(`${firstViolation?.caveat ?? 'caveat'} exceeded: ${firstViolation?.message ?? ''}`, { task: taskCid.toString(), caveat: firstViolation?.caveat, limit: firstViolation?.limit, requested: firstViolation?.requested }) }
}

/** `costOf`, or `undefined` (unbounded) for a cost beyond counting. */
function safeCost (fuel: number | bigint, price: number | bigint): number | undefined {
  try {
    return costOf(fuel, price)
  } catch {
    return undefined
  }
}

function mergePaths (validated: readonly ValidatedDelegation[]): ChainLink[] {
  const seen = new Set<string>()
  const path: ChainLink[] = []
  for (const entry of validated) {
    for (const link of entry.path) {
      const key = link.cid.toString()
      if (!seen.has(key)) { seen.add(key); path.push(link) }
    }
  }
  return path
}

async function readAuthorization (cid: CID, options: ValidateInvocationOptions): Promise<AuthResult<Block<Authorization>>> {
  const given = options.authorization
  const bytes = given !== undefined && given.cid.equals(cid)
    ? given.bytes
    : options.blocks === undefined ? undefined : await options.blocks.get(cid)
  if (bytes === undefined) return { error: new MissingBlock(`authorization ${cid} is not available`, { block: cid.toString() }) }
  if (!matchesCid(cid, bytes)) return { error: new MalformedInvocation(`the bytes of authorization ${cid} do not match its CID (tampered or corrupt)`, { authorization: cid.toString() }) }
  const decoded = decodeAuthorization(cid, bytes)
  if (decoded.error !== undefined) return decoded
  return { ok: { cid, bytes, value: decoded.ok } }
}

/** Options of {@link validateGrant}. */
export interface ValidateGrantOptions {
  /** Who the delegation must be addressed to (e.g. the scheduler receiving a budget). */
  audience: DID
  revocations?: RevocationStore
  /** Unix seconds. @default now */
  now?: number
  /** @default defaultDelegationCache */
  cache?: DelegationCache
}

/**
 * Checks a delegation handed to this node (a requester's budget given to a
 * scheduler) before relying on it: signatures and derivation of the whole
 * chain, a `wasm/run` grant, addressed to `audience`, valid now, not revoked.
 * The same named errors as {@link validateInvocation}.
 */
export async function validateGrant (delegation: Delegation, options: ValidateGrantOptions): Promise<AuthResult<ValidatedDelegation>> {
  const context: WalkContext = { cache: options.cache ?? defaultDelegationCache, known: new Map() }
  for (const nested of delegation.iterate()) context.known.set(nested.cid.toString(), nested)
  const validated = await validateDelegation(delegation, context)
  if (validated.error !== undefined) return validated
  if (validated.ok.audience !== options.audience) {
    return { error: new WrongAudience(`delegation ${validated.ok.cid} is addressed to ${validated.ok.audience}, not to ${options.audience}`, { audience: validated.ok.audience, expected: options.audience }) }
  }
  if (validated.ok.grants.length === 0) return { error: new BrokenChain(`delegation ${validated.ok.cid} grants no wasm/run`, { delegation: validated.ok.cid.toString() }) }
  const timely = await checkPath(validated.ok.path, options.now ?? Math.floor(Date.now() / 1000), options.revocations)
  return timely.error !== undefined ? timely : validated
}
