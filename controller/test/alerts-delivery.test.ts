// Alert deliveries from the alert service to real receivers on 127.0.0.1:
// HTTP receivers for the webhook, Slack, Telegram and PagerDuty formats, and
// an SMTP server. Alerts and attempts are stored in a SQLite repository.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import {
  mailHeader,
  mailText,
  startHttpReceiver,
  startSmtpReceiver,
  type HttpReceiver,
  type ReceivedRequest,
  type SmtpReceiver,
} from '../../testing/alert-receivers.ts'
import { waitFor } from '../../testing/controller.ts'
import { openRepository, type Repository } from '../src/repository/index.ts'
import type { ChannelInput } from '../src/repository/alerts.ts'
import { AlertService } from '../src/alerts/service.ts'
import { parseChannelConfig } from '../src/alerts/channels.ts'
import { verifySignature } from '../src/alerts/signature.ts'
import type { AlertWithDeliveries, ChannelType } from '../src/alerts/types.ts'

const WEBHOOK_SECRET = 'webhook-shared-secret-0123'
const TELEGRAM_TOKEN = '123456:telegram-token-abcdef'
const PAGERDUTY_KEY = 'pagerduty-routing-key-0123456789'
const SMTP_PASSWORD = 'smtp-password-0123'

let dir: string
let repository: Repository
let receiver: HttpReceiver
let smtp: SmtpReceiver
let service: AlertService
const logLines: string[] = []

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'monit-alerts-delivery-'))
  repository = await openRepository(`sqlite:${join(dir, 'settings.db')}`, pino({ level: 'silent' }))
  receiver = await startHttpReceiver()
  smtp = await startSmtpReceiver('monit', SMTP_PASSWORD)
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) })
  service = new AlertService({
    store: repository.alerts,
    streams: repository,
    logger,
    retryPolicy: { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 100, maxTotalMs: 5000 },
    random: () => 0.5,
    requestTimeoutMs: 5000,
  })
  await service.start()
})

test.after(async () => {
  await service.stop()
  await receiver.stop()
  await smtp.stop()
  await repository.close()
  await rm(dir, { recursive: true, force: true })
})

async function addChannel(id: string, type: ChannelType, config: object): Promise<void> {
  const input = { ...parseChannelConfig(type, config), name: id } as ChannelInput
  await repository.alerts.createChannel(id, input)
}

/** Creates a stream and a rule that fires at once when the stream is down. */
async function watch(streamId: string, channels: string[]): Promise<void> {
  await repository.createStream({ id: streamId, url: `http://127.0.0.1:9/${streamId}.m3u8` })
  const rule = await repository.alerts.createRule(`rule-${streamId}`, {
    name: `${streamId} down`,
    enabled: true,
    stream_ids: [streamId],
    labels: null,
    statuses: ['down'],
    reason_pattern: null,
    for_s: 0,
    channels,
  })
  await service.ruleSaved(rule)
}

/** Stores the status as an agent report would and passes it to the service. */
function report(streamId: string, status: 'up' | 'down', reason = ''): Promise<void> {
  return repository.recordStatus(streamId, status, reason).then(() => service.streamStatusReported(streamId))
}

async function alertOf(streamId: string): Promise<AlertWithDeliveries> {
  const alerts = await repository.alerts.queryAlerts({ streamIds: [streamId], fromMs: 0, toMs: Date.now() + 60_000, limit: 10 })
  assert.is(alerts.length, 1, `one alert on ${streamId}`)
  return alerts[0]!
}

const requestsTo = (prefix: string): ReceivedRequest[] => receiver.requests.filter((request) => request.path.startsWith(prefix))

test('webhook retried until it succeeds', async () => {
  await addChannel('flaky', 'webhook', { url: `${receiver.url}/flaky`, secret: WEBHOOK_SECRET })
  await watch('flaky-1', ['flaky'])
  receiver.script.push({ status: 500, body: 'busy' }, { status: 503, body: 'still busy' })
  await report('flaky-1', 'down', 'no data for 10 s')
  await service.idle()

  const alert = await alertOf('flaky-1')
  assert.is(alert.status, 'down')
  assert.is(alert.reason, 'no data for 10 s')
  assert.equal(alert.deliveries.map((delivery) => delivery.attempt), [1, 2, 3])
  assert.equal(alert.deliveries.map((delivery) => delivery.outcome), ['retrying', 'retrying', 'sent'])
  assert.equal(alert.deliveries.map((delivery) => delivery.http_status), [500, 503, 200])
  assert.is(alert.deliveries[0]?.response, 'busy')
  assert.is(alert.deliveries[0]?.error, 'HTTP 500')
  assert.ok(alert.deliveries.every((delivery) => delivery.event === 'firing' && delivery.channel_id === 'flaky'))

  const requests = requestsTo('/flaky')
  assert.is(requests.length, 3)
  for (const request of requests) {
    const timestamp = String(request.headers['x-monit-timestamp'])
    const signature = String(request.headers['x-monit-signature'])
    assert.ok(verifySignature({ secret: WEBHOOK_SECRET, timestamp, body: request.body, signature, nowS: request.atS }), 'signature verifies')
    const body = JSON.parse(request.body)
    assert.is(body.event, 'firing')
    assert.is(body.alert.id, alert.id)
    assert.is(body.stream.id, 'flaky-1')
  }
})

