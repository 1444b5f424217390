export * from './pool.js'
export * from './abi.js'
export * from './abi/index.js'
export * from './wasi.js'
