/**
 * `ipvm receipt INID`: print the receipt recorded for an instruction.
 */
import { CID } from 'multiformats/cid'
import { openLmdbRepo } from '../../store/lmdb-repo.js'
import { decodeBlock } from '../../model/block.js'
import { toDagJson } from '../../model/dag-json.js'
import { UsageError, InputError } from '../../errors.js'
import { repoPath } from '../config.js'
import { commonOptions, commonHelp } from '../command.js'
import type { Command } from '../command.js'
import type { Receipt } from '../../model/types.js'

export const receipt: Command = {
  name: 'receipt',
  summary: 'print the receipt of an instruction (by InID) as DAG-JSON',
  help: `Usage: ipvm receipt [options] INID

Prints, as DAG-JSON, the receipt last recorded for the instruction whose CID is
INID (shown by \`ipvm run\`). Homestar-style sha3-256 InIDs work too. A receipt's
CID works as well.

Options:
  --invocation  also print the invocation the receipt answers
${commonHelp}`,
  options: { ...commonOptions, invocation: { type: 'boolean' } },
  async run ({ values, positionals, env, stdout }) {
    if (positionals.length !== 1) throw new UsageError('ipvm receipt needs exactly one INID')
    let cid: CID
    try {
      cid = CID.parse(positionals[0] as string)
    } catch {
      throw new UsageError(`"${positionals[0]}" is not a CID`)
    }
    const path = repoPath(values.repo as string | undefined, env)
    const repo = openLmdbRepo({ path })
    try {
      const receiptCid = await repo.receipts.get(cid) ?? cid
      const bytes = await repo.blocks.get(receiptCid)
      if (bytes === undefined) throw new InputError(`no receipt for ${cid} in ${path}`)
      let value: Receipt
      try {
        value = decodeBlock<Receipt>(bytes)
      } catch {
        throw new InputError(`${cid} is not a receipt`)
      }
      if (typeof value !== 'object' || value === null || !('ran' in value) || !('out' in value)) throw new InputError(`${cid} is not a receipt`)
      const output: Record<string, unknown> = { receipt: receiptCid, value }
      if (values.invocation === true) {
        const invocation = await repo.blocks.get(value.ran)
        if (invocation !== undefined) output.invocation = decodeBlock(invocation)
      }
      stdout.write(toDagJson(values.invocation === true ? output : value) + '\n')
      return 0
    } finally {
      await repo.close()
    }
  }
}
