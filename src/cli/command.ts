/**
 * The shape of a CLI command, types only.
 */
import type { ParseArgsConfig } from 'node:util'
import type { Output } from './output.js'

/** What a command is given. */
export interface CommandContext extends Output {
  values: Record<string, string | boolean | Array<string | boolean> | undefined>
  positionals: string[]
  env: NodeJS.ProcessEnv
  /** Aborted on Ctrl-C. */
  signal: AbortSignal
}

/** One `ipvm` sub-command. */
export interface Command {
  name: string
  /** One line for `ipvm --help`. */
  summary: string
  /** The full `ipvm NAME --help` text. */
  help: string
  options: NonNullable<ParseArgsConfig['options']>
  /** Runs the command; resolves to the process exit code. */
  run(context: CommandContext): Promise<number>
}

/** Options every command takes. */
export const commonOptions = {
  repo: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

/** Help text shared by every command. */
export const commonHelp = `  --repo DIR   the node's data directory (default: $IPVM_HOME, else ~/.ipvm)
  --json       machine-readable output on stdout
  -h, --help   show this help`
