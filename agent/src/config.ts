import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { ListenAddress } from './metrics/server.ts'
import { DEFAULT_SPOOL_MAX_BATCHES, DEFAULT_SPOOL_MAX_BYTES } from './spool/outbox.ts'
import { DEFAULT_CHECKS, type CheckDefaults } from './monitor/stream-checks.ts'
import { DEFAULT_CHROMIUM } from './browser/chromium.ts'

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
  /** Bytes of unacknowledged metric batches kept in DATA_DIR/spool; the oldest is dropped beyond it. */
  spoolMaxBytes: number
  /** Unacknowledged metric batches kept in DATA_DIR/spool; the oldest is dropped beyond it. */
  spoolMaxBatches: number
  logLevel: (typeof LOG_LEVELS)[number]
  /** Address of the /metrics and /healthz server; undefined turns it off. */
  metricsListen: ListenAddress | undefined
  /** Picture, sound, screenshot and page check settings for performs that leave them out. */
  checks: CheckDefaults
  /** Chromium executable of the player page checks. */
  chromium: string
}

export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9464'

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
  { flag: 'token', env: 'MONIT_AGENT_TOKEN', help: 'agent token from "monit tokens create NAME" or the controller\'s "tokens create --name NAME" (prefer the variable)' },
  { flag: 'id', env: 'MONIT_AGENT_ID', help: 'stable agent id (default: the name)' },
  { flag: 'name', env: 'MONIT_AGENT_NAME', help: 'display name (default: the host name)' },
  { flag: 'labels', env: 'MONIT_AGENT_LABELS', help: 'labels as k=v,k=v, such as region=eu-west' },
  { flag: 'capacity', env: 'MONIT_AGENT_CAPACITY', help: 'streams this agent takes (default 100)' },
  { flag: 'data-dir', env: 'MONIT_AGENT_DATA_DIR', help: 'folder for unsent data (default ./data/agent)' },
  {
    flag: 'spool-max-bytes',
    env: 'MONIT_AGENT_SPOOL_MAX_BYTES',
    help: 'disk space for unsent metrics, in bytes or with KiB, MiB, GiB; the oldest batch is dropped beyond it (default 256MiB)',
  },
  {
    flag: 'spool-max-batches',
    env: 'MONIT_AGENT_SPOOL_MAX_BATCHES',
    help: `unsent metric batches kept; the oldest is dropped beyond it (default ${DEFAULT_SPOOL_MAX_BATCHES})`,
  },
  { flag: 'log-level', env: 'MONIT_LOG_LEVEL', help: `one of ${LOG_LEVELS.join(', ')} (default info)` },
  {
    flag: 'metrics-listen',
    env: 'MONIT_AGENT_METRICS_LISTEN',
    help: `HOST:PORT of /metrics and /healthz, or off (default ${DEFAULT_METRICS_LISTEN})`,
  },
  {
    flag: 'av-interval',
    env: 'MONIT_AV_INTERVAL_S',
    help: `seconds between picture and sound checks of a stream; 0 turns them off (default ${DEFAULT_CHECKS.avIntervalS})`,
  },
  {
    flag: 'av-sample',
    env: 'MONIT_AV_SAMPLE_S',
    help: `seconds of media each picture and sound check decodes (default ${DEFAULT_CHECKS.avSampleS})`,
  },
  {
    flag: 'screenshot-interval',
    env: 'MONIT_SCREENSHOT_INTERVAL_S',
    help: `seconds between screenshots of a stream; 0 turns them off (default ${DEFAULT_CHECKS.screenshotIntervalS})`,
  },
  {
    flag: 'screenshot-width',
    env: 'MONIT_SCREENSHOT_WIDTH',
    help: `largest screenshot width in pixels (default ${DEFAULT_CHECKS.screenshotWidth})`,
  },
  {
    flag: 'page-interval',
    env: 'MONIT_PAGE_INTERVAL_S',
    help: `seconds between player page checks of a stream with a page URL; 0 turns them off (default ${DEFAULT_CHECKS.pageIntervalS})`,
  },
  {
    flag: 'page-timeout',
    env: 'MONIT_PAGE_TIMEOUT_S',
    help: `seconds a player page has to load and play its video (default ${DEFAULT_CHECKS.pagePlayTimeoutS})`,
  },
  { flag: 'chromium', env: 'MONIT_CHROMIUM', help: `Chromium executable for player page checks (default ${DEFAULT_CHROMIUM})` },
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

