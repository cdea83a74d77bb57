// Texts and JSON bodies that each channel type receives for an alert
// notification. Pure functions of an AlertNotice.
import type { StreamStatusValue } from '@monit/protocol'
import type { EngineEvent } from './engine.ts'
import {
  PagerDutySeverity,
  Resolution,
  type Labels,
  type PagerDutyConfig,
  type TelegramConfig,
} from './types.ts'

/** Subject of a notification: an alert that fired or resolved, or a channel test. */
export const NoticeEvent = { firing: 'firing', resolved: 'resolved', test: 'test' } as const
export type NoticeEvent = (typeof NoticeEvent)[keyof typeof NoticeEvent]

export interface AlertNotice {
  event: NoticeEvent
  /** Null for a channel test. */
  alertId: number | null
  ruleId: string
  ruleName: string
  forS: number
  streamId: string
  labels: Labels
  status: StreamStatusValue
  reason: string
  startedAtMs: number
  firedAtMs: number
  resolvedAtMs: number | null
  resolution: Resolution | null
}

/** Characters of the status reason that texts include; agents send up to 2048. */
const MAX_REASON_CHARS = 1000
/** PagerDuty Events API v2 rejects a payload.summary longer than this. */
const PAGERDUTY_SUMMARY_CHARS = 1024

/** Builds the notice of an engine event; alertId is the stored alert's id. */
export function noticeOf(event: EngineEvent, alertId: number): AlertNotice {
  const { episode } = event
  const resolved = event.type === 'resolved'
  return {
    event: event.type,
    alertId,
    ruleId: episode.ruleId,
    ruleName: episode.ruleName,
    forS: episode.forS,
    streamId: episode.streamId,
    labels: { ...episode.labels },
    status: episode.status,
    reason: episode.reason,
    startedAtMs: episode.startedAtMs,
    firedAtMs: episode.firedAtMs,
    resolvedAtMs: resolved ? event.atMs : null,
    resolution: resolved ? event.resolution : null,
  }
}

/** Builds a channel test notice; its event is test, or resolved to close a PagerDuty test incident. */
export function testNotice(
  channelId: string,
  atMs: number,
  event: NoticeEvent = NoticeEvent.test,
): AlertNotice {
  const resolved = event === NoticeEvent.resolved
  return {
    event,
    alertId: null,
    ruleId: 'test',
    ruleName: `test of channel ${channelId}`,
    forS: 0,
    streamId: 'test',
    labels: {},
    status: 'down',
    reason: 'test message sent from the monit API',
    startedAtMs: atMs,
    firedAtMs: atMs,
    resolvedAtMs: resolved ? atMs : null,
    resolution: resolved ? Resolution.recovered : null,
  }
}

/** Formats a duration such as `1 h 2 min 5 s`, `45 s` or `0 s`. */
export function formatDuration(ms: number): string {
  const totalS = Math.max(0, Math.round(ms / 1000))
  const parts: string[] = []
  const hours = Math.floor(totalS / 3600)
  const minutes = Math.floor((totalS % 3600) / 60)
  const seconds = totalS % 60
  if (hours > 0) parts.push(`${hours} h`)
  if (minutes > 0) parts.push(`${minutes} min`)
  if (seconds > 0 || parts.length === 0) parts.push(`${seconds} s`)
  return parts.join(' ')
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

function ruleLabel(notice: AlertNotice): string {
  return `rule "${notice.ruleName === '' ? notice.ruleId : notice.ruleName}"`
}

/** Returns a short title, such as `FIRING: news-1 down`. */
export function noticeTitle(notice: AlertNotice): string {
  if (notice.event === NoticeEvent.test) return 'TEST: monit alert channel'
  if (notice.event === NoticeEvent.firing) return `FIRING: ${notice.streamId} ${notice.status}`
  return `RESOLVED: ${notice.streamId}`
}

function resolvedSummary(notice: AlertNotice): string {
  const stream = `stream ${notice.streamId}`
  switch (notice.resolution) {
    case Resolution.ruleChanged:
      return `Alert on ${stream} closed: ${ruleLabel(notice)} changed and no longer matches.`
    case Resolution.ruleDeleted:
      return `Alert on ${stream} closed: ${ruleLabel(notice)} was deleted.`
    case Resolution.streamDeleted:
      return `Alert on ${stream} closed: the stream was deleted.`
    default: {
      const lasted = formatDuration((notice.resolvedAtMs ?? notice.firedAtMs) - notice.startedAtMs)
      return `Stream ${notice.streamId} recovered after ${lasted} ${notice.status} (${ruleLabel(notice)}).`
    }
  }
}

/** Returns one or two sentences that describe what happened. */
export function noticeSummary(notice: AlertNotice): string {
  if (notice.event === NoticeEvent.test) return 'Test message from monit: this alert channel works.'
  if (notice.event === NoticeEvent.resolved) return resolvedSummary(notice)
  const lasting = notice.forS > 0 ? ` for ${formatDuration(notice.forS * 1000)}` : ''
  const reason = notice.reason === '' ? 'no reason given' : clip(notice.reason, MAX_REASON_CHARS)
  return `Stream ${notice.streamId} is ${notice.status}${lasting}: ${reason} (${ruleLabel(notice)}).`
}

/** Builds the generic webhook's JSON body. */
export function webhookBody(notice: AlertNotice, sentAtMs: number): string {
  return JSON.stringify({
    event: notice.event,
    summary: noticeSummary(notice),
    alert: {
      id: notice.alertId,
      rule_id: notice.ruleId,
      rule_name: notice.ruleName,
      for_s: notice.forS,
      status: notice.status,
      reason: notice.reason,
      started_at: iso(notice.startedAtMs),
      fired_at: iso(notice.firedAtMs),
      resolved_at: notice.resolvedAtMs === null ? null : iso(notice.resolvedAtMs),
      resolution: notice.resolution,
    },
    stream: { id: notice.streamId, labels: notice.labels },
    sent_at: iso(sentAtMs),
  })
}

/** Escapes the three characters that Slack mrkdwn and Telegram HTML treat as markup. */
export function escapeMarkup(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

function detailLine(notice: AlertNotice): string {
  const parts = [`started ${iso(notice.startedAtMs)}`]
  if (notice.resolvedAtMs !== null) parts.push(`resolved ${iso(notice.resolvedAtMs)}`)
  if (notice.alertId !== null) parts.push(`alert ${notice.alertId}`)
  return parts.join(' · ')
}

/** Builds a Slack incoming-webhook message: `text` for notifications, `blocks` for the message itself. */
export function slackBody(notice: AlertNotice): object {
  const title = noticeTitle(notice)
  const summary = noticeSummary(notice)
  return {
    text: `${title}: ${summary}`,
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `*${escapeMarkup(title)}*\n${escapeMarkup(summary)}` },
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: escapeMarkup(detailLine(notice)) }] },
    ],
  }
}

