// Notification bodies, the webhook signature, channel settings and the retry
// schedule, on plain inputs.
import { createHmac } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  ChannelConfigError,
  maskChannel,
  mergeChannelConfig,
  parseChannelConfig,
  redactSecrets,
  channelSecrets,
} from '../src/alerts/channels.ts'
import {
  emailContent,
  formatDuration,
  noticeSummary,
  pagerDutyBody,
  slackBody,
  telegramBody,
  testNotice,
  webhookBody,
  type AlertNotice,
} from '../src/alerts/formats.ts'
import { buildHttpRequest } from '../src/alerts/requests.ts'
import { backoffDelayMs, sendWithRetry, type AttemptRecord, type AttemptResult, type RetryPolicy } from '../src/alerts/retry.ts'
import { signPayload, verifySignature } from '../src/alerts/signature.ts'
import type { AlertChannel } from '../src/alerts/types.ts'

const T0 = Date.UTC(2025, 2, 4, 10, 0, 0)

function notice(fields: Partial<AlertNotice> = {}): AlertNotice {
  return {
    event: 'firing',
    alertId: 7,
    ruleId: 'down-60',
    ruleName: 'down for a minute',
    forS: 60,
    streamId: 'news-1',
    labels: { region: 'eu' },
    status: 'down',
    reason: 'no data for 10 s <timeout> & retry',
    startedAtMs: T0,
    firedAtMs: T0 + 60_000,
    resolvedAtMs: null,
    resolution: null,
    ...fields,
  }
}

const resolvedNotice = () => notice({ event: 'resolved', resolvedAtMs: T0 + 185_000, resolution: 'recovered' })

test('signature is HMAC-SHA256 of timestamp.body', () => {
  const body = '{"a":1}'
  const expected = createHmac('sha256', 'shared-secret-0123').update(`1700000000.${body}`).digest('hex')
  assert.is(signPayload('shared-secret-0123', '1700000000', body), `sha256=${expected}`)
})

test('webhook request carries a verifiable signature', () => {
  const settings = { type: 'webhook', config: { url: 'http://127.0.0.1:9/hook', secret: 'shared-secret-0123' } } as const
  const request = buildHttpRequest(settings, notice(), T0 + 61_000)!
  const timestamp = request.headers['x-monit-timestamp']!
  const signature = request.headers['x-monit-signature']!
  assert.is(timestamp, String((T0 + 61_000) / 1000))
  const nowS = Number(timestamp) + 5
  assert.ok(verifySignature({ secret: 'shared-secret-0123', timestamp, body: request.body, signature, nowS }))
  assert.not.ok(verifySignature({ secret: 'other-secret-0123', timestamp, body: request.body, signature, nowS }), 'wrong secret')
  const altered = request.body.replace('news-1', 'news-2')
  assert.not.ok(verifySignature({ secret: 'shared-secret-0123', timestamp, body: altered, signature, nowS }), 'altered body')
  const late = Number(timestamp) + 301
  assert.not.ok(verifySignature({ secret: 'shared-secret-0123', timestamp, body: request.body, signature, nowS: late }), 'stale')
  assert.not.ok(verifySignature({ secret: 'shared-secret-0123', timestamp: 'x', body: request.body, signature, nowS }), 'bad timestamp')
})

test('webhook body has the alert and stream', () => {
  const body = JSON.parse(webhookBody(resolvedNotice(), T0 + 186_000))
  assert.is(body.event, 'resolved')
  assert.equal(body.stream, { id: 'news-1', labels: { region: 'eu' } })
  assert.equal(body.alert, {
    id: 7,
    rule_id: 'down-60',
    rule_name: 'down for a minute',
    for_s: 60,
    status: 'down',
    reason: 'no data for 10 s <timeout> & retry',
    started_at: '2025-03-04T10:00:00.000Z',
    fired_at: '2025-03-04T10:01:00.000Z',
    resolved_at: '2025-03-04T10:03:05.000Z',
    resolution: 'recovered',
  })
  assert.is(body.sent_at, '2025-03-04T10:03:06.000Z')
  assert.is(body.summary, 'Stream news-1 recovered after 3 min 5 s down (rule "down for a minute").')
})

