/**
 * The `ipvm` command line: dispatch, help, and the one place where errors
 * become messages and exit codes. Users never see a stack trace unless they
 * ask for one with IPVM_DEBUG=1.
 */
import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import { IpvmError, UsageError, WorkflowValidationError } from '../errors.js'
import { add } from './commands/add.js'
import { run } from './commands/run.js'
import { receipt } from './commands/receipt.js'
import { id } from './commands/id.js'
import { delegate } from './commands/delegate.js'
import { revoke } from './commands/revoke.js'
import { verifyReceiptCommand } from './commands/verify-receipt.js'
import { verify } from './commands/verify.js'
import { node } from './commands/node.js'
import { submit } from './commands/submit.js'
import { devnet } from './commands/devnet.js'
import { balance, deposit, executors, verifiers, status } from './commands/market.js'
import type { Command } from './command.js'
import type { Output } from './output.js'

const commands: Command[] = [run, add, receipt, submit, status, node, devnet, deposit, balance, executors, verifiers, id, delegate, revoke, verifyReceiptCommand, verify]

function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function usage (): string {
  const width = Math.max(...commands.map(c => c.name.length))
  return `ipvm — the InterPlanetary Virtual Machine: content-addressed Wasm workflows with receipts

Usage: ipvm COMMAND [options]

Commands:
${commands.map(c => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run \`ipvm COMMAND --help\` for a command's options.
Data lives in --repo DIR, else $IPVM_HOME, else ~/.ipvm.
Set IPVM_DEBUG=1 to see stack traces of internal errors.
`
}

/** Options of {@link main}. */
export interface MainInit extends Output {
  env?: NodeJS.ProcessEnv
  signal?: AbortSignal
}

/** Runs `ipvm` with `argv` (without the node and script paths); resolves to the exit code. */
export async function main (argv: string[], init: MainInit): Promise<number> {
  const { stdout, stderr } = init
  const env = init.env ?? process.env
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? commands.find(c => c.name === rest[0]) : undefined
    stdout.write(topic !== undefined ? topic.help + '\n' : usage())
    return 0
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    stdout.write(`ipvm ${version()}\n`)
    return 0
  }
  const command = commands.find(c => c.name === name)
  try {
    if (command === undefined) throw new UsageError(`unknown command "${name}"; commands: ${commands.map(c => c.name).join(', ')}`)
    let parsed
    try {
      parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true })
    } catch (err) {
      throw new UsageError(`${(err as Error).message.replace(/\. To specify a positional argument.*$/, '')} (see \`ipvm ${command.name} --help\`)`)
    }
    if (parsed.values.help === true) {
      stdout.write(command.help + '\n')
      return 0
    }
    return await command.run({ values: parsed.values, positionals: parsed.positionals, env, stdout, stderr, signal: init.signal ?? new AbortController().signal })
  } catch (err) {
    const prefix = command === undefined ? 'ipvm' : `ipvm ${command.name}`
    if (err instanceof IpvmError) {
      stderr.write(`${prefix}: ${err.message}\n`)
      if (err instanceof UsageError && command === undefined) stderr.write('Run `ipvm --help` for the list of commands.\n')
      return err instanceof UsageError || err instanceof WorkflowValidationError ? 2 : 1
    }
    stderr.write(`${prefix}: internal error: ${(err as Error)?.message ?? String(err)}\n`)
    if (env.IPVM_DEBUG !== undefined && env.IPVM_DEBUG !== '' && env.IPVM_DEBUG !== '0') stderr.write(`${(err as Error)?.stack ?? ''}\n`)
    else stderr.write('Set IPVM_DEBUG=1 for details, and please report it.\n')
    return 1
  }
}
