/**
 * secp256k1 (ES256K) signer and verifier through `@noble/curves`, for the
 * `did:key`s with multicodec 0xe7 (`zQ3s…`) that Homestar nodes may use.
 * ucanto has no secp256k1 principal; these follow the shape of its ed25519
 * ones, so they work as ucanto issuers and in ipvm's principal parser.
 *
 * Signatures are ECDSA over SHA-256 of the payload, 64-byte compact `r ‖ s`,
 * low-S (as k256 and noble produce), tagged with the ES256K varsig code.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { base58btc } from 'multiformats/bases/base58'
import { varint } from 'multiformats'
import { Signature } from '@ucanto/core'
import { tagKey, DidVerifier } from './ed25519.js'
import type { SignatureLike } from './ed25519.js'
import type { DID } from './types.js'

/** Multicodec of a secp256k1 public key. */
export const SECP256K1_PUBLIC_CODE = 0xe7
/** Multicodec of a secp256k1 private key. */
export const SECP256K1_PRIVATE_CODE = 0x1301
/** Varsig code of ES256K signatures. */
export const ES256K = 0xd0e7

/** Verifies ES256K signatures of one secp256k1 `did:key`. */
export class Secp256k1Verifier {
  readonly code = SECP256K1_PUBLIC_CODE
  readonly signatureCode = ES256K
  readonly signatureAlgorithm = 'ES256K'
  /** The SEC1 public key (33 bytes compressed, as in `did:key`). */
  readonly publicKey: Uint8Array
  private readonly id: DID

  private constructor (publicKey: Uint8Array) {
    this.publicKey = publicKey
    this.id = `did:key:${base58btc.encode(tagKey(SECP256K1_PUBLIC_CODE, publicKey))}`
  }

  /** The verifier of a SEC1 public key (compressed or not; stored compressed). */
  static fromPublicKey (publicKey: Uint8Array): Secp256k1Verifier {
    // Parsing checks the point is on the curve; the DID always uses the compressed form.
    const point = secp256k1.Point.fromBytes(publicKey)
    return new Secp256k1Verifier(point.toBytes(true))
  }

  /** The verifier of a `did:key:zQ3s…` DID. Throws `RangeError` for any other DID. */
  static parse (did: string): Secp256k1Verifier {
    if (!did.startsWith('did:key:')) throw new RangeError(`${did} is not a did:key`)
    const bytes = base58btc.decode(did.slice('did:key:'.length))
    const [code, size] = varint.decode(bytes)
    if (code !== SECP256K1_PUBLIC_CODE) throw new RangeError(`${did} is not a secp256k1 key (multicodec 0x${code.toString(16)})`)
    return Secp256k1Verifier.fromPublicKey(bytes.subarray(size))
  }

  did (): DID {
    return this.id
  }

  toDIDKey (): DID {
    return this.id
  }

  /** True when `signature` is an ES256K signature of `payload` by this key. */
  verify (payload: Uint8Array, signature: SignatureLike): boolean {
    if (signature.code !== ES256K) return false
    try {
      return secp256k1.verify(signature.raw, payload, this.publicKey)
    } catch {
      return false
    }
  }

  withDID (id: DID): DidVerifier {
    return new DidVerifier(id, this)
  }

  encode (): Uint8Array {
    return tagKey(SECP256K1_PUBLIC_CODE, this.publicKey)
  }
}

/** Signs with a secp256k1 secret key. ucanto-compatible issuer. */
export class Secp256k1Signer {
  readonly code = SECP256K1_PRIVATE_CODE
  readonly signatureCode = ES256K
  readonly signatureAlgorithm = 'ES256K'
  readonly verifier: Secp256k1Verifier
  private readonly secret: Uint8Array

  private constructor (secret: Uint8Array) {
    this.secret = Uint8Array.from(secret)
    this.verifier = Secp256k1Verifier.fromPublicKey(secp256k1.getPublicKey(this.secret, true))
  }

  /** The signer of a 32-byte secret key. */
  static fromSecret (secret: Uint8Array): Secp256k1Signer {
    if (secret.length !== 32) throw new RangeError(`a secp256k1 secret key has 32 bytes, not ${secret.length}`)
    return new Secp256k1Signer(secret)
  }

  /** A new random key. */
  static generate (): Secp256k1Signer {
    return new Secp256k1Signer(secp256k1.utils.randomSecretKey())
  }

  get signer (): this {
    return this
  }

  did (): DID {
    return this.verifier.did()
  }

  toDIDKey (): DID {
    return this.verifier.did()
  }

  /** An ES256K signature (SHA-256 prehash, compact, low-S) in ucanto's signature encoding. */
  sign (payload: Uint8Array): SignatureLike {
    return Signature.create(ES256K, secp256k1.sign(payload, this.secret)) as unknown as SignatureLike
  }

  verify (payload: Uint8Array, signature: SignatureLike): boolean {
    return this.verifier.verify(payload, signature)
  }

  /** `0x1301 ‖ secret ‖ 0xe7 ‖ public` (the same layout as ucanto's ed25519 archive). */
  encode (): Uint8Array {
    const head = tagKey(SECP256K1_PRIVATE_CODE, this.secret)
    const tail = this.verifier.encode()
    const out = new Uint8Array(head.length + tail.length)
    out.set(head, 0)
    out.set(tail, head.length)
    return out
  }

  toArchive (): { id: DID, keys: Record<string, Uint8Array> } {
    return { id: this.did(), keys: { [this.did()]: this.encode() } }
  }
}
