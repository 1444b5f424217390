/**
 * The calling conventions (ABIs) and their selection. See `README.md`.
 *
 * @packageDocumentation
 */
export { selectAbi, moduleShape } from './select.js'
export type { AbiKind, AbiSelection, ModuleShape } from './select.js'
export { callCore, CORE_ALLOC_EXPORT } from './core.js'
export { callIpld, packPointer, unpackPointer } from './ipld.js'
export type { IpldCallOptions } from './ipld.js'
export { wasiInvocation, checkCommandEntry, runCommand, exitCodeError } from './wasi-command.js'
export type { CommandResult } from './wasi-command.js'
export type { Guest } from './guest.js'
export * from './constants.js'
