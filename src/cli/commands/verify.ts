/**
 * `ipvm verify RECEIPT`: re-run a signed receipt offline and compare outcome
 * digests, writing a fraud proof when it is wrong; `ipvm verify --proof FILE`:
 * judge a fraud proof offline.
 */
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { LocalExecutor } from '../../executor/local.js'
import { loadOrCreateIdentity } from '../../auth/identity.js'
import { openLmdbRepo } from '../../store/lmdb-repo.js'
import { recheck } from '../../verify/recheck.js'
import { FraudProofError, fraudProofCar, judgeFraudProof, makeFraudProof, mapBlocks, readFraudProofCar } from '../../verify/fraud-proof.js'
import { InputError, UsageError } from '../../errors.js'
import { repoPath } from '../config.js'
import { commonOptions, commonHelp } from '../command.js'
import { loadFile, loadStored, targetCid } from './verify-receipt.js'
import type { Command, CommandContext } from '../command.js'
import type { Blocks, Repo } from '../../store/interface.js'
import type { Verdict } from '../../verify/fraud-proof.js'
import type { Loaded } from './verify-receipt.js'

/** The node's store, when it has one: verification reads it but never creates one for a file. */
function openRepo (home: string, always: boolean): Repo | undefined {
  return always || existsSync(join(home, 'store.lmdb')) ? openLmdbRepo({ path: home }) : undefined
}

/** Runs `work` with a one-thread executor over `blocks`, stopping it after. */
async function withExecutor<T> (blocks: Blocks, work: (executor: LocalExecutor) => Promise<T>): Promise<T> {
  // No identity: a verifier runs what the receipt's invocation states, under its limits.
  const executor = new LocalExecutor(blocks, { threads: 1 })
  try {
    return await work(executor)
  } finally {
    await executor.stop()
  }
}

function fail ({ values, stdout, stderr }: CommandContext, name: string, message: string, extra: Record<string, unknown> = {}): number {
  if (values.json === true) stdout.write(JSON.stringify({ ok: false, ...extra, error: { name, message } }, null, 2) + '\n')
  stderr.write(`ipvm verify: ${name}: ${message}\n`)
  return 1
}

async function verifyReceipt (context: CommandContext, target: string, home: string): Promise<number> {
  const { values, stdout, signal } = context
  const cid = await targetCid(target)
  const repo = openRepo(home, cid !== undefined)
  try {
    const loaded: Loaded = cid !== undefined ? await loadStored(repo, cid, home) : await loadFile(target)
    const blocks = mapBlocks(new Map(loaded.blocks), repo?.blocks)
    return await withExecutor(blocks, async executor => {
      const check = await recheck(loaded.bytes, blocks, executor, { signal })
      if (check.status === 'uncheckable') return fail(context, check.error.name, check.error.message, { status: 'uncheckable' })
      const { claim } = check
      const fuel = String(check.rerun.fuel)
      if (check.status === 'match') {
        if (values.json === true) {
          stdout.write(JSON.stringify({ ok: true, status: 'valid', receipt: claim.receipt.cid.toString(), issuer: claim.issuer, instruction: claim.instructionCid.toString(), digest: check.digest.toString(), fuel }, null, 2) + '\n')
        } else {
          stdout.write(`valid: ${claim.receipt.cid} (outcome digest ${check.digest}, fuel ${fuel})\n`)
        }
        return 0
      }
      const summary = {
        ok: false,
        status: 'fraud',
        receipt: claim.receipt.cid.toString(),
        issuer: claim.issuer,
        instruction: claim.instructionCid.toString(),
        claimed: { digest: claim.digest.toString(), fuel: claim.fuel === null ? null : String(claim.fuel) },
        rerun: { digest: check.digest.toString(), fuel }
      }
      const what = `${claim.issuer}'s receipt ${claim.receipt.cid} claims outcome digest ${claim.digest} (fuel ${String(claim.fuel)}); the re-run gives ${check.digest} (fuel ${fuel})`
      const identity = await loadOrCreateIdentity(home)
      if (identity.did === claim.issuer) {
        // A proof needs a second signer: this node cannot accuse its own receipt.
        if (values.json === true) stdout.write(JSON.stringify({ ...summary, proof: null }, null, 2) + '\n')
        else stdout.write(`fraud: ${what}; no proof written: the receipt is signed by this node's own key\n`)
        return 1
      }
      const made = await makeFraudProof(claim, check.rerun, identity.signer)
      const car = await fraudProofCar(made.proof, blocks, [made.challenge, { cid: claim.receipt.cid, bytes: claim.receipt.bytes }], { signal })
      const out = resolve((values.out as string | undefined) ?? `fraud-${claim.receipt.cid}.car`)
      try {
        await writeFile(out, car)
      } catch (err) {
        throw new InputError(`cannot write the fraud proof to ${out}: ${(err as Error).message}`)
      }
      if (values.json === true) {
        stdout.write(JSON.stringify({ ...summary, proof: out, proofCid: made.proof.cid.toString(), challenge: made.challenge.cid.toString(), challenger: identity.did }, null, 2) + '\n')
      } else {
        stdout.write(`fraud: ${what}; proof written to ${out}\n`)
      }
      return 1
    })
  } finally {
    await repo?.close()
  }
}

