/**
 * The scheduler role assembled on a node: it takes workflows over
 * `/ipvm/submit/1.0.0`, keeps them in LMDB, awards their tasks to executors
 * found in the DHT through the market (bids, escrow in its ledger,
 * reputation), and advertises itself. Over `/ipvm/market/1.0.0` it answers
 * `balance`, `executors` and `status`, and `deposit` when it runs a faucet.
 */
import { BlockExchange } from '../src/net/protocols/blocks.js'
import { startRole } from '../src/net/discovery.js'
import { RemoteExecutor } from '../src/executor/remote.js'
import { Scheduler } from './scheduler.js'
import { SubmitService } from './submit-service.js'
import { Market } from './market.js'
import { LmdbLedger } from './lmdb-ledger.js'
import { ReputationBook, reputationOf } from './reputation.js'
import { MarketService, openDeposit } from '../src/net/protocols/market.js'
import { peerDid } from '../src/executor/remote.js'
import { IpvmError } from '../src/errors.js'
import { NetworkBlocks } from '../src/net/network-blocks.js'
import { LocalExecutor } from '../src/executor/local.js'
import { MAX_VERIFICATION_MESSAGE_BYTES } from '../src/net/protocols/market.js'
import { DEFAULT_SAMPLE_RATE } from '../src/constants.js'
import { Verification } from './verification.js'
import type { VerificationInit } from './verification.js'
import type { PeerId } from '@libp2p/interface'
import type { MarketInit } from './market.js'
import type { Ledger } from './ledger.js'
import type { DID } from '../src/auth/types.js'
import type { IpvmNode } from '../src/net/node.js'
import type { Repo } from '../src/store/interface.js'
import type { RemoteExecutorInit } from '../src/executor/remote.js'
import type { RevocationStore } from '../src/auth/revocations.js'
import type { SchedulerEvent } from './scheduler.js'

/** Options of {@link startSchedulerRole}. */
export interface SchedulerRoleInit {
  /** A started node. */
  node: IpvmNode
  /** Where receipts and blocks are committed (and the memo read). */
  repo: Repo
  /** The node's signer (same key as its PeerId). */
  signer: RemoteExecutorInit['signer']
  /** The scheduler's directory: `dir/scheduler.lmdb`. */
  dir: string
  /** Most tasks in flight over all workflows. @default 32 */
  concurrency?: number
  /** Refuse workflows without a budget delegation. @default true */
  requireProof?: boolean
  revocations?: RevocationStore
  /** Options for reaching executors (timeouts, attempts). */
  remote?: Omit<RemoteExecutorInit, 'node' | 'signer'>
  /** Progress of every workflow. */
  onEvent?: (event: SchedulerEvent) => void
  /** Announce the role in the DHT (as soon as the node has a DHT peer; see `advertised`). @default true */
  advertise?: boolean
  /** Market settings (bid window, minimum stake, challenge window, …); `false` hands tasks straight to executors, unpaid. */
  market?: false | Omit<MarketInit, 'node' | 'signer' | 'executor' | 'ledger' | 'reputation'>
  /** Highest price announced for workflows whose budget sets none (credits per million fuel). @default 10 */
  maxPrice?: number
  /**
   * Answer `deposit` requests by creating credits (a devnet faucet): at most
   * this many per request. Without it, deposits are refused.
   */
  faucet?: number
  /**
   * Optimistic verification: receipts go to verifiers (found in the DHT),
   * attestations and fraud proofs are taken and judged. The challenge window
   * is the market's. `false` turns it off (receipts are final at once… after
   * the challenge window, with nobody checking).
   */
  verification?: false | Omit<VerificationInit, 'node' | 'dir' | 'blocks' | 'executor' | 'ledger' | 'reputation' | 'retract' | 'challengeWindowMs' | 'minStake' | 'sampleRate'>
  /** Probability that a receipt is checked, which award collateral is reckoned from (see `collateralFor`). @default 0.05 */
  sampleRate?: number
}

/** A deposit was refused: this scheduler runs no faucet, or the amount is above its limit. */
export class DepositRefusedError extends IpvmError {
  override name = 'DepositRefused'
}

/** `status` of a workflow this scheduler does not know. */
export class UnknownWorkflowError extends IpvmError {
  override name = 'UnknownWorkflow'
}

/** A running scheduler role. */
export interface SchedulerRole {
  readonly scheduler: Scheduler
  /** Where receipts and their blocks are stored. */
  readonly repo: Repo
  readonly service: SubmitService
  readonly executor: RemoteExecutor
  readonly exchange: BlockExchange
  readonly ledger: Ledger
  /** The market (absent with `market: false`). */
  readonly market: Market | undefined
  readonly marketService: MarketService
  /** Optimistic verification (absent with `verification: false`). */
  readonly verification: Verification | undefined
  /** Workflows resumed from the state at start. */
  readonly resumed: string[]
  /** Resolves once the role is announced in the DHT (it waits for a first DHT peer). */
  readonly advertised: Promise<void>
  /** Stops taking and dispatching (unfinished workflows resume at the next start). Safe to call twice. */
  stop(): Promise<void>
}

/**
 * @example
 * ```ts
 * const role = await startSchedulerRole({ node, repo, signer: identity.signer, dir: home })
 * ```
 */
