// The settings repository against both databases it supports: SQLite in a
// temporary file, and MariaDB in a throwaway database `monit_test_<random>`
// (MONIT_TEST_MYSQL_URL, default mysql://root@127.0.0.1:3306; CI starts it).
import { createHash } from 'node:crypto'
import knexFactory, { type Knex } from 'knex'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { knexConfig, parseDatabaseUrl } from '../src/repository/config.ts'
import {
  DuplicateStreamError,
  migrations,
  openRepository,
  RepositoryError,
  StreamNotFoundError,
  type Repository,
  type RepositoryLogger,
} from '../src/repository/index.ts'
import { mariadbDatabase, sqliteDatabase, type TestDatabase } from '../../testing/databases.ts'

interface LogLine {
  obj: Record<string, unknown>
  msg: string | undefined
}

function memoryLogger(): RepositoryLogger & { lines: LogLine[] } {
  const lines: LogLine[] = []
  return { lines, info: (obj, msg) => void lines.push({ obj: obj as Record<string, unknown>, msg }) }
}

interface State {
  url: string
  repo: Repository
  logger: ReturnType<typeof memoryLogger>
  clock: { ms: number }
  setupError?: Error
}

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678)
const MIGRATION_NAMES = migrations.map((migration) => migration.name)

/** Replaces every assignment of the stream with one on agentId (none for null); returns the new epoch. */
async function assignSingle(repo: Repository, streamId: string, agentId: string | null): Promise<number> {
  const current = await repo.getStream(streamId)
  const remove = current?.assignments.map((entry) => entry.slot) ?? []
  const add = agentId === null ? [] : [{ slot: '', agentId, reason: 'test' }]
  const [result] = await repo.changeAssignments([{ streamId, remove, add }])
  if (result?.epoch === undefined) throw new Error(`stream ${streamId} not found`)
  return result.epoch
}

