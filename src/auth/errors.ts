/**
 * Errors of identities and authority. Each class has a fixed `name` that
 * callers match on. Validation never throws them at the caller: it returns them
 * as values (`{ error }`), ucanto style, so a rejected invocation becomes an
 * error receipt or a CLI message instead of a crash. `toValue()` gives the form
 * that travels in a receipt (`{ name, message, ...details }`, no undefined).
 */
import { IpvmError } from '../errors.js'

/** Names of the authority errors, as they appear in `error.name`. */
export type AuthErrorName =
  | 'Expired'
  | 'NotValidBefore'
  | 'WrongAudience'
  | 'WrongIssuer'
  | 'InvalidSignature'
  | 'MissingSignature'
  | 'UnknownSignatureAlgorithm'
  | 'BrokenChain'
  | 'EscalatedCapability'
  | 'CaveatExceeded'
  | 'Revoked'
  | 'MalformedDelegation'
  | 'MalformedInvocation'
  | 'MalformedReceipt'
  | 'MissingBlock'

/** The caveats a task or a delegation can exceed (`with` is the resource itself). */
export type CaveatName = 'maxFuel' | 'maxPrice' | 'maxSpend' | 'modules' | 'with' | 'task' | 'receipt'

/** The serialisable form of an authority error. */
export interface AuthErrorValue {
  name: AuthErrorName
  message: string
  [detail: string]: unknown
}

/** Base class of every authority error; `details` are the machine-readable facts (CIDs, DIDs, times). */
export abstract class AuthError extends IpvmError {
  abstract override name: AuthErrorName
  readonly details: Record<string, unknown>

  constructor (message: string, details: Record<string, unknown> = {}) {
    super(message)
    this.details = details
  }

  /** `{ name, message, ...details }` with CIDs as strings and no `undefined` (safe for DAG-CBOR and JSON). */
  toValue (): AuthErrorValue {
    const value: AuthErrorValue = { name: this.name, message: this.message }
    for (const [key, detail] of Object.entries(this.details)) {
      if (detail === undefined) continue
      // CIDs (from any multiformats version) become strings, bigints decimal strings: JSON and DAG-CBOR both take them.
      value[key] = typeof detail === 'bigint' || (typeof detail === 'object' && detail !== null && !Array.isArray(detail) && !(detail instanceof Uint8Array))
        ? String(detail)
        : detail
    }
    return value
  }

  toJSON (): AuthErrorValue {
    return this.toValue()
  }
}

/** A delegation in the chain had expired at the time of validation (`exp <= now`). */
export class Expired extends AuthError {
  override name = 'Expired' as const
}

/** A delegation in the chain is not valid yet (`now < nbf`). */
export class NotValidBefore extends AuthError {
  override name = 'NotValidBefore' as const
}

/** The chain authorises someone other than the node asked to run the task. */
export class WrongAudience extends AuthError {
  override name = 'WrongAudience' as const
}

/** A receipt is signed by someone other than the principal its invocation authorises (or than the one expected). */
export class WrongIssuer extends AuthError {
  override name = 'WrongIssuer' as const
}

/** A signature does not verify against its issuer's key and the signed bytes. */
export class InvalidSignature extends AuthError {
  override name = 'InvalidSignature' as const
}

/** A receipt or invocation that must be signed is not (no `sig`, no `auth`). */
export class MissingSignature extends AuthError {
  override name = 'MissingSignature' as const
}

/** The signature's varsig code, or the issuer's key type, is one this node cannot verify. */
export class UnknownSignatureAlgorithm extends AuthError {
  override name = 'UnknownSignatureAlgorithm' as const
}

/** The chain does not connect: a proof is unavailable, a link's issuer is not its proof's audience, or the root does not own the resource. */
export class BrokenChain extends AuthError {
  override name = 'BrokenChain' as const
}

/** A delegation grants more than its proof grants (a higher caveat, a module outside the list, another resource). */
export class EscalatedCapability extends AuthError {
  override name = 'EscalatedCapability' as const
}

/** The task asks for more than the chain grants; `details.caveat` names which caveat. */
export class CaveatExceeded extends AuthError {
  override name = 'CaveatExceeded' as const
}

/** A delegation in the chain has been revoked in this node's revocation store. */
export class Revoked extends AuthError {
  override name = 'Revoked' as const
}

/** A delegation cannot be decoded, fails its schema, or its bytes do not match its CID (also a truncated CAR). */
export class MalformedDelegation extends AuthError {
  override name = 'MalformedDelegation' as const
}

/** An invocation or its authorization block is not of the UCAN Invocation 0.2 shape. */
export class MalformedInvocation extends AuthError {
  override name = 'MalformedInvocation' as const
}

/** A receipt cannot be decoded or is not of the receipt shape. */
export class MalformedReceipt extends AuthError {
  override name = 'MalformedReceipt' as const
}

/** A block needed to check something (invocation, authorization, instruction) is not available. */
export class MissingBlock extends AuthError {
  override name = 'MissingBlock' as const
}

/**
 * The identity key file is readable by group or others. The node refuses to
 * use a key that other users could have copied.
 */
export class InsecureKeyFile extends IpvmError {
  override name = 'InsecureKeyFile'
  readonly path: string
  readonly mode: number

  constructor (path: string, mode: number) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0')
    super(`refusing to use ${path}: it is readable by group or others (mode ${octal}); fix it with \`chmod 600 ${path}\``)
    this.path = path
    this.mode = mode
  }
}

/** The identity key file exists but is not an Ed25519 private key ipvm can read. */
export class InvalidKeyFile extends IpvmError {
  override name = 'InvalidKeyFile'
  readonly path: string

  constructor (path: string, reason: string) {
    super(`cannot read the identity key ${path}: ${reason}`)
    this.path = path
  }
}

/** True when `value` is an authority error (thrown or returned). */
export function isAuthError (value: unknown): value is AuthError {
  return value instanceof AuthError
}
