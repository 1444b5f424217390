/**
 * Fixed identities for tests and examples, so DIDs are the same on every run.
 * alice, bob and mallory are ucanto's own fixtures (same keys, same DIDs as
 * `@ucanto/core/test/fixtures.js`); carol is derived from a fixed label, and
 * dave is a secp256k1 identity (a Homestar-style `did:key:zQ3s…`).
 * Never use these keys for anything real: their secrets are public.
 */
import { createHash } from 'node:crypto'
import { base64pad } from 'multiformats/bases/base64'
import { Ed25519Signer } from './ed25519.js'
import { Secp256k1Signer } from './secp256k1.js'

function ucantoFixture (archive: string): Ed25519Signer {
  return Ed25519Signer.decode(base64pad.decode(archive))
}

function labelled (label: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`ipvm fixture: ${label}`).digest())
}

/** `did:key:z6Mkk89bC3JrVqKie71YEcc5M1SMVxuCgNx6zLZ8SYJsxALi` (ucanto's alice). */
export const alice = ucantoFixture('MgCZT5vOnYZoVAeyjnzuJIVY9J4LNtJ+f8Js0cTPuKUpFne0BVEDJjEu6quFIU8yp91/TY/+MYK8GvlKoTDnqOCovCVM=')

/** `did:key:z6MkffDZCkCTWreg8868fG1FGFogcJj5X6PY93pPcWDn9bob` (ucanto's bob). */
export const bob = ucantoFixture('MgCYbj5AJfVvdrjkjNCxB3iAUwx7RQHVQ7H1sKyHy46Iose0BEevXgL1V73PD9snOCIoONgb+yQ9sycYchQC8kygR4qY=')

/** `did:key:z6MktafZTREjJkvV5mfJxcLpNBoVPwDLhTuMg9ng7dY4zMAL` (ucanto's mallory, the attacker in tests). */
export const mallory = ucantoFixture('MgCYtH0AvYxiQwBG6+ZXcwlXywq9tI50G2mCAUJbwrrahkO0B0elFYkl3Ulf3Q3A/EvcVY0utb4etiSE8e6pi4H0FEmU=')

/** `did:key:z6Mkqctbb2KusYEpgL8NPaciPKGV2GWG2W4H1uDNGwTS9Nrd`, seed sha256("ipvm fixture: carol"). */
export const carol = Ed25519Signer.fromSeed(labelled('carol'))

/** `did:key:zQ3shZ5B9qQUTzVKtvMS4Quhp3iBGU1zEoJfXRBAFrqWLs57g` (secp256k1), secret sha256("ipvm fixture: dave"). */
export const dave = Secp256k1Signer.fromSecret(labelled('dave'))

/** The ed25519 seed of a fixture, e.g. to build a full node identity with `identityFromSeed`. */
export function fixtureSeed (name: 'alice' | 'bob' | 'carol' | 'mallory'): Uint8Array {
  const signer = { alice, bob, carol, mallory }[name]
  // ucanto archive layout: 2-byte multicodec 0x1300, then the 32-byte seed.
  return signer.encode().subarray(2, 34)
}