function describe (verdict: Verdict): string {
  if (verdict.verdict === 'fraud') {
    const challenge = verdict.challengeRight ? `${verdict.challenger}'s challenge ${verdict.challengeReceipt} is right` : `${verdict.challenger}'s challenge ${verdict.challengeReceipt} is wrong too`
    return `fraud proven: ${verdict.accused}'s receipt ${verdict.accusedReceipt} is wrong: it claims ${verdict.digests.accused}, the re-run of ${verdict.instruction} gives ${verdict.digests.rerun}; ${challenge}\n`
  }
  return `false accusation: ${verdict.challenger}'s challenge ${verdict.challengeReceipt} is wrong: ${verdict.accused}'s receipt ${verdict.accusedReceipt} matches the re-run of ${verdict.instruction} (${verdict.digests.rerun})\n`
}

async function judgeProof (context: CommandContext, path: string, home: string): Promise<number> {
  const { values, stdout, signal } = context
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as Error).message}`)
  }
  const repo = openRepo(home, false)
  try {
    const file = readFraudProofCar(bytes)
    const blocks = mapBlocks(file.blocks, repo?.blocks)
    const verdict = await withExecutor(blocks, async executor => await judgeFraudProof(file.proof, blocks, executor, { signal }))
    if (values.json === true) {
      stdout.write(JSON.stringify({
        ok: verdict.verdict === 'fraud',
        proof: file.proof.cid.toString(),
        verdict: verdict.verdict,
        instruction: verdict.instruction.toString(),
        accused: verdict.accused,
        challenger: verdict.challenger,
        accusedReceipt: verdict.accusedReceipt.toString(),
        challengeReceipt: verdict.challengeReceipt.toString(),
        digests: { accused: verdict.digests.accused.toString(), challenge: verdict.digests.challenge.toString(), rerun: verdict.digests.rerun.toString() },
        challengeRight: verdict.challengeRight
      }, null, 2) + '\n')
    } else {
      stdout.write(describe(verdict))
    }
    return verdict.verdict === 'fraud' ? 0 : 1
  } catch (err) {
    if (err instanceof FraudProofError) return fail(context, err.name, err.message)
    throw err
  } finally {
    await repo?.close()
  }
}

export const verify: Command = {
  name: 'verify',
  summary: 're-run a receipt offline and write a fraud proof if it is wrong; judge a fraud proof',
  help: `Usage: ipvm verify [options] RECEIPT
       ipvm verify [options] --proof FILE

Re-runs the task a signed receipt answers, offline, in a one-thread sandbox
with the limits its invocation states, and compares outcome digests
({InID, out, fuel}). The invocation, its instruction and the arguments it ran
on (\`meta.args\`) come from the file and from the node's store.

RECEIPT is a CID in the node's store (a receipt, or an InID: the receipt
recorded for it) or a file: a CAR whose root is the receipt and whose other
blocks are what it rests on, DAG-JSON (what \`ipvm receipt\` prints), or DAG-CBOR.

  valid   the re-run gives the same digest; exit 0.
  fraud   it does not: a fraud proof (both receipts, signed by this node as the
          challenger, with every block needed to judge it) is written to --out;
          exit 1.
  Otherwise exit 1 with the reason: Nondeterministic (no fuel: it did not end
  deterministically), UnboundArguments (awaited inputs not committed to),
  MissingBlock, InvalidSignature, MalformedReceipt.

With --proof, judges a fraud proof CAR by re-running it, offline (its own
blocks, then the node's store). Exit 0 when the fraud is proven; 1 for a false
accusation, or a proof that is not one (InvalidFraudProof, UnsignedReceipt,
DifferentInstructions, NoDisagreement, Inconclusive).

Options:
  --proof FILE   judge this fraud proof CAR instead of re-running a receipt
  --out FILE     where to write a fraud proof (default: fraud-<receipt CID>.car)
${commonHelp}

Examples:
  ipvm verify bafyrei…
  ipvm verify receipt.car --out proof.car
  ipvm verify --proof proof.car`,
  options: { ...commonOptions, proof: { type: 'string' }, out: { type: 'string' } },
  async run (context) {
    const { values, positionals, env } = context
    const proof = values.proof as string | undefined
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1] as string}": ipvm verify takes one RECEIPT`)
    if (proof !== undefined && positionals.length > 0) throw new UsageError('give either RECEIPT or --proof FILE, not both')
    if (proof === undefined && positionals.length === 0) throw new UsageError('give a RECEIPT (file or CID) to re-run, or --proof FILE to judge')
    if (proof !== undefined && values.out !== undefined) throw new UsageError('--out applies to re-running a receipt, not to --proof')
    const home = repoPath(values.repo as string | undefined, env)
    return proof !== undefined ? await judgeProof(context, proof, home) : await verifyReceipt(context, positionals[0] as string, home)
  }
}
