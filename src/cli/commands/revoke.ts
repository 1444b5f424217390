/**
 * `ipvm revoke CID`: stop honouring a delegation on this node.
 */
import { CID } from 'multiformats/cid'
import { openRevocationStore, revocationsPath } from '../../auth/revocations.js'
import { UsageError } from '../../errors.js'
import { repoPath } from '../config.js'
import { commonOptions, commonHelp } from '../command.js'
import type { Command } from '../command.js'
import type { Revocation } from '../../auth/revocations.js'

function revocationJson (revocation: Revocation): Record<string, unknown> {
  return { cid: revocation.cid.toString(), revokedAt: new Date(revocation.at * 1000).toISOString(), ...(revocation.reason !== undefined ? { reason: revocation.reason } : {}) }
}

export const revoke: Command = {
  name: 'revoke',
  summary: 'record that a delegation (by CID) is no longer honoured by this node',
  help: `Usage: ipvm revoke [options] CID
       ipvm revoke --list

Records the delegation CID in the node's revocation store (REPO/revocations.lmdb).
From then on, every invocation whose chain includes that delegation is rejected
with \`Revoked\` before it runs, and \`ipvm verify-receipt\` reports it. A running
node sees the revocation at once. Recording the same CID again keeps the first
record.

Options:
  --reason TEXT  why (kept with the record)
  --list         print every revocation instead
${commonHelp}

Example:
  ipvm revoke bafyreib… --reason "scheduler key leaked"`,
  options: { ...commonOptions, reason: { type: 'string' }, list: { type: 'boolean' } },
  async run ({ values, positionals, env, stdout }) {
    const listing = values.list === true
    if (listing && positionals.length > 0) throw new UsageError('ipvm revoke --list takes no CID')
    if (!listing && positionals.length !== 1) throw new UsageError('ipvm revoke needs exactly one CID')
    let cid: CID | undefined
    if (!listing) {
      try {
        cid = CID.parse(positionals[0] as string)
      } catch {
        throw new UsageError(`"${positionals[0]}" is not a CID`)
      }
    }
    const store = openRevocationStore({ path: revocationsPath(repoPath(values.repo as string | undefined, env)) })
    try {
      if (cid === undefined) {
        const all = await store.list()
        if (values.json === true) stdout.write(JSON.stringify(all.map(revocationJson), null, 2) + '\n')
        else if (all.length === 0) stdout.write('no revocations\n')
        else for (const entry of all) stdout.write(`${entry.cid}  ${new Date(entry.at * 1000).toISOString()}${entry.reason !== undefined ? `  ${entry.reason}` : ''}\n`)
        return 0
      }
      const before = await store.get(cid)
      const reason = values.reason as string | undefined
      const record = await store.revoke(cid, reason !== undefined ? { reason } : {})
      if (values.json === true) stdout.write(JSON.stringify({ ...revocationJson(record), alreadyRevoked: before !== undefined }, null, 2) + '\n')
      else if (before !== undefined) stdout.write(`${cid} was already revoked on ${new Date(before.at * 1000).toISOString()}\n`)
      else stdout.write(`revoked ${cid}\n`)
      return 0
    } finally {
      await store.close()
    }
  }
}