test('summary of a firing alert', () => {
  assert.is(noticeSummary(notice({ reason: 'no data' })), 'Stream news-1 is down for 1 min: no data (rule "down for a minute").')
  assert.is(noticeSummary(notice({ forS: 0, reason: '', ruleName: '' })), 'Stream news-1 is down: no reason given (rule "down-60").')
  assert.match(noticeSummary(notice({ reason: 'x'.repeat(3000) })), /x{999}…/)
})

test('summary of each resolution', () => {
  const closed = (resolution: AlertNotice['resolution']) => noticeSummary(notice({ event: 'resolved', resolution, resolvedAtMs: T0 }))
  assert.match(closed('rule_changed'), /closed: rule "down for a minute" changed/)
  assert.match(closed('rule_deleted'), /closed: rule "down for a minute" was deleted/)
  assert.match(closed('stream_deleted'), /closed: the stream was deleted/)
})

test('durations read as h, min and s', () => {
  assert.is(formatDuration(0), '0 s')
  assert.is(formatDuration(45_000), '45 s')
  assert.is(formatDuration(60_000), '1 min')
  assert.is(formatDuration(3_725_000), '1 h 2 min 5 s')
})

test('slack body escapes markup', () => {
  const body = slackBody(notice()) as { text: string; blocks: Array<{ type: string; text?: { type: string; text: string } }> }
  assert.match(body.text, /^FIRING: news-1 down: Stream news-1 is down/)
  assert.is(body.blocks[0]?.type, 'section')
  assert.is(body.blocks[0]?.text?.type, 'mrkdwn')
  assert.match(body.blocks[0]?.text?.text ?? '', /^\*FIRING: news-1 down\*\n/)
  assert.match(body.blocks[0]?.text?.text ?? '', /&lt;timeout&gt; &amp; retry/)
  assert.is(body.blocks[1]?.type, 'context')
})

test('telegram body is HTML sendMessage', () => {
  const body = telegramBody({ chat_id: '-100123' }, notice()) as Record<string, unknown>
  assert.equal(Object.keys(body).sort(), ['chat_id', 'disable_web_page_preview', 'parse_mode', 'text'])
  assert.is(body.chat_id, '-100123')
  assert.is(body.parse_mode, 'HTML')
  assert.match(String(body.text), /^<b>FIRING: news-1 down<\/b>\n/)
  assert.match(String(body.text), /&lt;timeout&gt; &amp; retry/)
  assert.not.match(String(body.text), /<timeout>/)
})

test('telegram URL puts the token in the path', () => {
  const settings = { type: 'telegram', config: { bot_token: '123:abc-token', chat_id: '5', api_url: 'http://127.0.0.1:9/' } } as const
  assert.is(buildHttpRequest(settings, notice(), T0)?.url, 'http://127.0.0.1:9/bot123:abc-token/sendMessage')
})

test('pagerduty trigger and resolve share the dedup key', () => {
  const config = { routing_key: 'R0UT1NGKEY0123456789012345678901', severity: null }
  const trigger = pagerDutyBody(config, notice()) as Record<string, any>
  const resolve = pagerDutyBody(config, resolvedNotice()) as Record<string, any>
  assert.is(trigger.event_action, 'trigger')
  assert.is(trigger.routing_key, config.routing_key)
  assert.is(trigger.dedup_key, 'monit-alert-7')
  assert.is(trigger.payload.source, 'news-1')
  assert.is(trigger.payload.severity, 'critical')
  assert.match(trigger.payload.summary, /^Stream news-1 is down/)
  assert.is(trigger.payload.timestamp, '2025-03-04T10:00:00.000Z')
  assert.equal(resolve, { routing_key: config.routing_key, event_action: 'resolve', dedup_key: 'monit-alert-7' })
})

test('pagerduty severity follows the status or the config', () => {
  const severity = (config: { severity: 'error' | null }, status: 'down' | 'degraded') =>
    (pagerDutyBody({ routing_key: 'key-01234567', ...config }, notice({ status })) as Record<string, any>).payload.severity
  assert.is(severity({ severity: null }, 'degraded'), 'warning')
  assert.is(severity({ severity: 'error' }, 'down'), 'error')
  const test = pagerDutyBody({ routing_key: 'key-01234567', severity: null }, testNotice('pd', T0)) as Record<string, any>
  assert.is(test.payload.severity, 'info')
  assert.is(test.dedup_key, `monit-test-${T0}`)
})

