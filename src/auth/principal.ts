/**
 * From a DID to a verifier, and signature checks with named errors. ed25519
 * `did:key`s verify through node:crypto, secp256k1 ones through noble; any
 * other key type or signature algorithm is `UnknownSignatureAlgorithm`.
 * `principalParser` is a ucanto `PrincipalParser`, so ucanto's own validator
 * (`access`, `claim`) can use the same fast verifiers.
 */
import { varint } from 'multiformats'
import { base58btc } from 'multiformats/bases/base58'
import { Ed25519Verifier, ED25519_PUBLIC_CODE, EDDSA } from './ed25519.js'
import { Secp256k1Verifier, SECP256K1_PUBLIC_CODE, ES256K } from './secp256k1.js'
import { InvalidSignature, UnknownSignatureAlgorithm } from './errors.js'
import type { SignatureLike } from './ed25519.js'
import type { AuthResult, DID } from './types.js'

/** A verifier of one principal's signatures. */
export type Verifier = Ed25519Verifier | Secp256k1Verifier

/** Varsig codes this node verifies, by name. */
export const signatureAlgorithms: ReadonlyMap<number, string> = new Map([[EDDSA, 'EdDSA'], [ES256K, 'ES256K']])

/** Names of varsig codes seen in the wild, for messages about ones this node does not verify. */
const knownNames = new Map<number, string>([
  [0xd000, 'non-standard'], [0xd0ea, 'BLS12381G1'], [0xd0eb, 'BLS12381G2'], [0xd01200, 'ES256'],
  [0xd01201, 'ES384'], [0xd01202, 'ES512'], [0xd01205, 'RS256'], [0xd191, 'EIP191']
])

const keyTypeNames = new Map<number, string>([[0x1205, 'RSA'], [0x1200, 'P-256'], [0x1201, 'P-384'], [0x1202, 'P-521'], [0xea, 'BLS12-381 G1'], [0xeb, 'BLS12-381 G2']])

const MAX_CACHED_VERIFIERS = 4096
const verifiers = new Map<string, Verifier>()

/**
 * The verifier of `did`, cached (a node:crypto key object is built once per DID).
 * Throws {@link UnknownSignatureAlgorithm} for a key type this node cannot
 * verify (RSA, P-256, BLS…) or a DID that is not a `did:key`.
 */
export function parsePrincipal (did: string): Verifier {
  const cached = verifiers.get(did)
  if (cached !== undefined) return cached
  const verifier = parseUncached(did)
  if (verifiers.size >= MAX_CACHED_VERIFIERS) verifiers.clear()
  verifiers.set(did, verifier)
  return verifier
}

function parseUncached (did: string): Verifier {
  if (!did.startsWith('did:key:')) {
    throw new UnknownSignatureAlgorithm(`cannot verify signatures of ${did}: only did:key principals (ed25519, secp256k1) are supported`, { did })
  }
  let code: number
  try {
    [code] = varint.decode(base58btc.decode(did.slice('did:key:'.length)))
  } catch {
    throw new UnknownSignatureAlgorithm(`${did} is not a valid did:key`, { did })
  }
  try {
    if (code === ED25519_PUBLIC_CODE) return Ed25519Verifier.parse(did)
    if (code === SECP256K1_PUBLIC_CODE) return Secp256k1Verifier.parse(did)
  } catch (err) {
    throw new UnknownSignatureAlgorithm(`${did} is not a valid did:key: ${(err as Error).message}`, { did })
  }
  const type = keyTypeNames.get(code) ?? `multicodec 0x${code.toString(16)}`
  throw new UnknownSignatureAlgorithm(`cannot verify signatures of ${did}: ${type} keys are not supported (ed25519 and secp256k1 are)`, { did, keyType: type })
}

/** ucanto's `PrincipalParser` over {@link parsePrincipal}: pass it as `principal` to `access()`/`claim()`. */
export const principalParser = {
  parse (did: string): Verifier {
    return parsePrincipal(did)
  }
}

/** The varsig code at the start of an encoded signature, or `undefined` when unreadable. */
export function signatureCode (signature: Uint8Array): number | undefined {
  try {
    return varint.decode(signature)[0]
  } catch {
    return undefined
  }
}

/**
 * Splits an encoded signature (varint code ‖ varint length ‖ raw) into a view
 * with `code` and `raw`, or `undefined` when the lengths do not add up.
 */
export function decodeSignature (signature: Uint8Array): SignatureLike | undefined {
  try {
    const [code, codeSize] = varint.decode(signature)
    const [size, sizeSize] = varint.decode(signature.subarray(codeSize))
    const start = codeSize + sizeSize
    // Non-standard signatures carry their algorithm name after the raw bytes; every other must end there.
    if (start + size > signature.length || (code !== 0xd000 && start + size !== signature.length)) return undefined
    const raw = signature.subarray(start, start + size)
    return Object.assign(Uint8Array.from(signature), { code, raw }) as SignatureLike
  } catch {
    return undefined
  }
}

/** What is being verified, for error messages and details (`receipt bafy…`, `delegation bafy…`). */
export interface SignedThing {
  what: string
  details?: Record<string, unknown>
}

/**
 * Checks that `signature` (encoded) is `did`'s signature of `payload`.
 * Errors: `UnknownSignatureAlgorithm` (varsig code or key type not supported),
 * `InvalidSignature` (malformed, wrong algorithm for the key, or not valid).
 */
export function verifySignature (did: string, payload: Uint8Array, signature: Uint8Array, thing: SignedThing): AuthResult<DID> {
  const details = { ...thing.details, issuer: did }
  const decoded = decodeSignature(signature)
  if (decoded === undefined) return { error: new InvalidSignature(`the signature of ${thing.what} is not a valid varsig-encoded signature`, details) }
  if (!signatureAlgorithms.has(decoded.code)) {
    const name = knownNames.get(decoded.code) ?? `varsig 0x${decoded.code.toString(16)}`
    return { error: new UnknownSignatureAlgorithm(`${thing.what} is signed with ${name}, which this node cannot verify (EdDSA and ES256K are supported)`, { ...details, algorithm: name }) }
  }
  let verifier: Verifier
  try {
    verifier = parsePrincipal(did)
  } catch (err) {
    return { error: err as UnknownSignatureAlgorithm }
  }
  if (verifier.signatureCode !== decoded.code) {
    return { error: new InvalidSignature(`${thing.what} carries an ${signatureAlgorithms.get(decoded.code)} signature but ${did} is an ${verifier.signatureAlgorithm} key`, details) }
  }
  if (!verifier.verify(payload, decoded)) {
    return { error: new InvalidSignature(`the signature of ${thing.what} by ${did} does not verify`, details) }
  }
  return { ok: verifier.did() }
}