/** Parses HOST:PORT or [IPv6]:PORT; `off` returns undefined. */
export function parseListen(raw: string): ListenAddress | undefined {
  if (raw.trim().toLowerCase() === 'off') return undefined
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(raw.trim())
  const port = Number(match?.[3])
  if (!match || port > 65535) {
    throw new ConfigError('--metrics-listen', `"${raw}" is not HOST:PORT (such as ${DEFAULT_METRICS_LISTEN}) or off`)
  }
  return { host: match[1] ?? match[2]!, port }
}

/** Parses a number setting in [min, max]; integer when `integer` is set. */
function parseNumber(setting: string, raw: string, min: number, max: number, integer = false): number {
  const value = Number(raw)
  const kind = integer ? 'an integer' : 'a number'
  if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new ConfigError(setting, `"${raw}" is not ${kind} from ${min} to ${max}`)
  }
  return value
}

/** Reads the av and screenshot settings; the perform's own values take precedence over them. */
function readCheckDefaults(read: (flag: string) => string | undefined): CheckDefaults {
  const setting = (flag: string, fallback: number, min: number, max: number, integer = false): number => {
    const raw = read(flag)
    return raw === undefined ? fallback : parseNumber(`--${flag}`, raw, min, max, integer)
  }
  return {
    avIntervalS: setting('av-interval', DEFAULT_CHECKS.avIntervalS, 0, 86400),
    avSampleS: setting('av-sample', DEFAULT_CHECKS.avSampleS, 1, 120),
    screenshotIntervalS: setting('screenshot-interval', DEFAULT_CHECKS.screenshotIntervalS, 0, 86400),
    screenshotWidth: setting('screenshot-width', DEFAULT_CHECKS.screenshotWidth, 16, 7680, true),
    pageIntervalS: setting('page-interval', DEFAULT_CHECKS.pageIntervalS, 0, 86400),
    pagePlayTimeoutS: setting('page-timeout', DEFAULT_CHECKS.pagePlayTimeoutS, 1, 300),
  }
}

const SIZE_UNITS: Record<string, number> = { '': 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }

/** Parses a positive byte count, such as 268435456 or 256MiB. */
function parseBytes(setting: string, raw: string): number {
  const match = /^(\d+)\s*(KiB|MiB|GiB)?$/.exec(raw.trim())
  const value = match === null ? Number.NaN : Number(match[1]) * SIZE_UNITS[match[2] ?? '']!
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(setting, `"${raw}" is not a size; use bytes or a number with KiB, MiB or GiB, such as 256MiB`)
  }
  return value
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
  if (token === undefined || token === '') throw new ConfigError('MONIT_AGENT_TOKEN', 'missing; create one with "monit tokens create NAME" (see the README, Operator CLI)')
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
    spoolMaxBytes: parseBytes('--spool-max-bytes', read('spool-max-bytes') ?? String(DEFAULT_SPOOL_MAX_BYTES)),
    spoolMaxBatches: parseNumber('--spool-max-batches', read('spool-max-batches') ?? String(DEFAULT_SPOOL_MAX_BATCHES), 1, 10_000_000, true),
    logLevel: logLevel as AgentConfig['logLevel'],
    metricsListen: parseListen(read('metrics-listen') ?? DEFAULT_METRICS_LISTEN),
    checks: readCheckDefaults(read),
    chromium: read('chromium') || DEFAULT_CHROMIUM,
  }
}

export function agentHelp(): string {
  const flags = AGENT_OPTIONS.map((option) => `  --${option.flag} VALUE`)
  const flagWidth = Math.max(...flags.map((flag) => flag.length)) + 2
  const envWidth = Math.max(...AGENT_OPTIONS.map((option) => option.env.length)) + 2
  return AGENT_OPTIONS.map((option, i) => flags[i]!.padEnd(flagWidth) + option.env.padEnd(envWidth) + option.help).join('\n')
}
