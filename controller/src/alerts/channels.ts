// Channel settings: their schemas and defaults, the check that names the
// invalid field, and the masking of secrets for API responses. Pure.
import Type, { type TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import {
  ChannelType,
  PagerDutySeverity,
  type AlertChannel,
  type ChannelConfigs,
  type ChannelSettings,
} from './types.ts'

export const DEFAULT_TELEGRAM_API_URL = 'https://api.telegram.org'
export const DEFAULT_PAGERDUTY_URL = 'https://events.pagerduty.com/v2/enqueue'

/** Prefix of every masked secret; a long secret keeps its last 4 characters after it. */
export const MASK = '********'
/** Secrets shorter than this are masked whole. */
const MIN_LENGTH_TO_SHOW_TAIL = 16
/** Secrets shorter than this are not searched for in error messages. */
const MIN_REDACTED_LENGTH = 4

const HttpUrl = Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://' })
const Secret = (minLength: number) => Type.String({ minLength, maxLength: 512 })
const Address = Type.String({ minLength: 3, maxLength: 320, pattern: '^[^\\s@<>]+@[^\\s@<>]+$' })

const closed = { additionalProperties: false } as const

/** Schemas of each type's config as the API takes it; optional fields get defaults in withDefaults. */
export const CHANNEL_CONFIG_SCHEMAS = {
  webhook: Type.Object({ url: HttpUrl, secret: Secret(16) }, closed),
  slack: Type.Object({ webhook_url: HttpUrl }, closed),
  telegram: Type.Object(
    {
      bot_token: Secret(8),
      chat_id: Type.String({ minLength: 1, maxLength: 64 }),
      api_url: Type.Optional(HttpUrl),
    },
    closed,
  ),
  pagerduty: Type.Object(
    {
      routing_key: Secret(8),
      url: Type.Optional(HttpUrl),
      severity: Type.Optional(Type.Union([Type.Enum(Object.values(PagerDutySeverity)), Type.Null()])),
    },
    closed,
  ),
  email: Type.Object(
    {
      host: Type.String({ minLength: 1, maxLength: 253 }),
      port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
      secure: Type.Optional(Type.Boolean()),
      user: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()])),
      password: Type.Optional(Type.Union([Secret(1), Type.Null()])),
      from: Type.String({ minLength: 3, maxLength: 320 }),
      to: Type.Array(Address, { minItems: 1, maxItems: 50, uniqueItems: true }),
    },
    closed,
  ),
} as const satisfies Record<ChannelType, TSchema>

const validators = Object.fromEntries(
  Object.entries(CHANNEL_CONFIG_SCHEMAS).map(([type, schema]) => [type, Compile(schema)]),
) as Record<ChannelType, ReturnType<typeof Compile<TSchema>>>

/** Config fields that hold a credential, by channel type. */
export const SECRET_FIELDS: Readonly<Record<ChannelType, readonly string[]>> = {
  webhook: ['secret'],
  slack: ['webhook_url'],
  telegram: ['bot_token'],
  pagerduty: ['routing_key'],
  email: ['password'],
}

/** A config that failed its schema; field is a path such as `/to/0`. */
export class ChannelConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message)
    this.name = 'ChannelConfigError'
  }
}

interface SchemaError {
  keyword: string
  instancePath: string
  params: unknown
  message: string
}

function describeError(error: SchemaError): ChannelConfigError {
  const params = error.params as { requiredProperties?: string[] }
  if (error.keyword === 'required' && params.requiredProperties?.[0] !== undefined) {
    return new ChannelConfigError(`${error.instancePath}/${params.requiredProperties[0]}`, 'missing')
  }
  // typebox reports a field that additionalProperties: false rejects as the schema `false`.
  if (error.keyword === 'boolean' || error.keyword === 'additionalProperties') {
    return new ChannelConfigError(error.instancePath, 'unknown field')
  }
  return new ChannelConfigError(error.instancePath, error.message)
}

/** Applies the defaults of the optional fields to a config that passed its schema. */
function withDefaults(type: ChannelType, config: Record<string, unknown>): ChannelSettings {
  switch (type) {
    case ChannelType.telegram:
      return { type, config: { api_url: DEFAULT_TELEGRAM_API_URL, ...config } as ChannelConfigs['telegram'] }
    case ChannelType.pagerduty:
      const defaults = { url: DEFAULT_PAGERDUTY_URL, severity: null }
      return { type, config: { ...defaults, ...config } as ChannelConfigs['pagerduty'] }
    case ChannelType.email: {
      const secure = config.secure === true
      const defaults = { port: secure ? 465 : 587, secure, user: null, password: null }
      return { type, config: { ...defaults, ...config } as ChannelConfigs['email'] }
    }
    default:
      return { type, config } as unknown as ChannelSettings
  }
}

/** Checks a config against its type's schema and returns it with defaults, or throws ChannelConfigError. */
export function parseChannelConfig(type: ChannelType, config: unknown): ChannelSettings {
  const validator = validators[type]
  if (!validator.Check(config)) {
    const [first] = validator.Errors(config)
    throw first === undefined ? new ChannelConfigError('', 'invalid') : describeError(first)
  }
  const settings = withDefaults(type, config as Record<string, unknown>)
  const email = settings.type === ChannelType.email ? settings.config : undefined
  if (email !== undefined && email.password !== null && email.user === null) {
    throw new ChannelConfigError('/user', 'missing; a password needs a user')
  }
  return settings
}

/** Hides a secret: MASK alone, or MASK and the last 4 characters of a secret of 16 or more. */
export function maskSecret(value: string): string {
  return value.length >= MIN_LENGTH_TO_SHOW_TAIL ? `${MASK}${value.slice(-4)}` : MASK
}

/** Hides a URL that is itself a credential, keeping its origin. */
function maskUrl(value: string): string {
  try {
    return `${new URL(value).origin}/${MASK}`
  } catch {
    return MASK
  }
}

function maskValue(field: string, value: string): string {
  return field.endsWith('_url') ? maskUrl(value) : maskSecret(value)
}

/** The channel with every secret field masked, as the API returns it. */
export function maskChannel(channel: AlertChannel): AlertChannel {
  const config: Record<string, unknown> = { ...channel.config }
  for (const field of SECRET_FIELDS[channel.type]) {
    const value = config[field]
    if (typeof value === 'string') config[field] = maskValue(field, value)
  }
  return { ...channel, config } as unknown as AlertChannel
}

/**
 * Merges the fields of an update over the stored config. A secret field sent
 * back in its masked form, as a GET returned it, keeps the stored secret.
 */
export function mergeChannelConfig(
  stored: ChannelSettings,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const current = stored.config as unknown as Record<string, unknown>
  const merged: Record<string, unknown> = { ...current, ...patch }
  for (const field of SECRET_FIELDS[stored.type]) {
    const value = current[field]
    if (typeof value === 'string' && patch[field] === maskValue(field, value)) merged[field] = value
  }
  return merged
}

/** Returns a channel's secret values, to remove from error messages before they are stored or logged. */
export function channelSecrets(channel: ChannelSettings): string[] {
  const config = channel.config as unknown as Record<string, unknown>
  const values = SECRET_FIELDS[channel.type].map((field) => config[field])
  // Shorter values would also blank out ordinary words of the message.
  const isLongString = (value: unknown): value is string =>
    typeof value === 'string' && value.length >= MIN_REDACTED_LENGTH
  return values.filter(isLongString)
}

/** Replaces each secret in text with [redacted]. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let result = text
  for (const secret of secrets) result = result.replaceAll(secret, '[redacted]')
  return result
}
