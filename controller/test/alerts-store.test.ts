// Migration 0004_alerts and the alert store on both settings databases:
// SQLite in a temporary file, and MariaDB in a throwaway database
// `monit_test_<random>` (MONIT_TEST_MYSQL_URL, default mysql://root@127.0.0.1:3306).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import { openRepository, type Repository } from '../src/repository/index.ts'
import { DuplicateAlertObjectError, type AlertStore, type RuleInput } from '../src/repository/alerts.ts'
import * as migration from '../src/repository/migrations/0004_alerts.ts'
import { mariadbDatabase, sqliteDatabase, type TestDatabase } from '../../testing/databases.ts'

interface State {
  repo: Repository
  store: AlertStore
  clock: { ms: number }
  setupError?: Error
}

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0)

function ruleInput(fields: Partial<RuleInput> = {}): RuleInput {
  return {
    name: 'down a minute',
    enabled: true,
    stream_ids: null,
    labels: null,
    statuses: ['down'],
    reason_pattern: null,
    for_s: 60,
    channels: ['hook'],
    ...fields,
  }
}

const webhook = { type: 'webhook', name: 'ops hook', config: { url: 'http://127.0.0.1:9/h', secret: 'shared-secret-0123' } } as const

function defineSuite(name: string, backend: TestDatabase): void {
  const test = suite<State>(name, {} as State)

  test.before(async (state) => {
    try {
      state.clock = { ms: T0 }
      state.repo = await openRepository(await backend.setup(), pino({ level: 'silent' }), { now: () => state.clock.ms })
      state.store = state.repo.alerts
    } catch (err) {
      state.setupError = err as Error
    }
  })

  // A setup failure fails every test with its message (uvu hides errors thrown by before).
  test.before.each((state) => {
    if (state.setupError) throw state.setupError
  })

  test.after(async (state) => {
    await state.repo?.close()
    await backend.teardown()
  })

  test('migration 0004_alerts ran', async ({ repo }) => {
    const names = (await repo.knex('knex_migrations').select('name')).map((row: { name: string }) => row.name)
    assert.ok(names.includes('0004_alerts'), `ran: ${names.join(', ')}`)
    for (const table of ['alert_channels', 'alert_rules', 'alerts', 'alert_deliveries']) {
      assert.ok(await repo.knex.schema.hasTable(table), `table ${table}`)
    }
  })

  test('channel round trip', async ({ store, clock }) => {
    const created = await store.createChannel('hook', webhook)
    assert.equal(created, { ...webhook, id: 'hook', created_at: new Date(T0).toISOString(), updated_at: new Date(T0).toISOString() })
    clock.ms = T0 + 1000
    const config = { url: 'http://127.0.0.1:9/new', secret: 'another-secret-0123' }
    const updated = await store.updateChannel('hook', { type: 'webhook', name: 'renamed', config })
    assert.equal(updated?.config, config)
    assert.is(updated?.name, 'renamed')
    assert.is(updated?.updated_at, new Date(T0 + 1000).toISOString())
    assert.is(await store.updateChannel('hook', { type: 'slack', name: '', config: { webhook_url: 'http://x/' } }), undefined, 'type is fixed')
    assert.is(await store.updateChannel('nope', webhook), undefined)
  })

  test('duplicate channel is rejected', async ({ store }) => {
    try {
      await store.createChannel('hook', webhook)
      assert.unreachable('no error')
    } catch (error) {
      assert.instance(error, DuplicateAlertObjectError)
      assert.is((error as DuplicateAlertObjectError).kind, 'channel')
    }
  })

  test('rule round trip keeps nulls and lists', async ({ store }) => {
    const global = await store.createRule('global', ruleInput())
    assert.is(global.stream_ids, null)
    assert.is(global.labels, null)
    assert.is(global.reason_pattern, null)
    assert.is(global.enabled, true)

    const scoped = await store.createRule('scoped', ruleInput({
      enabled: false,
      labels: { region: 'eu-west', tier: 'gold' },
      statuses: ['down', 'degraded'],
      reason_pattern: 'time(d)? ?out',
      for_s: 0,
      channels: ['hook', 'other'],
    }))
    assert.equal((await store.getRule('scoped'))!, scoped)
    assert.is(scoped.enabled, false)
    assert.equal(scoped.labels, { region: 'eu-west', tier: 'gold' })
    assert.equal(scoped.statuses, ['down', 'degraded'])
    assert.equal(scoped.channels, ['hook', 'other'])

    const listed = await store.updateRule('global', ruleInput({ stream_ids: ['news-1', 'news-2'] }))
    assert.equal(listed?.stream_ids, ['news-1', 'news-2'])
    assert.equal(await store.rulesUsingChannel('other'), ['scoped'])
    assert.equal((await store.listRules()).map((rule) => rule.id), ['global', 'scoped'])
    assert.ok(await store.deleteRule('scoped'))
    assert.not.ok(await store.deleteRule('scoped'))
  })

  test('alerts, resolution and deliveries', async ({ store }) => {
    const first = await store.insertAlert({
      rule_id: 'global',
      rule_name: 'down a minute',
      stream_id: 'news-1',
      status: 'down',
      reason: 'no data 📺 for 10 s',
      startedAtMs: T0,
      firedAtMs: T0 + 60_000,
    })
    const second = await store.insertAlert({
      rule_id: 'global',
      rule_name: 'down a minute',
      stream_id: 'news-2',
      status: 'degraded',
      reason: '',
      startedAtMs: T0 + 120_000,
      firedAtMs: T0 + 180_000,
    })
    assert.ok(second.id > first.id, 'ids increase')
    assert.equal((await store.listOpenAlerts()).map((alert) => alert.id), [first.id, second.id])

    const delivery = { channel_id: 'hook', event: 'firing', http_status: 500, response: 'busy', error: 'HTTP 500' } as const
    await store.recordDelivery({ ...delivery, alert_id: first.id, attempt: 1, outcome: 'retrying', atMs: T0 + 60_000 })
    const success = { http_status: 200, response: 'ok', error: null }
    await store.recordDelivery({ ...delivery, ...success, alert_id: first.id, attempt: 2, outcome: 'sent', atMs: T0 + 61_000 })
    assert.ok(await store.resolveAlert(first.id, T0 + 300_000, 'recovered'))
    assert.not.ok(await store.resolveAlert(first.id, T0 + 400_000, 'recovered'), 'resolves once')

    const stored = await store.getAlert(first.id)
    assert.is(stored?.reason, 'no data 📺 for 10 s')
    assert.is(stored?.resolved_at, new Date(T0 + 300_000).toISOString())
    assert.is(stored?.resolution, 'recovered')
    assert.equal(stored?.deliveries.map((row) => [row.attempt, row.outcome, row.http_status, row.error]), [
      [1, 'retrying', 500, 'HTTP 500'],
      [2, 'sent', 200, null],
    ])
    assert.equal([...(await store.firingChannels([first.id, second.id])).entries()], [[first.id, ['hook']]])
    assert.equal((await store.listOpenAlerts()).map((alert) => alert.id), [second.id])
  })

  test('alert query filters', async ({ store }) => {
    const ids = async (query: Partial<Parameters<AlertStore['queryAlerts']>[0]>) => {
      const found = await store.queryAlerts({ fromMs: T0, toMs: T0 + 3_600_000, limit: 100, ...query })
      return found.map((alert) => alert.stream_id)
    }
    assert.equal(await ids({}), ['news-2', 'news-1'], 'newest first')
    assert.equal(await ids({ streamIds: ['news-1'] }), ['news-1'])
    assert.equal(await ids({ state: 'open' }), ['news-2'])
    assert.equal(await ids({ state: 'resolved' }), ['news-1'])
    assert.equal(await ids({ ruleId: 'nope' }), [])
    assert.equal(await ids({ limit: 1 }), ['news-2'])
    assert.equal(await ids({ fromMs: T0 + 301_000 }), ['news-2'], 'resolved before the range')
    assert.equal(await ids({ toMs: T0 + 100_000 }), ['news-1'], 'started after the range')
  })

  test('migration down and up again', async ({ repo }) => {
    await migration.down(repo.knex)
    assert.not.ok(await repo.knex.schema.hasTable('alerts'))
    await migration.up(repo.knex)
    assert.ok(await repo.knex.schema.hasTable('alert_deliveries'))
    assert.equal(await repo.alerts.listChannels(), [])
  })

  test.run()
}

defineSuite('sqlite', sqliteDatabase('monit-alerts-store-'))
defineSuite('mariadb', mariadbDatabase())
