/**
 * `ipvm id`: print the node's DID and PeerId, creating its key on first use.
 */
import { loadOrCreateIdentity } from '../../auth/identity.js'
import { UsageError } from '../../errors.js'
import { repoPath } from '../config.js'
import { commonOptions, commonHelp } from '../command.js'
import type { Command } from '../command.js'

export const id: Command = {
  name: 'id',
  summary: 'print this node\'s DID and libp2p PeerId (creates its key on first use)',
  help: `Usage: ipvm id [options]

Prints the node's identity: its did:key (the issuer of its delegations and the
signer of its receipts) and its libp2p PeerId. Both name the same ed25519 key,
kept in REPO/identity.key (mode 0600). The key is created on first use and is
never printed. A key file readable by group or others is refused; fix it with
\`chmod 600 REPO/identity.key\`.

Options:
${commonHelp}

Example:
  ipvm id
  ipvm id --json`,
  options: { ...commonOptions },
  async run ({ values, positionals, env, stdout }) {
    if (positionals.length > 0) throw new UsageError('ipvm id takes no arguments')
    const identity = await loadOrCreateIdentity(repoPath(values.repo as string | undefined, env))
    if (values.json === true) {
      stdout.write(JSON.stringify({ did: identity.did, peerId: identity.peerId.toString(), keyFile: identity.keyFile, created: identity.created }, null, 2) + '\n')
      return 0
    }
    stdout.write(`DID     ${identity.did}\nPeerId  ${identity.peerId.toString()}\n`)
    if (identity.created) stdout.write(`(new key written to ${identity.keyFile})\n`)
    return 0
  }
}