function defineSuite(name: string, backend: TestDatabase): void {
  const test = suite<State>(name, {} as State)

  test.before(async (state) => {
    try {
      state.url = await backend.setup()
      state.clock = { ms: T0 }
      state.logger = memoryLogger()
      state.repo = await openRepository(state.url, state.logger, { now: () => state.clock.ms })
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

  test('first open runs the migrations and logs them', ({ repo, logger }) => {
    const ran = logger.lines.find((line) => Array.isArray(line.obj.migrations))
    assert.ok(ran, 'a log line lists the migrations that ran')
    assert.equal(ran.obj.migrations, MIGRATION_NAMES)
    assert.ok(MIGRATION_NAMES.includes('0003_scheduling'))
    assert.match(ran.msg ?? '', new RegExp(`ran ${MIGRATION_NAMES.length} settings migration`))
    assert.ok(repo.client === (name === 'sqlite' ? 'sqlite' : 'mysql'))
  })

  test('migrations run twice are idempotent and keep data', async ({ url, repo }) => {
    await repo.createStream({ id: 'kept-across-reopen', url: 'http://example.test/a.m3u8' })
    const logger = memoryLogger()
    const again = await openRepository(url, logger)
    try {
      assert.ok(logger.lines.some((line) => /up to date/.test(line.msg ?? '')))
      assert.not.ok(logger.lines.some((line) => Array.isArray(line.obj.migrations)))
      assert.ok(await again.getStream('kept-across-reopen'))
      const recorded = await again.knex('knex_migrations').select('name')
      assert.equal(recorded.map((row: { name: string }) => row.name), MIGRATION_NAMES)
    } finally {
      await again.close()
    }
    assert.ok(await repo.deleteStream('kept-across-reopen'))
  })

  test('createStream fills defaults and returns API-shaped JSON', async ({ repo }) => {
    const stream = await repo.createStream({ id: 'cam-1', url: 'https://example.test/live/cam1.m3u8' })
    const iso = new Date(T0).toISOString()
    assert.equal(stream, {
      id: 'cam-1',
      url: 'https://example.test/live/cam1.m3u8',
      desired_state: 'up',
      probe: { interval_s: 10, sample_s: 5, timeout_s: 10 },
      labels: {},
      required_labels: {},
      weight: 1,
      pinned_agent_id: null,
      vantage: null,
      agent_id: null,
      epoch: 0,
      assigned_at: null,
      assignments: [],
      status: null,
      status_reason: null,
      status_at: null,
      last_probe_at: null,
      created_at: iso,
      updated_at: iso,
    })
    assert.equal(await repo.getStream('cam-1'), stream)
    assert.is(await repo.getStream('no-such-stream'), undefined)
  })

  test('createStream keeps given settings; JSON labels round trip', async ({ repo }) => {
    const labels = { region: 'eu-west', 'team.name': 'vidéo ✓', quote: 'a "b" \\ c', empty: '' }
    const created = await repo.createStream({
      id: 'cam-2',
      url: 'srt://10.0.0.2:9000?streamid=x',
      desired_state: 'down',
      probe: { interval_s: 30, timeout_s: 20 },
      labels,
    })
    assert.is(created.desired_state, 'down')
    assert.equal(created.probe, { interval_s: 30, sample_s: 5, timeout_s: 20 })
    const read = await repo.getStream('cam-2')
    assert.equal(read?.labels, labels)
    assert.is(typeof read?.epoch, 'number')
  })

  test('duplicate createStream throws DuplicateStreamError with code STREAM_EXISTS', async ({ repo }) => {
    await repo.createStream({ id: 'dup', url: 'http://example.test/one' })
    try {
      await repo.createStream({ id: 'dup', url: 'http://example.test/two' })
      assert.unreachable('createStream accepted a duplicate id')
    } catch (err) {
      assert.instance(err, DuplicateStreamError)
      assert.instance(err, RepositoryError)
      assert.is((err as DuplicateStreamError).code, 'STREAM_EXISTS')
      assert.is((err as DuplicateStreamError).streamId, 'dup')
    }
    assert.is((await repo.getStream('dup'))?.url, 'http://example.test/one')
  })

  test('stream ids are case-sensitive on every database', async ({ repo }) => {
    await repo.createStream({ id: 'Case', url: 'http://example.test/upper' })
    await repo.createStream({ id: 'case', url: 'http://example.test/lower' })
    assert.is((await repo.getStream('Case'))?.url, 'http://example.test/upper')
    assert.is((await repo.getStream('case'))?.url, 'http://example.test/lower')
  })

  test('listStreams returns every stream ordered by id', async ({ repo }) => {
    const ids = (await repo.listStreams()).map((stream) => stream.id)
    assert.equal(ids, [...ids].sort())
    for (const id of ['cam-1', 'cam-2', 'dup', 'Case', 'case']) assert.ok(ids.includes(id), id)
  })

  test('updateStream patches settings and bumps updated_at', async ({ repo, clock }) => {
    await repo.createStream({ id: 'upd', url: 'http://example.test/u', labels: { a: '1', b: '2' } })
    clock.ms = T0 + 60_000
    const updated = await repo.updateStream('upd', { url: 'http://example.test/v', probe: { sample_s: 8 }, labels: { c: '3' } })
    assert.is(updated.url, 'http://example.test/v')
    assert.equal(updated.probe, { interval_s: 10, sample_s: 8, timeout_s: 10 })
    assert.equal(updated.labels, { c: '3' })
    assert.is(updated.desired_state, 'up')
    assert.is(updated.created_at, new Date(T0).toISOString())
    assert.is(updated.updated_at, new Date(T0 + 60_000).toISOString())
    assert.equal(await repo.getStream('upd'), updated)
    clock.ms = T0
  })

  test('updateStream and setDesiredState throw StreamNotFoundError', async ({ repo }) => {
    for (const attempt of [
      () => repo.updateStream('missing', { url: 'http://example.test/x' }),
      () => repo.setDesiredState('missing', 'down'),
    ]) {
      try {
        await attempt()
        assert.unreachable('no error for a missing stream')
      } catch (err) {
        assert.instance(err, StreamNotFoundError)
        assert.is((err as StreamNotFoundError).code, 'STREAM_NOT_FOUND')
      }
    }
  })

  test('setDesiredState switches down and up', async ({ repo }) => {
    await repo.createStream({ id: 'toggle', url: 'http://example.test/t' })
    assert.is((await repo.setDesiredState('toggle', 'down')).desired_state, 'down')
    assert.is((await repo.getStream('toggle'))?.desired_state, 'down')
    assert.is((await repo.setDesiredState('toggle', 'down')).desired_state, 'down')
    assert.is((await repo.setDesiredState('toggle', 'up')).desired_state, 'up')
  })

  test('deleteStream reports whether the stream existed', async ({ repo }) => {
    await repo.createStream({ id: 'gone', url: 'http://example.test/g' })
    assert.is(await repo.deleteStream('gone'), true)
    assert.is(await repo.getStream('gone'), undefined)
    assert.is(await repo.deleteStream('gone'), false)
    await repo.createStream({ id: 'gone', url: 'http://example.test/again' })
    assert.is((await repo.getStream('gone'))?.epoch, 0)
  })

  test('changeAssignments sets the agent and increments epoch', async ({ repo, clock }) => {
    await repo.createStream({ id: 'assign', url: 'http://example.test/as' })
    clock.ms = T0 + 1000
    assert.equal(await assignSingle(repo, 'assign', 'edge-1'), 1)
    let stream = await repo.getStream('assign')
    assert.is(stream?.agent_id, 'edge-1')
    assert.is(stream?.epoch, 1)
    assert.is(stream?.assigned_at, new Date(T0 + 1000).toISOString())
    assert.equal(stream?.assignments.map((entry) => [entry.agent_id, entry.epoch, entry.slot, entry.reason]), [['edge-1', 1, '', 'test']])
    assert.is(stream?.updated_at, new Date(T0).toISOString(), 'assignment is not a settings change')

    clock.ms = T0 + 2000
    assert.equal(await assignSingle(repo, 'assign', 'edge-2'), 2)
    stream = await repo.getStream('assign')
    assert.is(stream?.agent_id, 'edge-2')
    assert.is(stream?.assigned_at, new Date(T0 + 2000).toISOString())

    assert.equal(await assignSingle(repo, 'assign', null), 3)
    stream = await repo.getStream('assign')
    assert.is(stream?.agent_id, null)
    assert.is(stream?.assigned_at, null)
    assert.equal(stream?.assignments, [])
    assert.is(stream?.epoch, 3)
    clock.ms = T0
  })

  test('changeAssignments skips a missing stream', async ({ repo }) => {
    const results = await repo.changeAssignments([{ streamId: 'missing', remove: [], add: [{ slot: '', agentId: 'edge-1', reason: 'test' }] }])
    assert.equal(results, [{ streamId: 'missing', epoch: undefined }])
    assert.is((await repo.listAgentAssignments('edge-1')).some((entry) => entry.stream_id === 'missing'), false)
  })

  test('concurrent changeAssignments calls each get their own epoch', async ({ repo }) => {
    await repo.createStream({ id: 'race', url: 'http://example.test/r' })
    const change = (i: number) => ({ streamId: 'race', remove: [], add: [{ slot: `slot-${i}`, agentId: `edge-${i}`, reason: 'test' }] })
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => repo.changeAssignments([change(i)])))
    const epochs = results.map(([result]) => result?.epoch ?? 0)
    assert.equal([...epochs].sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 1))
    const stream = await repo.getStream('race')
    assert.is(stream?.epoch, 12)
    assert.equal(
      [...(stream?.assignments ?? [])].map((entry) => entry.epoch).sort((a, b) => a - b),
      Array.from({ length: 12 }, (_, i) => i + 1),
    )
  })

  test('changeAssignments keeps one epoch per assignment across slots', async ({ repo }) => {
    await repo.createStream({ id: 'multi', url: 'http://example.test/m', vantage: { count: 2, label: 'region' } })
    const [first] = await repo.changeAssignments([
      {
        streamId: 'multi',
        remove: [],
        add: [
          { slot: 'eu', agentId: 'edge-eu', reason: 'placed on least-loaded agent with region=eu' },
          { slot: 'us', agentId: 'edge-us', reason: 'placed on least-loaded agent with region=us' },
        ],
      },
    ])
    assert.is(first?.epoch, 1)
    const [moved] = await repo.changeAssignments([
      { streamId: 'multi', remove: ['us'], add: [{ slot: 'us', agentId: 'edge-us-2', reason: 'moved: agent drained' }] },
    ])
    assert.is(moved?.epoch, 2)
    const stream = await repo.getStream('multi')
    assert.equal(
      stream?.assignments.map((entry) => [entry.slot, entry.agent_id, entry.epoch, entry.reason]),
      [
        ['eu', 'edge-eu', 1, 'placed on least-loaded agent with region=eu'],
        ['us', 'edge-us-2', 2, 'moved: agent drained'],
      ],
    )
    assert.is(stream?.agent_id, 'edge-eu', 'agent_id is the first slot')
  })

  test('changeAssignments applies many streams in chunks', async ({ repo }) => {
    const ids = Array.from({ length: 120 }, (_, i) => `bulk-${String(i).padStart(3, '0')}`)
    // Inserted in one statement: one createStream per stream would make this test slow on MariaDB.
    const row = { url: 'http://example.test/b', desired_state: 'up', labels: '{}', epoch: 0, created_at: T0, updated_at: T0 }
    await repo.knex('streams').insert(ids.map((id) => ({ ...row, id })))
    const results = await repo.changeAssignments(ids.map((id) => ({ streamId: id, remove: [], add: [{ slot: '', agentId: 'edge-bulk', reason: 'test' }] })))
    assert.is(results.length, 120)
    assert.ok(results.every((result) => result.epoch === 1))
    const listed = await repo.listAgentAssignments('edge-bulk')
    assert.equal(listed.map((entry) => entry.stream_id), ids)
    await repo.changeAssignments(ids.map((id) => ({ streamId: id, remove: [''], add: [] })))
    assert.equal(await repo.listAgentAssignments('edge-bulk'), [])
    await repo.knex('streams').whereIn('id', ids).delete()
  })

  test('status cleared without assignments, kept across a move', async ({ repo }) => {
    await repo.createStream({ id: 'paused', url: 'http://example.test/p' })
    const first = await assignSingle(repo, 'paused', 'edge-1')
    assert.is(await repo.recordStatus('paused', 'down', 'timed out', T0 + 1000, { epoch: first, agentId: 'edge-1' }), true)

    // Moved to another agent: the last status stays until the new one reports.
    await assignSingle(repo, 'paused', 'edge-2')
    assert.is((await repo.getStream('paused'))?.status, 'down')

    // Stopped: no assignment is left, and neither is the status.
    await assignSingle(repo, 'paused', null)
    const stopped = await repo.getStream('paused')
    assert.is(stopped?.status, null)
    assert.is(stopped?.status_reason, null)
    assert.is(stopped?.status_at, null)

    // Running again: no status until the agent reports one.
    await assignSingle(repo, 'paused', 'edge-1')
    assert.is((await repo.getStream('paused'))?.status, null)
  })

  test('recordStatus and recordProbe store runtime state, fenced by epoch', async ({ repo }) => {
    await repo.createStream({ id: 'stat', url: 'http://example.test/s' })
    const epoch = await assignSingle(repo, 'stat', 'edge-1')
    assert.is(await repo.recordStatus('stat', 'degraded', 'low bitrate', new Date(T0 + 5123)), true)
    assert.is(await repo.recordProbe('stat', T0 + 6456), true)
    let stream = await repo.getStream('stat')
    assert.is(stream?.status, 'degraded')
    assert.is(stream?.status_reason, 'low bitrate')
    assert.is(stream?.status_at, '2024-01-02T03:04:10.801Z')
    assert.is(stream?.last_probe_at, '2024-01-02T03:04:12.134Z')
    assert.is(stream?.updated_at, new Date(T0).toISOString())

    assert.is(await repo.recordStatus('stat', 'down', 'stale agent', T0 + 7000, { epoch: epoch - 1 }), false)
    assert.is(await repo.recordProbe('stat', T0 + 7000, { epoch: epoch + 1 }), false)
    assert.is(await repo.recordStatus('stat', 'up', '', T0 + 8000, { epoch, agentId: 'edge-other' }), false, 'another agent')
    assert.is(await repo.recordStatus('stat', 'up', '', T0 + 8000, { epoch, agentId: 'edge-1' }), true)
    stream = await repo.getStream('stat')
    assert.is(stream?.status, 'up')
    assert.is(stream?.status_reason, '')
    assert.is(stream?.status_at, new Date(T0 + 8000).toISOString())
    assert.is(stream?.last_probe_at, '2024-01-02T03:04:12.134Z')
    assert.is(stream?.assignments[0]?.status, 'up')
    assert.is(stream?.assignments[0]?.status_at, new Date(T0 + 8000).toISOString())

    assert.is(await repo.recordProbe('stat', T0 + 9000, { epoch, agentId: 'edge-1' }), true)
    assert.is((await repo.getStream('stat'))?.assignments[0]?.last_probe_at, new Date(T0 + 9000).toISOString())

    assert.is(await repo.recordStatus('nope', 'up', '', T0), false)
    assert.is(await repo.recordStatus('nope', 'up', '', T0, { epoch: 1 }), false)
    assert.is(await repo.recordProbe('nope', T0), false)
  })

  test('recordStatus combines the statuses of vantage points', async ({ repo }) => {
    await repo.createStream({ id: 'vp', url: 'http://example.test/vp', vantage: { count: 3, label: 'region' } })
    const add = (slot: string) => ({ slot, agentId: `edge-${slot}`, reason: 'test' })
    const [result] = await repo.changeAssignments([{ streamId: 'vp', remove: [], add: [add('ap-south'), add('eu-west'), add('us-east')] }])
    const epoch = result!.epoch!
    const report = (slot: string, status: 'up' | 'down', reason = '') =>
      repo.recordStatus('vp', status, reason, T0, { epoch, agentId: `edge-${slot}` })

    assert.ok(await report('eu-west', 'up'))
    assert.ok(await report('us-east', 'up'))
    assert.ok(await report('ap-south', 'down', 'timed out'))
    let stream = await repo.getStream('vp')
    assert.is(stream?.status, 'degraded')
    assert.is(stream?.status_reason, 'down from region=ap-south only')
    assert.equal(stream?.assignments.map((entry) => entry.status), ['down', 'up', 'up'])

    assert.ok(await report('ap-south', 'up'))
    assert.is((await repo.getStream('vp'))?.status, 'up')

    for (const slot of ['ap-south', 'eu-west', 'us-east']) assert.ok(await report(slot, 'down', 'timed out'))
    stream = await repo.getStream('vp')
    assert.is(stream?.status, 'down')
    assert.match(stream?.status_reason ?? '', /^down from every vantage point/)

    await repo.changeAssignments([{ streamId: 'vp', remove: ['ap-south', 'eu-west'], add: [] }])
    assert.ok(await report('us-east', 'up'))
    assert.is((await repo.getStream('vp'))?.status, 'up')
  })

  test('scheduling fields round trip and update', async ({ repo }) => {
    const created = await repo.createStream({
      id: 'sched',
      url: 'http://example.test/sched',
      required_labels: { region: 'eu-west', network: 'isp-a' },
      weight: 5,
      pinned_agent_id: 'edge-pin',
    })
    assert.equal(created.required_labels, { region: 'eu-west', network: 'isp-a' })
    assert.is(created.weight, 5)
    assert.is(created.pinned_agent_id, 'edge-pin')
    assert.is(created.vantage, null)

    const updated = await repo.updateStream('sched', { pinned_agent_id: null, vantage: { count: 2, label: 'region' }, required_labels: {} })
    assert.is(updated.pinned_agent_id, null)
    assert.equal(updated.vantage, { count: 2, label: 'region' })
    assert.equal(updated.required_labels, {})
    assert.is(updated.weight, 5)
    assert.equal(await repo.getStream('sched'), updated)
    assert.equal((await repo.updateStream('sched', { vantage: null })).vantage, null)
  })

  test('deleteStream removes its assignments', async ({ repo }) => {
    await repo.createStream({ id: 'del-assigned', url: 'http://example.test/d' })
    await assignSingle(repo, 'del-assigned', 'edge-del')
    assert.is((await repo.listAgentAssignments('edge-del')).length, 1)
    assert.ok(await repo.deleteStream('del-assigned'))
    assert.equal(await repo.listAgentAssignments('edge-del'), [])
  })

  test('setAgentDraining flags an agent and survives hello', async ({ repo }) => {
    const hello = { id: 'edge-drain', name: 'd', version: '1', protocol: 1, labels: {}, capacity: 5 }
    await repo.upsertAgentOnHello(hello, T0)
    assert.is((await repo.getAgent('edge-drain'))?.draining, false)
    assert.is(await repo.setAgentDraining('edge-drain', true), true)
    await repo.upsertAgentOnHello(hello, T0 + 1000)
    assert.is((await repo.getAgent('edge-drain'))?.draining, true)
    assert.is(await repo.setAgentDraining('edge-drain', false), true)
    assert.is((await repo.getAgent('edge-drain'))?.draining, false)
    assert.is(await repo.setAgentDraining('unknown', true), false)
  })

  test('listAgentAssignments adds the stream weight', async ({ repo }) => {
    await repo.createStream({ id: 'weighted', url: 'http://example.test/w', weight: 3 })
    await assignSingle(repo, 'weighted', 'edge-w')
    const [entry] = await repo.listAgentAssignments('edge-w')
    assert.is(entry?.stream_id, 'weighted')
    assert.is(entry?.weight, 3)
    assert.is(entry?.epoch, 1)
  })

  test('deleteAgent keeps connected and assigned agents', async ({ repo }) => {
    const hello = { id: 'edge-delete', name: 'd', version: '1', protocol: 1, labels: {}, capacity: 5 }
    assert.is(await repo.deleteAgent('edge-delete'), 'not_found')
    await repo.upsertAgentOnHello(hello, T0)
    assert.is(await repo.deleteAgent('edge-delete'), 'connected')

    await repo.markAgentDisconnected('edge-delete', T0 + 1000)
    await repo.createStream({ id: 'on-deleted-agent', url: 'http://example.test/d' })
    await assignSingle(repo, 'on-deleted-agent', 'edge-delete')
    assert.is(await repo.deleteAgent('edge-delete'), 'assigned')

    await assignSingle(repo, 'on-deleted-agent', null)
    assert.is(await repo.deleteAgent('edge-delete'), 'deleted')
    assert.is(await repo.getAgent('edge-delete'), undefined)
  })

  test('upsertAgentOnHello creates, then refreshes, a connected agent', async ({ repo }) => {
    const hello = { id: 'edge-a', name: 'edge A', version: '0.1.0', protocol: 1, labels: { region: 'eu' }, capacity: 10, remoteAddress: '10.0.0.7' }
    const first = await repo.upsertAgentOnHello(hello, T0)
    const iso = new Date(T0).toISOString()
    assert.equal(first, {
      id: 'edge-a',
      name: 'edge A',
      version: '0.1.0',
      protocol: 1,
      labels: { region: 'eu' },
      capacity: 10,
      connected: true,
      draining: false,
      connected_at: iso,
      last_seen_at: iso,
      disconnected_at: null,
      remote_address: '10.0.0.7',
      created_at: iso,
      updated_at: iso,
    })
    assert.equal(await repo.getAgent('edge-a'), first)

    assert.is(await repo.markAgentDisconnected('edge-a', T0 + 1000), true)
    const down = await repo.getAgent('edge-a')
    assert.is(down?.connected, false)
    assert.is(down?.disconnected_at, new Date(T0 + 1000).toISOString())

    const again = await repo.upsertAgentOnHello({ ...hello, name: 'edge A2', version: '0.2.0', labels: { region: 'us' }, capacity: 20, remoteAddress: null }, T0 + 2000)
    assert.is(again.connected, true)
    assert.is(again.name, 'edge A2')
    assert.is(again.version, '0.2.0')
    assert.equal(again.labels, { region: 'us' })
    assert.is(again.capacity, 20)
    assert.is(again.remote_address, null)
    assert.is(again.disconnected_at, null)
    assert.is(again.connected_at, new Date(T0 + 2000).toISOString())
    assert.is(again.created_at, iso)
    assert.is(again.updated_at, new Date(T0 + 2000).toISOString())
  })

  test('touchAgent updates last_seen_at; unknown agents report false', async ({ repo }) => {
    await repo.upsertAgentOnHello({ id: 'edge-t', name: 't', version: '1', protocol: 1, labels: {}, capacity: 1 }, T0)
    assert.is(await repo.touchAgent('edge-t', T0 + 30_000), true)
    assert.is(await repo.touchAgent('edge-t', T0 + 30_000), true, 'same value still finds the row')
    assert.is((await repo.getAgent('edge-t'))?.last_seen_at, new Date(T0 + 30_000).toISOString())
    assert.is(await repo.touchAgent('unknown', T0), false)
    assert.is(await repo.markAgentDisconnected('unknown', T0), false)
    assert.is(await repo.getAgent('unknown'), undefined)
  })

  test('markAllAgentsDisconnected disconnects every connected agent', async ({ repo }) => {
    await repo.upsertAgentOnHello({ id: 'edge-m1', name: 'm1', version: '1', protocol: 1, labels: {}, capacity: 1 }, T0)
    await repo.upsertAgentOnHello({ id: 'edge-m2', name: 'm2', version: '1', protocol: 1, labels: {}, capacity: 1 }, T0)
    const connected = (await repo.listAgents()).filter((agent) => agent.connected).length
    assert.ok(connected >= 2)
    assert.is(await repo.markAllAgentsDisconnected(T0 + 9000), connected)
    const agents = await repo.listAgents()
    assert.equal(agents.map((agent) => agent.id), [...agents.map((agent) => agent.id)].sort())
    for (const agent of agents) {
      assert.is(agent.connected, false)
      assert.is(typeof agent.connected, 'boolean')
    }
    assert.is((await repo.getAgent('edge-m1'))?.disconnected_at, new Date(T0 + 9000).toISOString())
    assert.is(await repo.markAllAgentsDisconnected(), 0)
  })

  test('agent tokens: create, verify, list, revoke', async ({ repo, clock }) => {
    const created = await repo.createAgentToken('edge host 1')
    assert.match(created.token, /^mnt_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/)
    assert.ok(created.token.startsWith(`mnt_${created.id}_`))
    assert.is(created.name, 'edge host 1')
    const secret = created.token.slice(`mnt_${created.id}_`.length)

    // Only the SHA-256 of the secret is stored.
    const row = await repo.knex('agent_tokens').where({ id: created.id }).first()
    assert.is(row.token_hash, createHash('sha256').update(secret).digest('hex'))
    assert.not.ok(JSON.stringify(row).includes(secret))

    clock.ms = T0 + 4000
    const verified = await repo.verifyAgentToken(created.token)
    assert.is(verified?.id, created.id)
    assert.is(verified?.last_used_at, new Date(T0 + 4000).toISOString())
    assert.is(verified?.revoked_at, null)
    clock.ms = T0

    const flipped = created.token.slice(0, -1) + (created.token.endsWith('A') ? 'B' : 'A')
    assert.is(await repo.verifyAgentToken(flipped), undefined, 'wrong secret')
    const other = await repo.createAgentToken('edge host 2')
    assert.is(await repo.verifyAgentToken(`mnt_${created.id}_${other.token.slice(`mnt_${other.id}_`.length)}`), undefined, 'secret of another token')
    assert.is(await repo.verifyAgentToken('mnt_000000000000_' + secret), undefined, 'unknown id')
    assert.is(await repo.verifyAgentToken(secret), undefined, 'bare secret')
    assert.is(await repo.verifyAgentToken(''), undefined, 'empty')

    const listed = await repo.listAgentTokens()
    const entry = listed.find((token) => token.id === created.id)
    assert.equal(entry, {
      id: created.id,
      name: 'edge host 1',
      created_at: new Date(T0).toISOString(),
      last_used_at: new Date(T0 + 4000).toISOString(),
      revoked_at: null,
    })
    for (const token of listed) {
      assert.equal(Object.keys(token).sort(), ['created_at', 'id', 'last_used_at', 'name', 'revoked_at'])
    }

    assert.is(await repo.revokeAgentToken(created.id, T0 + 5000), true)
    assert.is(await repo.verifyAgentToken(created.token), undefined, 'revoked token')
    assert.is(await repo.revokeAgentToken(created.id, T0 + 6000), true)
    assert.is((await repo.listAgentTokens()).find((token) => token.id === created.id)?.revoked_at, new Date(T0 + 5000).toISOString())
    assert.is(await repo.revokeAgentToken('000000000000'), false)
    assert.ok(await repo.verifyAgentToken(other.token), 'other tokens still verify')
  })

  test.run()
}

