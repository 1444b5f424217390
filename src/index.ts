/**
 * ipvm's public API. The polyfill is imported first (libp2p needs it on Node 20).
 */
import './polyfill.js'

export * from './errors.js'
export * from './constants.js'
export * from './model/index.js'
export * from './store/index.js'
export * from './wasm/index.js'
export * from './workflow/index.js'
export type * from './executor/interface.js'
export { LocalExecutor } from './executor/local.js'
export type { LocalExecutorInit } from './executor/local.js'
export * from './executor/remote.js'
export * from './auth/index.js'
export * from './net/index.js'
