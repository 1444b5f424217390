/**
 * Identities and authority: node keys (one ed25519 key → did:key and PeerId),
 * UCAN capabilities of the market, delegation chains requester → scheduler →
 * executor, signed invocations and receipts, revocations.
 */
export * from './errors.js'
export * from './ed25519.js'
export * from './secp256k1.js'
export * from './principal.js'
export * from './identity.js'
export * from './capabilities.js'
export * from './delegation.js'
export * from './revocations.js'
export * from './validate.js'
export * from './sign.js'
export type * from './types.js'
