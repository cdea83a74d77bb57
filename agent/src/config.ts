import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export interface AgentConfig {
  /** Controller hub URLs (ws:// or wss://), tried in turn. */
  controllers: string[]
  token: string
  id: string
  name: string
  labels: Record<string, string>
  capacity: number
  dataDir: string
  logLevel: (typeof LOG_LEVELS)[number]
}

/** Raised for a setting that is missing or out of range; names the setting. */
export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`invalid setting ${setting}: ${message}`)
    this.name = 'ConfigError'
  }
}

interface OptionSpec {
  flag: string
  env: string
  help: string
}

export const AGENT_OPTIONS: readonly OptionSpec[] = [
  { flag: 'controller', env: 'MONIT_CONTROLLER', help: 'controller URL, http(s):// or ws(s)://; several separated by commas' },
  { flag: 'token', env: 'MONIT_AGENT_TOKEN', help: 'agent token from "monit-controller tokens create" (prefer the variable)' },
  { flag: 'id', env: 'MONIT_AGENT_ID', help: 'stable agent id (default: the name)' },
  { flag: 'name', env: 'MONIT_AGENT_NAME', help: 'display name (default: the host name)' },
  { flag: 'labels', env: 'MONIT_AGENT_LABELS', help: 'labels as k=v,k=v, such as region=eu-west' },
  { flag: 'capacity', env: 'MONIT_AGENT_CAPACITY', help: 'streams this agent takes (default 100)' },
  { flag: 'data-dir', env: 'MONIT_AGENT_DATA_DIR', help: 'folder for unsent data (default ./data/agent)' },
  { flag: 'log-level', env: 'MONIT_LOG_LEVEL', help: `one of ${LOG_LEVELS.join(', ')} (default info)` },
]

/** Turns http(s) and ws(s) controller URLs into the hub's WebSocket URL. */
export function hubUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError('--controller', `"${raw}" is not a URL; use http://HOST:PORT`)
  }
  const schemes: Record<string, string> = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' }
  const scheme = schemes[url.protocol]
  if (scheme === undefined) {
    throw new ConfigError('--controller', `scheme "${url.protocol}" is not supported; use http, https, ws or wss`)
  }
  url.protocol = scheme
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/api/agents/v1/ws'
  return url.toString()
}

export function parseLabels(raw: string): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const pair of raw.split(',').map((part) => part.trim()).filter(Boolean)) {
    const match = /^([A-Za-z0-9._/-]{1,64})=(.{0,256})$/.exec(pair)
    if (!match) throw new ConfigError('--labels', `"${pair}" is not key=value`)
    labels[match[1]!] = match[2]!
  }
  return labels
}

/** Reads the agent settings from flags, then `MONIT_*` variables, then defaults. */
export function loadAgentConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const options = Object.fromEntries(AGENT_OPTIONS.map((option) => [option.flag, { type: 'string' as const }]))
  let values: Record<string, string | undefined>
  try {
    values = parseArgs({ args: argv, options, strict: true }).values as typeof values
  } catch (error) {
    throw new ConfigError('(command line)', (error as Error).message)
  }
  const read = (flag: string): string | undefined => {
    const spec = AGENT_OPTIONS.find((option) => option.flag === flag)!
    return values[flag] ?? env[spec.env]
  }

  const controller = read('controller')
  if (controller === undefined) throw new ConfigError('--controller', 'missing; give the controller URL, such as http://127.0.0.1:8080')
  const token = read('token')
  if (token === undefined || token === '') throw new ConfigError('MONIT_AGENT_TOKEN', 'missing; create one with "monit-controller tokens create"')
  const name = read('name') ?? hostname()
  const id = read('id') ?? name.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 128)
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(id)) throw new ConfigError('--id', `"${id}" may only contain letters, digits and . _ : -`)
  const capacity = Number(read('capacity') ?? 100)
  if (!Number.isInteger(capacity) || capacity < 0 || capacity > 100000) {
    throw new ConfigError('--capacity', `"${read('capacity')}" is not an integer from 0 to 100000`)
  }
  const logLevel = read('log-level') ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('MONIT_LOG_LEVEL', `"${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`)
  }

  return {
    controllers: controller.split(',').map((url) => hubUrl(url.trim())),
    token,
    id,
    name,
    labels: parseLabels(read('labels') ?? ''),
    capacity,
    dataDir: resolve(read('data-dir') ?? './data/agent'),
    logLevel: logLevel as AgentConfig['logLevel'],
  }
}

export function agentHelp(): string {
  return AGENT_OPTIONS.map((option) => `  --${option.flag} VALUE`.padEnd(24) + option.env.padEnd(24) + option.help).join('\n')
}
