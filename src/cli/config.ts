/**
 * Where a node keeps its data: `--repo DIR`, else `IPVM_HOME`, else `~/.ipvm`.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/** The repository directory for these flags and environment. */
export function repoPath (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag !== '') return resolve(flag)
  if (env.IPVM_HOME !== undefined && env.IPVM_HOME !== '') return resolve(env.IPVM_HOME)
  return join(homedir(), '.ipvm')
}
