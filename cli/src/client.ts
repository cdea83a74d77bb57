// Stored credentials and the REST client of the operator CLI.
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** Exit codes that scripts can rely on. */
export const ExitCode = {
  ok: 0,
  server: 1,
  usage: 2,
  unauthorized: 3,
  forbidden: 4,
  notFound: 5,
  conflict: 6,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** An error that ends the CLI with `exitCode` after printing its message to stderr. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message)
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, ExitCode.usage)
}

export interface Credentials {
  controller: string
  token: string
  /** ISO 8601 time after which the controller rejects the token. */
  expires_at: string
}

/** Folder of credentials.json: MONIT_CONFIG_DIR, else $XDG_CONFIG_HOME/monit, else ~/.config/monit. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MONIT_CONFIG_DIR) return env.MONIT_CONFIG_DIR
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config')
  return join(base, 'monit')
}

export function credentialsPath(): string {
  return join(configDir(), 'credentials.json')
}

export async function loadCredentials(): Promise<Credentials | undefined> {
  let text: string
  try {
    text = await readFile(credentialsPath(), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  const parsed = JSON.parse(text) as Partial<Credentials>
  if (typeof parsed.controller !== 'string' || typeof parsed.token !== 'string') {
    throw new CliError(`${credentialsPath()} is invalid; run monit login again`, ExitCode.unauthorized)
  }
  return { controller: parsed.controller, token: parsed.token, expires_at: String(parsed.expires_at ?? '') }
}

/** Writes the credentials readable by the owner only (mode 0600, folder 0700). */
export async function saveCredentials(credentials: Credentials): Promise<string> {
  const dir = configDir()
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const path = credentialsPath()
  await writeFile(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 })
  // writeFile applies the mode only when it creates the file.
  await chmod(path, 0o600)
  return path
}

/** Deletes the credentials file and returns whether there was one. */
export async function removeCredentials(): Promise<boolean> {
  const path = credentialsPath()
  try {
    await rm(path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
}

/** Removes trailing slashes from the controller URL, and raises a usage error unless it is http or https. */
export function normalizeController(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw usageError(`--controller: invalid URL "${url}"; use a URL such as http://127.0.0.1:8080`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw usageError(`--controller: "${url}" must start with http:// or https://`)
  }
  return parsed.href.replace(/\/+$/, '')
}

const exitByStatus: Record<number, ExitCode> = {
  401: ExitCode.unauthorized,
  403: ExitCode.forbidden,
  404: ExitCode.notFound,
  409: ExitCode.conflict,
}

/** Maps an HTTP status to an exit code: 400 is a usage error, other statuses not listed are 1. */
export function exitCodeOf(status: number): ExitCode {
  if (status === 400) return ExitCode.usage
  return exitByStatus[status] ?? ExitCode.server
}

export type Method = 'GET' | 'POST' | 'DELETE'

/** Sends JSON requests to one controller, with a bearer token when there is one. */
export class ApiClient {
  constructor(
    readonly controller: string,
    private readonly token?: string,
  ) {}

  /** Sends the request and returns the parsed JSON body. A non-2xx status raises a CliError. */
  async request(method: Method, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`
    if (body !== undefined) headers['content-type'] = 'application/json'

    const url = `${this.controller}${path}`
    let response: Response
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message ?? String(error)
      throw new CliError(`request to ${url} failed: ${cause}`, ExitCode.server)
    }
    const text = await response.text()
    const parsed = parseJson(text)
    if (!response.ok) throw apiError(response.status, parsed, text)
    return parsed
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Builds the error from the controller's body {statusCode, code, error, message}. */
function apiError(status: number, body: unknown, text: string): CliError {
  const fields = (typeof body === 'object' && body !== null ? body : {}) as { code?: unknown; message?: unknown }
  const message = typeof fields.message === 'string' ? fields.message : text.slice(0, 200) || `HTTP ${status}`
  const code = typeof fields.code === 'string' ? ` (${fields.code})` : ''
  let hint = ''
  if (status === 401) hint = '; run monit login'
  return new CliError(`${message}${code}${hint}`, exitCodeOf(status))
}