test('pagerduty trigger then resolve with one dedup key', async () => {
  await addChannel('pd', 'pagerduty', { routing_key: PAGERDUTY_KEY, url: `${receiver.url}/pd/enqueue` })
  await watch('pd-1', ['pd'])
  await report('pd-1', 'down', 'connection refused')
  await service.idle()
  await report('pd-1', 'up')
  await service.idle()

  const alert = await alertOf('pd-1')
  assert.ok(alert.resolved_at !== null, 'the alert is resolved')
  assert.is(alert.resolution, 'recovered')
  assert.equal(alert.deliveries.map((delivery) => `${delivery.event}:${delivery.outcome}`), ['firing:sent', 'resolved:sent'])

  const [trigger, resolve] = requestsTo('/pd/').map((request) => JSON.parse(request.body))
  assert.is(trigger.event_action, 'trigger')
  assert.is(trigger.routing_key, PAGERDUTY_KEY)
  assert.is(trigger.dedup_key, `monit-alert-${alert.id}`)
  assert.is(trigger.payload.source, 'pd-1')
  assert.is(trigger.payload.severity, 'critical')
  assert.match(trigger.payload.summary, /connection refused/)
  assert.equal(resolve, { routing_key: PAGERDUTY_KEY, event_action: 'resolve', dedup_key: trigger.dedup_key })
})

test('email reaches the SMTP server', async () => {
  const config = { host: '127.0.0.1', port: smtp.port, secure: false, user: 'monit', password: SMTP_PASSWORD }
  await addChannel('mail', 'email', { ...config, from: 'monit@example.test', to: ['ops@example.test', 'oncall@example.test'] })
  await watch('mail-1', ['mail'])
  await report('mail-1', 'down', 'HTTP 404 on the playlist')
  await service.idle()

  const [mail] = await smtp.waitForMails(1)
  assert.is(mail?.user, 'monit')
  assert.is(mail?.from, 'monit@example.test')
  assert.equal(mail?.to, ['ops@example.test', 'oncall@example.test'])
  assert.is(mailHeader(mail!.raw, 'subject'), '[monit] FIRING: mail-1 down')
  const text = mailText(mail!.raw)
  assert.match(text, /^Stream mail-1 is down: HTTP 404 on the playlist/)
  assert.match(text, /\nReason: HTTP 404 on the playlist\r?\n/)

  const alert = await alertOf('mail-1')
  assert.is(alert.deliveries[0]?.outcome, 'sent')
  assert.match(alert.deliveries[0]?.response ?? '', /^250 /)
})

test('wrong SMTP password fails without retry', async () => {
  const config = { host: '127.0.0.1', port: smtp.port, user: 'monit', password: 'wrong-password' }
  await addChannel('bad-mail', 'email', { ...config, from: 'monit@example.test', to: ['ops@example.test'] })
  await watch('mail-2', ['bad-mail'])
  await report('mail-2', 'down')
  await service.idle()

  const alert = await alertOf('mail-2')
  assert.is(alert.deliveries.length, 1)
  assert.is(alert.deliveries[0]?.outcome, 'failed')
  assert.match(alert.deliveries[0]?.error ?? '', /SMTP failed/)
  assert.not.match(alert.deliveries[0]?.error ?? '', /wrong-password/)
})

