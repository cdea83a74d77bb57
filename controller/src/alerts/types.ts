// Alert rules, channels, alerts and deliveries as the API shows them, and the
// values their fields take. Times are ISO 8601 strings unless a name ends in Ms.
import type { StreamStatusValue } from '@monit/protocol'

export type Labels = Record<string, string>

/** Stream statuses a rule can match. */
export const AlertStatus = { down: 'down', degraded: 'degraded' } as const
export type AlertStatus = (typeof AlertStatus)[keyof typeof AlertStatus]
export const ALERT_STATUSES: readonly AlertStatus[] = [AlertStatus.down, AlertStatus.degraded]

/** Kinds of alert notification. */
export const AlertEvent = { firing: 'firing', resolved: 'resolved' } as const
export type AlertEvent = (typeof AlertEvent)[keyof typeof AlertEvent]

/** Reasons an alert was resolved. */
export const Resolution = {
  /** The stream's status no longer matches the rule. */
  recovered: 'recovered',
  /** The rule was disabled or changed so that it no longer matches the stream. */
  ruleChanged: 'rule_changed',
  ruleDeleted: 'rule_deleted',
  streamDeleted: 'stream_deleted',
} as const
export type Resolution = (typeof Resolution)[keyof typeof Resolution]

/** Result of one delivery attempt. */
export const DeliveryOutcome = {
  sent: 'sent',
  /** The attempt failed and another one follows. */
  retrying: 'retrying',
  /** The attempt failed and it was the last one. */
  failed: 'failed',
} as const
export type DeliveryOutcome = (typeof DeliveryOutcome)[keyof typeof DeliveryOutcome]

export const ChannelType = {
  webhook: 'webhook',
  slack: 'slack',
  telegram: 'telegram',
  pagerduty: 'pagerduty',
  email: 'email',
} as const
export type ChannelType = (typeof ChannelType)[keyof typeof ChannelType]
export const CHANNEL_TYPES: readonly ChannelType[] = Object.values(ChannelType)

export const PagerDutySeverity = {
  critical: 'critical',
  error: 'error',
  warning: 'warning',
  info: 'info',
} as const
export type PagerDutySeverity = (typeof PagerDutySeverity)[keyof typeof PagerDutySeverity]

/** A generic HTTP endpoint that receives signed JSON. */
export interface WebhookConfig {
  url: string
  /** HMAC-SHA256 key of the X-Monit-Signature header. */
  secret: string
}

/** A Slack incoming webhook; its URL is the credential. */
export interface SlackConfig {
  webhook_url: string
}

export interface TelegramConfig {
  bot_token: string
  /** Numeric chat id or @channel name. */
  chat_id: string
  /** Bot API base URL; requests go to API_URL/botTOKEN/sendMessage. */
  api_url: string
}

export interface PagerDutyConfig {
  /** Integration key of an Events API v2 integration. */
  routing_key: string
  /** Events API v2 enqueue URL. */
  url: string
  /** Fixed severity, or null for critical on down and warning on degraded. */
  severity: PagerDutySeverity | null
}

export interface EmailConfig {
  host: string
  port: number
  /** TLS from the start (usually port 465); false upgrades with STARTTLS when the server offers it. */
  secure: boolean
  user: string | null
  password: string | null
  from: string
  to: string[]
}

export interface ChannelConfigs {
  webhook: WebhookConfig
  slack: SlackConfig
  telegram: TelegramConfig
  pagerduty: PagerDutyConfig
  email: EmailConfig
}

/** A channel's type together with the settings of that type. */
export type ChannelSettings = {
  [T in ChannelType]: { type: T; config: ChannelConfigs[T] }
}[ChannelType]

/** A notification channel. Its config contains secrets, so the API shows it through maskChannel. */
export type AlertChannel = ChannelSettings & {
  id: string
  name: string
  created_at: string
  updated_at: string
}

export interface AlertRule {
  id: string
  name: string
  enabled: boolean
  /** Streams the rule covers, or null. */
  stream_ids: string[] | null
  /** Labels a stream must all have for the rule to cover it, or null. */
  labels: Labels | null
  statuses: AlertStatus[]
  /** Case-insensitive JavaScript regular expression the status reason must contain a match of, or null. */
  reason_pattern: string | null
  /** Seconds the status must keep matching before the alert fires. */
  for_s: number
  /** Channel ids that get the notifications. */
  channels: string[]
  created_at: string
  updated_at: string
}

export interface AlertDelivery {
  id: number
  alert_id: number
  channel_id: string
  event: AlertEvent
  attempt: number
  outcome: DeliveryOutcome
  http_status: number | null
  /** Start of the HTTP response body or the SMTP server's reply. */
  response: string | null
  error: string | null
  at: string
}

export interface Alert {
  id: number
  rule_id: string
  rule_name: string
  stream_id: string
  status: StreamStatusValue
  reason: string
  /** When the stream's status started to match the rule. */
  started_at: string
  fired_at: string
  resolved_at: string | null
  resolution: Resolution | null
}

export interface AlertWithDeliveries extends Alert {
  deliveries: AlertDelivery[]
}
