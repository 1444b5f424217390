/**
 * Attestations: a verifier's signed statement that it re-ran a receipt and
 * got the same outcome digest. An attestation is a UCAN (ucanto) the verifier
 * issues on its own DID to the scheduler:
 *
 * ```
 * { iss: verifier, aud: scheduler, att: [{ can: "receipt/attest", with: verifier, nb: { receipt, digest } }] }
 * ```
 * so it is checked like any delegation (signature, expiry), travels as a CAR,
 * and is named by its CID. Whether an attestation makes a result final is the
 * requester's call: it names the verifiers it trusts.
 */
import { delegate } from '@ucanto/core'
import { CID } from 'multiformats/cid'
import { IpvmError } from '../errors.js'
import { ReceiptAttest } from '../auth/capabilities.js'
import { archiveDelegation, extractDelegation } from '../auth/delegation.js'
import { checkDelegationSignature } from '../auth/validate.js'
import type * as Ucanto from '@ucanto/interface'
import type { DID, Signer } from '../auth/types.js'
import type { Delegation, Issuer } from '../auth/delegation.js'

/** What an attestation says. */
export interface Attestation {
  /** Its CID (the UCAN's). */
  cid: CID
  verifier: DID
  /** Who it is addressed to (the scheduler). */
  audience: DID
  receipt: CID
  /** The outcome digest the verifier's re-run produced (equal to the receipt's). */
  digest: CID
  /** The UCAN, archived (a CAR): what travels and is stored. */
  bytes: Uint8Array
}

/** An attestation that is not one (malformed, forged, expired, another ability). */
export class InvalidAttestationError extends IpvmError {
  override name = 'InvalidAttestation'
}

/** Issues an attestation of `receipt` with outcome `digest`, addressed to `audience`. */
export async function signAttestation (init: { signer: Signer & { did(): DID }, audience: DID, receipt: CID, digest: CID }): Promise<Attestation> {
  const verifier = init.signer.did()
  const capability = ReceiptAttest.create({ with: verifier, nb: { receipt: init.receipt, digest: init.digest } } as never)
  const delegation = await delegate({
    issuer: init.signer as unknown as Issuer,
    audience: { did: () => init.audience },
    capabilities: [capability as Ucanto.Capability],
    expiration: Infinity
  })
  const bytes = await archiveDelegation(delegation)
  return { cid: CID.asCID(delegation.cid) as CID, verifier, audience: init.audience, receipt: init.receipt, digest: init.digest, bytes }
}

/**
 * Reads and checks an attestation: a `receipt/attest` UCAN on its issuer's
 * own DID, validly signed and unexpired, naming a receipt and a digest.
 * Throws {@link InvalidAttestationError}.
 */
export async function openAttestation (bytes: Uint8Array, now = Date.now()): Promise<Attestation> {
  const extracted = extractDelegation(bytes)
  if (extracted.error !== undefined) throw new InvalidAttestationError(`${extracted.error.name}: ${extracted.error.message}`)
  const delegation: Delegation = extracted.ok
  let issuer: DID
  let audience: DID
  try {
    issuer = delegation.issuer.did()
    audience = delegation.audience.did()
  } catch (err) {
    throw new InvalidAttestationError(`the attestation cannot be decoded: ${(err as Error).message}`)
  }
  const signature = await checkDelegationSignature(delegation, issuer)
  if (signature.error !== undefined) throw new InvalidAttestationError(`${signature.error.name}: ${signature.error.message}`)
  if (delegation.expiration !== undefined && delegation.expiration !== null && delegation.expiration * 1000 < now) throw new InvalidAttestationError('the attestation has expired')
  const capabilities = delegation.capabilities as Array<{ can: string, with: string, nb?: { receipt?: unknown, digest?: unknown } }>
  const attest = capabilities.length === 1 ? capabilities[0] : undefined
  if (attest?.can !== 'receipt/attest') throw new InvalidAttestationError('an attestation grants exactly one capability, receipt/attest')
  if (attest.with !== issuer) throw new InvalidAttestationError(`an attestation speaks for its issuer: \`with\` is ${attest.with}, not ${issuer}`)
  const receipt = CID.asCID(attest.nb?.receipt)
  const digest = CID.asCID(attest.nb?.digest)
  if (receipt === null || digest === null) throw new InvalidAttestationError('an attestation names a `receipt` and a `digest`')
  return { cid: CID.asCID(delegation.cid) as CID, verifier: issuer, audience, receipt, digest, bytes }
}
