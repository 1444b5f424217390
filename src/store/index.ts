export type * from './interface.js'
export * from './lmdb-repo.js'
export * from './memory-repo.js'
export * from './unixfs.js'
