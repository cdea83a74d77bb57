// The HTTP request each channel type sends for a notice: URL, headers and
// body, signed for the generic webhook. Pure.
import { pagerDutyBody, slackBody, telegramBody, webhookBody, type AlertNotice } from './formats.ts'
import { SIGNATURE_HEADER, signPayload, TIMESTAMP_HEADER } from './signature.ts'
import { ChannelType, type ChannelSettings } from './types.ts'

export interface HttpRequest {
  url: string
  headers: Record<string, string>
  body: string
}

const JSON_HEADERS = { 'content-type': 'application/json', 'user-agent': 'monit-alerts' }

/** The webhook request: the JSON body, signed over `timestamp.body` with the channel's secret. */
function webhookRequest(url: string, secret: string, notice: AlertNotice, nowMs: number): HttpRequest {
  const body = webhookBody(notice, nowMs)
  const timestamp = String(Math.floor(nowMs / 1000))
  const headers = {
    ...JSON_HEADERS,
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: signPayload(secret, timestamp, body),
    'x-monit-event': notice.event,
  }
  return { url, headers, body }
}

function jsonRequest(url: string, body: object): HttpRequest {
  return { url, headers: JSON_HEADERS, body: JSON.stringify(body) }
}

/** Joins a base URL and a path without doubling the slash between them. */
function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path}`
}

/**
 * Builds the request of an HTTP channel; undefined for e-mail. The URL of a
 * Telegram request contains the bot token, so it must not be logged.
 */
export function buildHttpRequest(
  settings: ChannelSettings,
  notice: AlertNotice,
  nowMs: number,
): HttpRequest | undefined {
  switch (settings.type) {
    case ChannelType.webhook:
      return webhookRequest(settings.config.url, settings.config.secret, notice, nowMs)
    case ChannelType.slack:
      return jsonRequest(settings.config.webhook_url, slackBody(notice))
    case ChannelType.telegram: {
      const url = joinUrl(settings.config.api_url, `bot${settings.config.bot_token}/sendMessage`)
      return jsonRequest(url, telegramBody(settings.config, notice))
    }
    case ChannelType.pagerduty:
      return jsonRequest(settings.config.url, pagerDutyBody(settings.config, notice))
    case ChannelType.email:
      return undefined
  }
}
