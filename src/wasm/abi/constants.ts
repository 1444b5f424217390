/**
 * Named defaults and fixed names of the calling conventions (ABIs).
 */

/** Export that declares the IPLD bytes ABI: `ipvm_alloc(len: i32) -> i32`, the guest's allocator. */
export const IPLD_ALLOC_EXPORT = 'ipvm_alloc'

/** The export a module must have for the IPLD bytes ABI and WASI: its linear memory. */
export const MEMORY_EXPORT = 'memory'

/** Export that makes a module importing WASI a command (its entry point). */
export const WASI_START_EXPORT = '_start'

/** Import module name of WASI preview 1. */
export const WASI_MODULE = 'wasi_snapshot_preview1'

/** Most bytes of DAG-CBOR an IPLD-ABI function may return. @default 16 MiB */
export const MAX_IPLD_OUTPUT_BYTES = 16 * 1024 * 1024

/** Most bytes a WASI command may write to stdout; more is a `LimitExceeded` error. @default 16 MiB */
export const MAX_STDOUT_BYTES = 16 * 1024 * 1024

/** Most stderr bytes kept per task; the rest is dropped and the drop is noted. @default 64 KiB */
export const MAX_STDERR_BYTES = 64 * 1024
