/**
 * Types of identities and authority, types only.
 */
import type { CID } from 'multiformats/cid'
import type { AuthError } from './errors.js'

/** A DID string, e.g. `did:key:z6Mk…`. */
export type DID = `did:${string}:${string}`

/** Something you may `await`. */
export type Await<T> = T | PromiseLike<T>

/**
 * The result of a check: `{ ok }` or `{ error }` with a named {@link AuthError}.
 * Never thrown at the caller.
 */
export type AuthResult<T> =
  | { ok: T, error?: undefined }
  | { ok?: undefined, error: AuthError }

/**
 * Who signs. Any ucanto `Signer` fits (ipvm's node:crypto ed25519 signer, the
 * secp256k1 one, `@ucanto/principal`'s own). `sign` returns the signature in
 * ucanto's self-describing encoding: varint(varsig code) ‖ varint(length) ‖ raw
 * bytes, so the algorithm travels with the signature.
 */
export interface Signer {
  did(): DID
  /** Varsig code of the algorithm, e.g. 0xd0ed (EdDSA) or 0xd0e7 (ES256K). */
  readonly signatureCode: number
  sign(payload: Uint8Array): Await<Uint8Array>
}

/** Reads blocks by CID; `Blocks` from src/store/interface.ts fits. Bytes read through it are checked against their CIDs. */
export interface BlockGetter {
  get(cid: CID): Promise<Uint8Array | undefined>
}

/**
 * The UCAN Invocation 0.2 authorization: the CIDs of the tasks it covers and
 * the invoker's signature over the DAG-CBOR encoding of `scope`. One
 * authorization may cover a whole workflow (one signature for many tasks).
 */
export interface Authorization {
  scope: CID[]
  s: Uint8Array
}

/** The caveats of `wasm/run`. An absent caveat is no limit. */
export interface WasmRunCaveats {
  /** Most fuel one task may ask for. */
  maxFuel?: number
  /** Highest price, in credits per million fuel. */
  maxPrice?: number
  /** Most credits one task may commit (its fuel limit at its price). */
  maxSpend?: number
  /** Modules that may be run; absent means any module. */
  modules?: CID[]
}

/**
 * What the executor is about to run, checked against the chain before any fuel
 * is spent. `fuel` absent means unbounded (which exceeds any `maxFuel`);
 * `price` absent means free.
 */
export interface TaskTerms {
  module: CID
  fuel?: number | bigint
  price?: number | bigint
}