/**
 * Migrates an empty database to 0002_users, stores a stream assigned the
 * old way (streams.agent_id), then checks that 0003_scheduling moves the
 * assignment into its own table, and that its down step moves it back.
 */
function defineMigrationSuite(name: string, backend: TestDatabase): void {
  const test = suite<{ url: string; setupError?: Error }>(`${name} scheduling migration`, { url: '' })
  const before = { migrationSource: migrationSourceOf(migrations.slice(0, 2)) }

  test.before(async (state) => {
    try {
      state.url = await backend.setup()
    } catch (err) {
      state.setupError = err as Error
    }
  })
  test.before.each((state) => {
    if (state.setupError) throw state.setupError
  })
  test.after(async () => {
    await backend.teardown()
  })

  test('0003_scheduling carries assignments over and back', async ({ url }) => {
    const knex = knexFactory(knexConfig(parseDatabaseUrl(url)))
    try {
      await knex.migrate.latest(before)
      const stream = { url: 'http://example.test/old', desired_state: 'up', labels: '{}', created_at: T0, updated_at: T0 }
      await knex('streams').insert([
        { ...stream, id: 'old-assigned', agent_id: 'edge-old', epoch: 7, assigned_at: T0 + 1, status: 'up', status_reason: 'ok', status_at: T0 + 2 },
        { ...stream, id: 'old-free', agent_id: null, epoch: 2 },
      ])
      await knex('agents').insert({ id: 'edge-old', labels: '{}', connected: false, created_at: T0, updated_at: T0 })
    } finally {
      await knex.destroy()
    }

    const repo = await openRepository(url, memoryLogger())
    try {
      const assigned = await repo.getStream('old-assigned')
      assert.is(assigned?.agent_id, 'edge-old')
      assert.is(assigned?.epoch, 7)
      assert.equal(assigned?.assignments, [
        {
          agent_id: 'edge-old',
          epoch: 7,
          slot: '',
          reason: 'assigned before fleet scheduling',
          assigned_at: new Date(T0 + 1).toISOString(),
          status: 'up',
          status_reason: 'ok',
          status_at: new Date(T0 + 2).toISOString(),
          last_probe_at: null,
        },
      ])
      assert.equal(assigned?.required_labels, {})
      assert.is(assigned?.weight, 1)
      assert.is(assigned?.vantage, null)
      assert.equal((await repo.getStream('old-free'))?.assignments, [])
      assert.is((await repo.getAgent('edge-old'))?.draining, false)

      // Rolls back the batch that openRepository ran: 0003_scheduling and any later migration.
      await repo.knex.migrate.rollback({ migrationSource: migrationSourceOf(migrations) })
      const row = await repo.knex('streams').where('id', 'old-assigned').first()
      assert.is(row.agent_id, 'edge-old')
      assert.is(Number(row.assigned_at), T0 + 1)
      assert.not.ok(await repo.knex.schema.hasTable('assignments'))

      await repo.knex.migrate.latest({ migrationSource: migrationSourceOf(migrations) })
      assert.is((await repo.getStream('old-assigned'))?.assignments[0]?.agent_id, 'edge-old')
    } finally {
      await repo.close()
    }
  })

  test.run()
}

function migrationSourceOf(list: typeof migrations): Knex.MigrationSource<(typeof migrations)[number]> {
  return {
    getMigrations: async () => [...list],
    getMigrationName: (migration) => migration.name,
    getMigration: async (migration) => migration,
  }
}

defineSuite('sqlite', sqliteDatabase('monit-repository-', 'nested/settings.db'))
defineSuite('mariadb', mariadbDatabase())
defineMigrationSuite('sqlite', sqliteDatabase('monit-repository-', 'nested/settings.db'))
defineMigrationSuite('mariadb', mariadbDatabase())