test('pagerduty summary stays under 1024 characters', () => {
  const body = pagerDutyBody({ routing_key: 'key-01234567', severity: null }, notice({ streamId: 's'.repeat(128), reason: 'r'.repeat(2048) }))
  assert.ok((body as Record<string, any>).payload.summary.length <= 1024)
})

test('email has a subject and plain body', () => {
  const { subject, text } = emailContent(resolvedNotice())
  assert.is(subject, '[monit] RESOLVED: news-1')
  assert.match(text, /^Stream news-1 recovered after 3 min 5 s down/)
  assert.match(text, /\nStream: news-1\n/)
  assert.match(text, /\nResolved: 2025-03-04T10:03:05.000Z\n/)
  assert.match(text, /\nAlert id: 7\n/)
})

test('channel config gets its defaults', () => {
  const telegram = parseChannelConfig('telegram', { bot_token: '123:token-abc', chat_id: '42' })
  assert.equal(telegram.config, { api_url: 'https://api.telegram.org', bot_token: '123:token-abc', chat_id: '42' })
  const pagerduty = parseChannelConfig('pagerduty', { routing_key: 'key-01234567' })
  assert.equal(pagerduty.config, { url: 'https://events.pagerduty.com/v2/enqueue', severity: null, routing_key: 'key-01234567' })
  const email = parseChannelConfig('email', { host: 'smtp.example.test', from: 'monit@example.test', to: ['ops@example.test'], secure: true })
  assert.equal(email.config, {
    port: 465,
    secure: true,
    user: null,
    password: null,
    host: 'smtp.example.test',
    from: 'monit@example.test',
    to: ['ops@example.test'],
  })
})

const invalidConfigs: Array<[string, 'webhook' | 'slack' | 'email' | 'pagerduty', unknown, string, RegExp]> = [
  ['missing url', 'webhook', { secret: 'shared-secret-0123' }, '/url', /missing/],
  ['short secret', 'webhook', { url: 'http://127.0.0.1/', secret: 'short' }, '/secret', /fewer than 16/],
  ['ftp url', 'slack', { webhook_url: 'ftp://example.test/' }, '/webhook_url', /pattern/],
  ['unknown field', 'webhook', { url: 'http://127.0.0.1/', secret: 'shared-secret-0123', extra: 1 }, '/extra', /unknown field/],
  ['bad address', 'email', { host: 'h', from: 'a@b.test', to: ['not-an-address'] }, '/to/0', /pattern/],
  ['password without user', 'email', { host: 'h', from: 'a@b.test', to: ['x@y.test'], password: 'pw' }, '/user', /needs a user/],
  ['bad severity', 'pagerduty', { routing_key: 'key-01234567', severity: 'panic' }, '/severity', /allowed values/],
]

for (const [name, type, config, field, message] of invalidConfigs) {
  test(`channel config rejects ${name}`, () => {
    try {
      parseChannelConfig(type, config)
      assert.unreachable('no error')
    } catch (error) {
      assert.instance(error, ChannelConfigError)
      assert.is((error as ChannelConfigError).field, field)
      assert.match((error as Error).message, message)
    }
  })
}

function channel(settings: Pick<AlertChannel, 'type' | 'config'>): AlertChannel {
  return { id: 'c', name: '', created_at: '', updated_at: '', ...settings } as AlertChannel
}

test('masking hides every secret', () => {
  const webhook = maskChannel(channel({ type: 'webhook', config: { url: 'http://127.0.0.1/h', secret: 'shared-secret-0123456' } }))
  assert.equal(webhook.config, { url: 'http://127.0.0.1/h', secret: '********3456' })
  const slack = maskChannel(channel({ type: 'slack', config: { webhook_url: 'https://hooks.example.test/services/T0/B0/XYZ' } }))
  assert.equal(slack.config, { webhook_url: 'https://hooks.example.test/********' })
  const email = parseChannelConfig('email', { host: 'h', from: 'a@b.test', to: ['x@y.test'], user: 'u', password: 'pw' })
  assert.is((maskChannel(channel(email)).config as { password: string }).password, '********', 'a short secret is masked whole')
})