/** Builds a Telegram Bot API sendMessage body in HTML parse mode. */
export function telegramBody(config: Pick<TelegramConfig, 'chat_id'>, notice: AlertNotice): object {
  const lines = [
    `<b>${escapeMarkup(noticeTitle(notice))}</b>`,
    escapeMarkup(noticeSummary(notice)),
    escapeMarkup(detailLine(notice)),
  ]
  return {
    chat_id: config.chat_id,
    text: lines.join('\n'),
    parse_mode: 'HTML',
    disable_web_page_preview: true,
  }
}

/** Returns the PagerDuty deduplication key: one incident per alert. */
export function pagerDutyDedupKey(notice: AlertNotice): string {
  return notice.alertId === null ? `monit-test-${notice.firedAtMs}` : `monit-alert-${notice.alertId}`
}

function pagerDutySeverity(
  config: Pick<PagerDutyConfig, 'severity'>,
  notice: AlertNotice,
): PagerDutySeverity {
  if (notice.event === NoticeEvent.test) return PagerDutySeverity.info
  if (config.severity !== null) return config.severity
  return notice.status === 'down' ? PagerDutySeverity.critical : PagerDutySeverity.warning
}

/** Builds a PagerDuty Events API v2 event: trigger for a firing or test notice, else resolve. */
export function pagerDutyBody(
  config: Pick<PagerDutyConfig, 'routing_key' | 'severity'>,
  notice: AlertNotice,
): object {
  const dedupKey = pagerDutyDedupKey(notice)
  if (notice.event === NoticeEvent.resolved) {
    return { routing_key: config.routing_key, event_action: 'resolve', dedup_key: dedupKey }
  }
  return {
    routing_key: config.routing_key,
    event_action: 'trigger',
    dedup_key: dedupKey,
    client: 'monit',
    payload: {
      summary: clip(noticeSummary(notice), PAGERDUTY_SUMMARY_CHARS),
      source: notice.streamId,
      severity: pagerDutySeverity(config, notice),
      timestamp: iso(notice.startedAtMs),
      component: notice.streamId,
      group: notice.ruleId,
      class: notice.status,
      custom_details: {
        reason: clip(notice.reason, MAX_REASON_CHARS),
        rule_name: notice.ruleName,
        for_s: notice.forS,
        labels: notice.labels,
      },
    },
  }
}

/** Builds the subject and plain-text body of an e-mail notification. */
export function emailContent(notice: AlertNotice): { subject: string; text: string } {
  const lines = [
    noticeSummary(notice),
    '',
    `Stream: ${notice.streamId}`,
    `Status: ${notice.status}`,
    `Reason: ${clip(notice.reason, MAX_REASON_CHARS)}`,
    `Rule: ${notice.ruleName} (${notice.ruleId})`,
    `Started: ${iso(notice.startedAtMs)}`,
  ]
  if (notice.resolvedAtMs !== null) lines.push(`Resolved: ${iso(notice.resolvedAtMs)}`)
  if (notice.alertId !== null) lines.push(`Alert id: ${notice.alertId}`)
  return { subject: `[monit] ${noticeTitle(notice)}`, text: `${lines.join('\n')}\n` }
}
