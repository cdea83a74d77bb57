// Flag parsing, connection and input helpers that every command uses.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ApiClient, CliError, ExitCode, loadCredentials, normalizeController, usageError } from '../client.ts'
import { formatTable, print, printJson, type Column } from '../output.ts'

type Options = NonNullable<ParseArgsConfig['options']>

/** Flags that every command accepts. */
export const globalOptions = {
  controller: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options

export const globalHelp = `Global flags:
  --controller URL  controller base URL; overrides MONIT_CONTROLLER and the stored one
  --json            print the API's JSON instead of tables
  -h, --help        print help for the command`

/** A top-level command such as `streams`. */
export interface Command {
  name: string
  summary: string
  /** Runs the command on the arguments after its name. */
  run(args: string[]): Promise<void>
}

/** Parses `args` with the global flags added; an unknown flag or missing value is a usage error. */
export function parseFlags<T extends Options>(args: string[], options: T, command: string) {
  const all = { ...globalOptions, ...options }
  try {
    return parseArgs({ args, options: all, allowPositionals: true, strict: true })
  } catch (error) {
    throw usageError(`${(error as Error).message}; see monit ${command} --help`)
  }
}

/** Returns positional `index` or raises a usage error naming it. */
export function positional(positionals: string[], index: number, name: string, command: string): string {
  const value = positionals[index]
  if (value === undefined || value === '') throw usageError(`missing ${name}; usage: monit ${command}`)
  return value
}

/** Raises a usage error when there are more than `count` positionals. */
export function expectPositionals(positionals: string[], count: number, command: string): void {
  if (positionals.length > count) {
    throw usageError(`unexpected argument "${positionals[count]}"; usage: monit ${command}`)
  }
}

/** Returns the URL from --controller, else from MONIT_CONTROLLER, or undefined when neither is set. */
export function controllerOverride(flag: string | undefined): string | undefined {
  const url = flag ?? process.env.MONIT_CONTROLLER
  return url === undefined || url === '' ? undefined : normalizeController(url)
}

/**
 * Returns a client with the stored token. Without stored credentials, or with
 * an expired token, it raises the not-logged-in error (exit 3).
 */
export async function connect(flag: string | undefined): Promise<ApiClient> {
  const credentials = await loadCredentials()
  if (credentials === undefined) {
    throw new CliError('not logged in; run monit login --controller URL --username USER', ExitCode.unauthorized)
  }
  const expiresAt = Date.parse(credentials.expires_at)
  if (!Number.isNaN(expiresAt) && expiresAt <= Date.now()) {
    throw new CliError(`token expired at ${credentials.expires_at}; run monit login again`, ExitCode.unauthorized)
  }
  return new ApiClient(controllerOverride(flag) ?? credentials.controller, credentials.token)
}

/** Reads all of stdin and drops one trailing newline. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer))
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

/** Reads the password from stdin with --password-stdin, else from MONIT_PASSWORD, but never from argv. */
export async function readPassword(fromStdin: boolean | undefined, command: string): Promise<string> {
  const password = fromStdin ? await readStdin() : process.env.MONIT_PASSWORD
  if (password === undefined || password === '') {
    throw usageError(`missing password; pipe it to monit ${command} --password-stdin or set MONIT_PASSWORD`)
  }
  return password
}

/** Parses repeated `key=value` flags into a record. */
export function parsePairs(values: string[] | undefined, flag: string): Record<string, string> | undefined {
  if (values === undefined) return undefined
  const pairs: Record<string, string> = {}
  for (const value of values) {
    const equals = value.indexOf('=')
    if (equals <= 0) throw usageError(`--${flag}: expected key=value, got "${value}"`)
    pairs[value.slice(0, equals)] = value.slice(equals + 1)
  }
  return pairs
}

/** Parses a whole number flag, or returns undefined when the flag is absent. */
export function parseInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value)) throw usageError(`--${flag}: expected a whole number, got "${value}"`)
  return Number(value)
}

