/**
 * Named defaults. Every limit that protects the node lives here.
 */

/** Default wall-clock limit of a task when its `meta.time` is absent (ms). */
export const DEFAULT_TASK_TIME_MS = 60_000

/** Fuel limit of a task whose `meta.fuel` is absent. */
export const DEFAULT_TASK_FUEL = 10_000_000_000

/** Memory limit of a task whose `meta.memory` is absent (bytes): 128 MiB. */
export const DEFAULT_TASK_MEMORY = 128 * 1024 * 1024

/** Most memory a task may have, whatever its `meta.memory` asks (bytes): 1 GiB. */
export const MAX_TASK_MEMORY = 1024 * 1024 * 1024

/** Largest `meta.time` a workflow may ask for (ms): one hour. */
export const MAX_TASK_TIME_MS = 3_600_000

/** Largest workflow file read (bytes). */
export const MAX_WORKFLOW_BYTES = 16 * 1024 * 1024

/** Most tasks one workflow may hold. */
export const MAX_WORKFLOW_TASKS = 100_000

/** Largest Wasm module loaded for execution (bytes). */
export const MAX_MODULE_BYTES = 64 * 1024 * 1024

/** Largest file or block resolved into a task argument (bytes). */
export const MAX_ARGUMENT_BYTES = 256 * 1024 * 1024

/** Largest single raw block `ipvm add --raw` creates (bytes), the IPFS block-size convention. */
export const MAX_RAW_BLOCK_BYTES = 2 * 1024 * 1024

/** Compiled modules a worker keeps, by CID. */
export const WORKER_MODULE_CACHE_SIZE = 32

/** Most validation issues reported for one workflow before the rest are summarised. */
export const MAX_REPORTED_ISSUES = 50

/** An executor's asking price when none is configured (credits per million fuel). */
export const DEFAULT_BID_PRICE = 1

/** The highest price a requester's budget allows when none is given (credits per million fuel). */
export const DEFAULT_MAX_PRICE = 10

/** Least stake an executor must hold in a scheduler's ledger to be awarded tasks (credits). */
export const DEFAULT_MIN_STAKE = 1_000

/** How long a scheduler collects bids for one task before awarding (ms); it awards earlier once every executor asked has answered. */
export const DEFAULT_BID_WINDOW_MS = 500

/** Most executors asked to bid on one task. */
export const DEFAULT_MAX_BIDDERS = 16

/** How long after its receipt a result may still be challenged before its escrow settles (ms). */
export const DEFAULT_CHALLENGE_WINDOW_MS = 10 * 60 * 1000

/** How long a task waits for an executor to bid before it fails with `NoExecutor` (ms). */
export const DEFAULT_AWARD_TIMEOUT_MS = 10 * 60 * 1000

/** Credits a devnet faucet gives each requester, and stakes for each executor. */
export const DEVNET_FAUCET_CREDITS = 1_000_000_000

/**
 * Probability that a receipt is checked by a verifier (each verifier's own
 * sample rate, and what a scheduler reckons collateral from). With p = 0.05 an
 * award's collateral is 19 × its escrow: see `collateralFor` in
 * scheduler/verification.ts and the README.
 */
export const DEFAULT_SAMPLE_RATE = 0.05

/** Share of a slashed stake paid to the verifier that proved the fraud (the rest goes to the requester). */
export const DEFAULT_BOUNTY_SHARE = 0.5

/**
 * Credits a devnet stakes for each executor and verifier: collateral at the
 * default sample rate for any task a devnet runs (escrows up to 5 × 10^11
 * credits, e.g. 2^46 fuel at price 1 needs 1.3 × 10^9).
 */
export const DEVNET_STAKE = 10_000_000_000_000
