#!/usr/bin/env node
// monit: the operator CLI. It drives the controller's REST API with the token
// that `monit login` stores.
import { CliError, ExitCode } from './client.ts'
import { agentsCommand } from './commands/agents.ts'
import { loginCommand, logoutCommand } from './commands/login.ts'
import { exitCodeHelp, globalHelp, type Command } from './commands/shared.ts'
import { streamsCommand } from './commands/streams.ts'
import { tokensCommand } from './commands/tokens.ts'
import { usersCommand } from './commands/users.ts'

const commands: Command[] = [loginCommand, logoutCommand, streamsCommand, agentsCommand, tokensCommand, usersCommand]

function help(): string {
  const width = Math.max(...commands.map((command) => command.name.length))
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`)
  return `Usage: monit COMMAND [ACTION] [flags]

Commands:
${lines.join('\n')}

Run monit COMMAND --help for the actions and flags of a command.

${globalHelp}

${exitCodeHelp}
`
}

/** Runs the command line and returns the exit code. */
async function run(argv: string[]): Promise<ExitCode> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help())
    return name === undefined ? ExitCode.usage : ExitCode.ok
  }
  const command = commands.find((candidate) => candidate.name === name)
  if (command === undefined) throw new CliError(`unknown command "${name}"; see monit --help`, ExitCode.usage)
  await command.run(rest)
  return ExitCode.ok
}

try {
  process.exitCode = await run(process.argv.slice(2))
} catch (error) {
  if (error instanceof CliError) {
    process.stderr.write(`monit: ${error.message}\n`)
    process.exitCode = error.exitCode
  } else {
    process.stderr.write(`monit: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exitCode = ExitCode.server
  }
}