export async function startSchedulerRole (init: SchedulerRoleInit): Promise<SchedulerRole> {
  const { node, repo, signer } = init
  const exchange = new BlockExchange(node.libp2p, { blocks: repo.blocks })
  const executor = new RemoteExecutor({ ...init.remote, node, signer })
  const ledger = LmdbLedger.open(init.dir)
  const reputation = ReputationBook.open(init.dir)
  const sampleRate = init.sampleRate ?? DEFAULT_SAMPLE_RATE
  const market = init.market === false ? undefined : new Market({ sampleRate, ...init.market, node, signer, executor, ledger, reputation })
  // Fraud proofs are judged by re-running: modules and inputs come from the network when not here.
  const blocks = new NetworkBlocks({ local: repo.blocks, node, exchange, queryTimeoutMs: 10_000 })
  const judge = new LocalExecutor(blocks, { threads: 1 })
  let scheduler: Scheduler | undefined
  const verification = init.verification === false
    ? undefined
    : Verification.open({
      ...init.verification,
      node,
      dir: init.dir,
      blocks,
      executor: judge,
      ledger,
      reputation,
      sampleRate,
      ...(init.market !== false && init.market?.challengeWindowMs !== undefined ? { challengeWindowMs: init.market.challengeWindowMs } : {}),
      ...(init.market !== false && init.market?.minStake !== undefined ? { minStake: init.market.minStake } : {}),
      retract: async record => { await scheduler?.retract(record) }
    })
  scheduler = new Scheduler({
    repo,
    executor,
    ...(market !== undefined ? { market } : {}),
    ...(verification !== undefined ? { verification } : {}),
    ...(init.maxPrice !== undefined ? { maxPrice: init.maxPrice } : {}),
    // It signs the receipts it writes itself (a failed dependency, no executor).
    signer,
    dir: init.dir,
    concurrency: init.concurrency ?? 32,
    ...(init.onEvent !== undefined ? { onEvent: init.onEvent } : {})
  })
  const service = new SubmitService(node.libp2p, {
    scheduler,
    repo,
    did: signer.did(),
    ...(init.requireProof !== undefined ? { requireProof: init.requireProof } : {}),
    ...(init.revocations !== undefined ? { revocations: init.revocations } : {})
  })
  const marketService = new MarketService(node.libp2p, {
    // Fraud proofs carry receipts with their outputs inline.
    maxRequestBytes: MAX_VERIFICATION_MESSAGE_BYTES,
    handlers: {
      ...(verification !== undefined
        ? {
            attest: async (body: unknown, remote: PeerId) => {
              if (!(body instanceof Uint8Array)) throw new IpvmError('attest needs an attestation (an archived receipt/attest UCAN)')
              return await verification.attest(body, remote)
            },
            fraud: async (body: unknown, remote: PeerId) => {
              const verdict = await verification.fraud(body, remote)
              return {
                verdict: verdict.verdict,
                accused: verdict.accused,
                challenger: verdict.challenger,
                receipt: verdict.accusedReceipt,
                challengeRight: verdict.challengeRight,
                slashed: verdict.slashed,
                bounty: verdict.bounty,
                penalty: verdict.penalty
              }
            },
            verification: async (body: unknown) => {
              const receipts = (body as { receipts?: unknown } | null)?.receipts
              if (!Array.isArray(receipts) || receipts.length > 1024 || !receipts.every(r => typeof r === 'string')) throw new IpvmError('verification needs { receipts: [CID, …] } (at most 1024)')
              return { receipts: receipts.map(receipt => ({ receipt, state: verification.stateOf(receipt) ?? null, record: verification.record(receipt) ?? null })) }
            },
            verifiers: async () => ({ verifiers: verification.verifiers().map(v => ({ ...v, staked: ledger.account(v.did).staked })) })
          }
        : {}),
      balance: async body => {
        const did = (body as { did?: unknown } | null)?.did
        if (typeof did !== 'string' || !did.startsWith('did:')) throw new IpvmError('balance needs { did }')
        return { account: ledger.account(did as DID) }
      },
      executors: async () => {
        const known = reputation.list()
        return {
          executors: known.map(record => ({ ...record, reputation: reputationOf(record), staked: ledger.account(record.did).staked, available: ledger.account(record.did).available }))
        }
      },
      status: async body => {
        const id = (body as { workflow?: unknown } | null)?.workflow
        if (typeof id !== 'string') throw new IpvmError('status needs { workflow }')
        let summary
        try {
          summary = scheduler.summary(id)
        } catch {
          throw new UnknownWorkflowError(`this scheduler has no workflow ${id}`)
        }
        return { status: { id, ok: summary.ok, running: scheduler.isRunning(id), committed: ledger.committed(id), tasks: summary.tasks } }
      },
      deposit: async (body, remote) => {
        if (!(body instanceof Uint8Array)) throw new IpvmError('deposit needs a signed deposit request')
        // The stream is authenticated as `remote`: the request must be its own.
        const request = openDeposit(body, { trustedIssuer: peerDid(remote) }).payload
        if (init.faucet === undefined) throw new DepositRefusedError(`this scheduler runs no faucet: credits come from its operator (${signer.did()})`)
        if (request.amount > init.faucet) throw new DepositRefusedError(`the faucet gives at most ${init.faucet} credits per request, not ${request.amount}`)
        await ledger.deposit(request.to, request.amount, { stake: request.stake, memo: `faucet, asked by ${request.from}` })
        return { account: ledger.account(request.to) }
      }
    }
  })
  let resumed: string[] = []
  const { advertised, stop } = await startRole({
    node,
    role: 'scheduler',
    ...(init.advertise !== undefined ? { advertise: init.advertise } : {}),
    start: async () => {
      await exchange.start()
      await market?.start()
      resumed = await (scheduler as Scheduler).start()
      await service.start()
      await marketService.start()
    },
    stop: async () => {
      await marketService.stop()
      await service.stop()
      await executor.stop()
      await scheduler?.stop()
      await market?.stop()
      await verification?.close()
      await judge.stop()
      await exchange.stop()
      await reputation.close()
      await ledger.close()
    }
  })
  return { scheduler: scheduler as Scheduler, repo, service, executor, exchange, ledger, market, marketService, verification, resumed, advertised, stop }
}