test('failing channel does not block others', async () => {
  const slow = await startHttpReceiver()
  try {
    let release = (): void => undefined
    const held = new Promise<void>((resolve) => (release = resolve))
    slow.script.push({ status: 500, hold: held })
    await addChannel('stuck', 'webhook', { url: `${slow.url}/stuck`, secret: WEBHOOK_SECRET })
    await addChannel('fast', 'webhook', { url: `${receiver.url}/fast`, secret: WEBHOOK_SECRET })
    await watch('pair-1', ['stuck', 'fast'])
    await report('pair-1', 'down')

    // The stuck receiver delays its first response until the fast channel's delivery is stored.
    await slow.waitForRequests(1)
    const fast = await waitFor('the fast delivery', async () => {
      const deliveries = (await alertOf('pair-1')).deliveries.filter((delivery) => delivery.channel_id === 'fast')
      return deliveries.length > 0 ? deliveries : undefined
    }, 10_000, 20)
    assert.is(fast[0]?.outcome, 'sent')
    release()
    await service.idle()

    const stuck = (await alertOf('pair-1')).deliveries.filter((delivery) => delivery.channel_id === 'stuck')
    assert.equal(stuck.map((delivery) => delivery.outcome), ['retrying', 'sent'])
  } finally {
    await slow.stop()
  }
})

test('slack and telegram bodies reach their URLs', async () => {
  await addChannel('slack', 'slack', { webhook_url: `${receiver.url}/slack/T000/B000/XXXX` })
  await addChannel('tg', 'telegram', { bot_token: TELEGRAM_TOKEN, chat_id: '-1001', api_url: `${receiver.url}/tg` })
  await watch('chat-1', ['slack', 'tg'])
  await report('chat-1', 'down', 'frozen <picture>')
  await service.idle()

  const [slack] = requestsTo('/slack/')
  const slackBody = JSON.parse(slack!.body)
  assert.match(slackBody.text, /^FIRING: chat-1 down: Stream chat-1 is down: frozen <picture>/)
  assert.match(slackBody.blocks[0].text.text, /frozen &lt;picture&gt;/)

  const [telegram] = requestsTo('/tg/')
  assert.is(telegram?.path, `/tg/bot${TELEGRAM_TOKEN}/sendMessage`)
  const telegramBody = JSON.parse(telegram!.body)
  assert.is(telegramBody.chat_id, '-1001')
  assert.is(telegramBody.parse_mode, 'HTML')
  assert.match(telegramBody.text, /^<b>FIRING: chat-1 down<\/b>\n/)
})

test('secrets stay out of records and logs', async () => {
  await addChannel('tg-bad', 'telegram', { bot_token: TELEGRAM_TOKEN, chat_id: '-1002', api_url: `${receiver.url}/tg-bad` })
  await watch('secret-1', ['tg-bad'])
  receiver.script.push({ status: 400, body: `{"ok":false,"description":"chat not found for /bot${TELEGRAM_TOKEN}"}` })
  await report('secret-1', 'down')
  await service.idle()

  const [delivery] = (await alertOf('secret-1')).deliveries
  assert.is(delivery?.outcome, 'failed', 'HTTP 400 is not retried')
  assert.is(delivery?.response, '{"ok":false,"description":"chat not found for /bot[redacted]"}')
  const logs = logLines.join('')
  assert.ok(logs.includes('alert notification attempt failed'), 'failures are logged')
  for (const secret of [TELEGRAM_TOKEN, WEBHOOK_SECRET, PAGERDUTY_KEY, SMTP_PASSWORD]) {
    assert.not.ok(logs.includes(secret), 'no secret in the logs')
  }
})

test('channel test sends one message', async () => {
  const channel = (await repository.alerts.getChannel('flaky'))!
  const before = requestsTo('/flaky').length
  const result = await service.testChannel(channel)
  assert.ok(result.ok)
  assert.is(result.httpStatus, 200)
  const sent = requestsTo('/flaky').slice(before)
  assert.is(sent.length, 1)
  assert.is(JSON.parse(sent[0]!.body).event, 'test')
})

test('pagerduty test resolves its incident', async () => {
  const before = requestsTo('/pd/').length
  const result = await service.testChannel((await repository.alerts.getChannel('pd'))!)
  assert.ok(result.ok)
  const [trigger, resolve] = requestsTo('/pd/').slice(before).map((request) => JSON.parse(request.body))
  assert.is(trigger.event_action, 'trigger')
  assert.is(trigger.payload.severity, 'info')
  assert.is(resolve.event_action, 'resolve')
  assert.is(resolve.dedup_key, trigger.dedup_key)
})

test('failed channel test is not retried', async () => {
  receiver.script.push({ status: 503, body: 'down for maintenance' })
  const before = requestsTo('/flaky').length
  const result = await service.testChannel((await repository.alerts.getChannel('flaky'))!)
  assert.not.ok(result.ok)
  assert.is(result.httpStatus, 503)
  assert.is(requestsTo('/flaky').length, before + 1)
})

test.run()