/** Splits off the action name: the first argument that is neither a flag nor the value of --controller. */
function splitAction(args: string[]): { name: string | undefined; rest: string[] } {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--controller') {
      i++
      continue
    }
    if (!arg.startsWith('-')) return { name: arg, rest: [...args.slice(0, i), ...args.slice(i + 1)] }
  }
  return { name: undefined, rest: args }
}

/** An action of a command group, such as `streams list`. */
export interface Action {
  usage: string
  summary: string
  /** Extra help lines after the usage line, such as the flags. */
  details?: string
  run(args: string[], usage: string): Promise<void>
}

/** Formats the help of a group: its actions, the global flags and the exit codes. */
export function groupHelp(group: string, summary: string, actions: Record<string, Action>): string {
  const width = Math.max(...Object.values(actions).map((action) => action.usage.length))
  const lines = Object.values(actions).map((action) => `  monit ${action.usage.padEnd(width)}  ${action.summary}`)
  return `${summary}\n\nUsage:\n${lines.join('\n')}\n\n${globalHelp}\n\n${exitCodeHelp}\n`
}

function actionHelp(action: Action): string {
  const details = action.details === undefined ? '' : `\n${action.details}\n`
  const sentence = `${action.summary.charAt(0).toUpperCase()}${action.summary.slice(1)}.`
  return `Usage: monit ${action.usage}\n\n${sentence}\n${details}\n${globalHelp}\n\n${exitCodeHelp}\n`
}

export const exitCodeHelp = `Exit codes:
  0  ok
  1  server or network error
  2  usage error: bad flags or arguments, or a request the controller rejected with 400
  3  not logged in, or the token was rejected (401)
  4  forbidden for this user's role (403)
  5  not found (404)
  6  conflict, such as an id that already exists (409)`

/** Runs the action named by the first non-flag argument, or prints the group's help. */
export async function dispatch(group: string, summary: string, actions: Record<string, Action>, args: string[]): Promise<void> {
  const { name, rest } = splitAction(args)
  if (name === undefined || name === 'help') {
    if (name === undefined && !rest.some((arg) => arg === '--help' || arg === '-h')) {
      throw usageError(`missing action; see monit ${group} --help`)
    }
    process.stdout.write(groupHelp(group, summary, actions))
    return
  }
  const action = actions[name]
  if (action === undefined) throw usageError(`unknown action "${group} ${name}"; see monit ${group} --help`)
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(actionHelp(action))
    return
  }
  await action.run(rest, action.usage)
}

/**
 * Makes the `GROUP list` action: GET `path`, then the rows under `key` as a
 * table, or the whole response with --json.
 */
export function listAction<T>(command: string, summary: string, path: string, key: string, columns: readonly Column<T>[]): Action {
  return {
    usage: command,
    summary,
    async run(args, usage) {
      const { values, positionals } = parseFlags(args, {}, command)
      expectPositionals(positionals, 0, usage)
      const client = await connect(values.controller)
      const result = (await client.request('GET', path)) as Record<string, T[]>
      if (values.json) printJson(result)
      else print(formatTable(result[key] ?? [], columns))
    },
  }
}

/**
 * Makes an action that takes an ID and sends DELETE `path/ID/delete`, then
 * prints `done` followed by the id, or the whole response with --json.
 */
export function deleteAction(command: string, summary: string, path: string, done: string): Action {
  return {
    usage: `${command} ID`,
    summary,
    async run(args, usage) {
      const { values, positionals } = parseFlags(args, {}, command)
      const id = positional(positionals, 0, 'ID', usage)
      expectPositionals(positionals, 1, usage)
      const client = await connect(values.controller)
      const result = await client.request('DELETE', `${path}/${encodeURIComponent(id)}/delete`)
      if (values.json) printJson(result)
      else print(`${done} ${id}\n`)
    },
  }
}
