// The alert service on a fake clock and a SQLite repository: for_s timing,
// restarts that reload open alerts, and rule and stream deletions.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import { startHttpReceiver, type HttpReceiver } from '../../testing/alert-receivers.ts'
import { FakeClock } from '../../testing/fake-clock.ts'
import { openRepository, type Repository } from '../src/repository/index.ts'
import { AlertService } from '../src/alerts/service.ts'
import type { AlertWithDeliveries } from '../src/alerts/types.ts'

let dir: string
let repository: Repository
let receiver: HttpReceiver
let clock: FakeClock
let service: AlertService | undefined

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'monit-alerts-service-'))
  repository = await openRepository(`sqlite:${join(dir, 'settings.db')}`, pino({ level: 'silent' }))
  receiver = await startHttpReceiver()
  clock = new FakeClock(Date.now())
  await repository.alerts.createChannel('hook', {
    type: 'webhook',
    name: 'hook',
    config: { url: `${receiver.url}/hook`, secret: 'webhook-shared-secret-0123' },
  })
})

test.after(async () => {
  await service?.stop()
  await receiver.stop()
  await repository.close()
  await rm(dir, { recursive: true, force: true })
})

/** Stops the running service, if any, and starts a new one on the same database, as a controller restart does. */
async function restart(): Promise<AlertService> {
  await service?.stop()
  service = new AlertService({ store: repository.alerts, streams: repository, logger: pino({ level: 'silent' }), clock })
  await service.start()
  await service.idle()
  return service
}

async function watch(streamId: string, forS: number): Promise<void> {
  await repository.createStream({ id: streamId, url: `http://127.0.0.1:9/${streamId}.m3u8` })
  const rule = await repository.alerts.createRule(`rule-${streamId}`, {
    name: '',
    enabled: true,
    stream_ids: [streamId],
    labels: null,
    statuses: ['down'],
    reason_pattern: null,
    for_s: forS,
    channels: ['hook'],
  })
  await service!.ruleSaved(rule)
}

async function report(streamId: string, status: 'up' | 'down', atMs = clock.now()): Promise<void> {
  await repository.recordStatus(streamId, status, status === 'down' ? 'no data' : '', atMs)
  service!.streamStatusReported(streamId)
  await service!.idle()
}

async function alertsOf(streamId: string): Promise<AlertWithDeliveries[]> {
  return repository.alerts.queryAlerts({ streamIds: [streamId], fromMs: 0, toMs: clock.now() + 3_600_000, limit: 10 })
}

/** Events of the webhook bodies sent for the stream, in order. */
function eventsSent(streamId: string): string[] {
  return receiver.requests
    .map((request) => JSON.parse(request.body))
    .filter((body) => body.stream.id === streamId)
    .map((body) => `${body.event}${body.alert.resolution === null ? '' : `:${body.alert.resolution}`}`)
}

test('fires after for_s on the service clock', async () => {
  await restart()
  await watch('slow-1', 60)
  const startMs = clock.now()
  await report('slow-1', 'down')
  clock.advance(59_000)
  await service!.idle()
  assert.is((await alertsOf('slow-1')).length, 0, 'nothing at 59 s')
  clock.advance(1000)
  await service!.idle()

  const [alert] = await alertsOf('slow-1')
  assert.is(alert?.started_at, new Date(startMs).toISOString())
  assert.is(alert?.fired_at, new Date(startMs + 60_000).toISOString())
  assert.equal(eventsSent('slow-1'), ['firing'])
})

test('recovery before for_s sends nothing', async () => {
  await watch('short-1', 60)
  await report('short-1', 'down')
  clock.advance(30_000)
  await report('short-1', 'up')
  clock.advance(600_000)
  await service!.idle()
  assert.is((await alertsOf('short-1')).length, 0)
  assert.equal(eventsSent('short-1'), [])
})

test('restart resolves an alert whose stream recovered meanwhile', async () => {
  await watch('gone-up', 0)
  await report('gone-up', 'down')
  await service!.stop()
  await repository.recordStatus('gone-up', 'up', '', clock.now())
  clock.advance(5000)
  await restart()

  const [alert] = await alertsOf('gone-up')
  assert.is(alert?.resolution, 'recovered')
  assert.is(alert?.resolved_at, new Date(clock.now()).toISOString())
  assert.equal(eventsSent('gone-up'), ['firing', 'resolved:recovered'])
})

test('restart keeps an alert open until recovery', async () => {
  await watch('still-down', 0)
  await report('still-down', 'down')
  await restart()
  assert.is((await alertsOf('still-down'))[0]?.resolved_at, null)
  await report('still-down', 'up')

  const alerts = await alertsOf('still-down')
  assert.is(alerts.length, 1, 'no second alert after the restart')
  assert.is(alerts[0]?.resolution, 'recovered')
  assert.equal(eventsSent('still-down'), ['firing', 'resolved:recovered'])
  assert.equal(alerts[0]?.deliveries.map((delivery) => delivery.event), ['firing', 'resolved'])
})

test('restart counts for_s from the stored status time', async () => {
  await watch('was-down', 60)
  await service!.stop()
  const downSinceMs = clock.now() - 50_000
  await repository.recordStatus('was-down', 'down', 'no data', downSinceMs)
  await restart()
  clock.advance(9_000)
  await service!.idle()
  assert.is((await alertsOf('was-down')).length, 0)
  clock.advance(1000)
  await service!.idle()
  assert.is((await alertsOf('was-down'))[0]?.started_at, new Date(downSinceMs).toISOString())
})

test('deleting the rule resolves and notifies', async () => {
  await watch('ruled-1', 0)
  await report('ruled-1', 'down')
  await repository.alerts.deleteRule('rule-ruled-1')
  await service!.ruleDeleted('rule-ruled-1')
  await service!.idle()
  assert.is((await alertsOf('ruled-1'))[0]?.resolution, 'rule_deleted')
  assert.equal(eventsSent('ruled-1'), ['firing', 'resolved:rule_deleted'])
})

test('deleted stream resolves on its next report', async () => {
  await watch('deleted-1', 0)
  await report('deleted-1', 'down')
  await repository.deleteStream('deleted-1')
  service!.streamStatusReported('deleted-1')
  await service!.idle()
  assert.is((await alertsOf('deleted-1'))[0]?.resolution, 'stream_deleted')
})

test.run()
