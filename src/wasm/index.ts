export * from './pool.js'
export * from './abi.js'
