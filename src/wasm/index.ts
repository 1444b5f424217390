export * from './pool.js'
export * from './module-info.js'
export * from './abi.js'
