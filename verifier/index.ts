/**
 * The verifier role.
 */
export { startVerifierRole } from './role.js'
export type { VerifierRole, VerifierRoleInit } from './role.js'