test('masked secret sent back keeps the stored one', () => {
  const stored = { type: 'webhook', config: { url: 'http://127.0.0.1/h', secret: 'shared-secret-0123456' } } as const
  assert.equal(mergeChannelConfig(stored, { url: 'http://127.0.0.1/new', secret: '********3456' }), {
    url: 'http://127.0.0.1/new',
    secret: 'shared-secret-0123456',
  })
  assert.is(mergeChannelConfig(stored, { secret: 'another-secret-0123' }).secret, 'another-secret-0123')
})

test('redaction removes secrets from texts', () => {
  const settings = { type: 'telegram', config: { bot_token: '123:abc-token', chat_id: '5', api_url: 'http://x/' } } as const
  const text = 'request to http://x/bot123:abc-token/sendMessage failed'
  assert.is(redactSecrets(text, channelSecrets(settings)), 'request to http://x/bot[redacted]/sendMessage failed')
})

const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 8000, maxTotalMs: 60_000 }

test('backoff doubles, caps and jitters', () => {
  assert.is(backoffDelayMs(1, policy, 0), 500)
  assert.is(backoffDelayMs(1, policy, 0.999999), 1000)
  assert.is(backoffDelayMs(3, policy, 0), 2000)
  assert.is(backoffDelayMs(10, policy, 0), 4000, 'capped at maxDelayMs before jitter')
  assert.is(backoffDelayMs(10, policy, 0.999999), 8000)
})

function fakeRuntime(random = 0.5) {
  let nowMs = 0
  const records: AttemptRecord[] = []
  const waits: number[] = []
  return {
    records,
    waits,
    runtime: {
      now: () => nowMs,
      sleep: async (delayMs: number) => {
        waits.push(delayMs)
        nowMs += delayMs
      },
      random: () => random,
      record: (record: AttemptRecord) => void records.push(record),
    },
  }
}

const failure = (fields: Partial<AttemptResult> = {}): AttemptResult => ({
  ok: false,
  retryable: true,
  httpStatus: 503,
  response: null,
  error: 'HTTP 503',
  ...fields,
})
const success: AttemptResult = { ok: true, retryable: false, httpStatus: 200, response: 'ok', error: null }

test('retries until success', async () => {
  const { records, waits, runtime } = fakeRuntime()
  let calls = 0
  const last = await sendWithRetry(async () => (++calls < 3 ? failure() : success), policy, runtime)
  assert.is(last.outcome, 'sent')
  assert.equal(records.map((record) => record.outcome), ['retrying', 'retrying', 'sent'])
  assert.equal(records.map((record) => record.attempt), [1, 2, 3])
  assert.equal(waits, [750, 1500])
})

test('stops at max attempts', async () => {
  const { records, runtime } = fakeRuntime()
  const last = await sendWithRetry(async () => failure(), policy, runtime)
  assert.is(last.attempt, 5)
  assert.is(last.outcome, 'failed')
  assert.is(records.length, 5)
})

test('stops within the total time', async () => {
  const { records, waits, runtime } = fakeRuntime(0.999999)
  await sendWithRetry(async () => failure(), { ...policy, maxAttempts: 100, maxTotalMs: 20_000 }, runtime)
  const waited = waits.reduce((sum, ms) => sum + ms, 0)
  assert.ok(waited <= 20_000, `waited ${waited} ms`)
  assert.is(records.at(-1)?.outcome, 'failed')
})

test('no retry after a permanent failure', async () => {
  const { records, runtime } = fakeRuntime()
  await sendWithRetry(async () => failure({ retryable: false, httpStatus: 400 }), policy, runtime)
  assert.equal(records.map((record) => record.outcome), ['failed'])
})

test('retry-after lengthens the wait', async () => {
  const { waits, runtime } = fakeRuntime()
  let calls = 0
  await sendWithRetry(async () => (++calls === 1 ? failure({ httpStatus: 429, retryAfterMs: 5000 }) : success), policy, runtime)
  assert.equal(waits, [5000])
})

test('a thrown attempt is retried', async () => {
  const { records, runtime } = fakeRuntime()
  let calls = 0
  await sendWithRetry(async () => {
    if (++calls === 1) throw new Error('socket hang up')
    return success
  }, policy, runtime)
  assert.is(records[0]?.error, 'socket hang up')
  assert.is(records[1]?.outcome, 'sent')
})

test.run()
