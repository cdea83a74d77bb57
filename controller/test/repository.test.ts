// The settings repository against both databases it supports: SQLite in a
// temporary file, and MariaDB in a throwaway database `monit_test_<random>`
// (MONIT_TEST_MYSQL_URL, default mysql://root@127.0.0.1:3306; CI starts it).
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import knexFactory, { type Knex } from 'knex'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  DuplicateStreamError,
  openRepository,
  RepositoryError,
  StreamNotFoundError,
  type Repository,
  type RepositoryLogger,
} from '../src/repository/index.ts'

interface LogLine {
  obj: Record<string, unknown>
  msg: string | undefined
}

function memoryLogger(): RepositoryLogger & { lines: LogLine[] } {
  const lines: LogLine[] = []
  return { lines, info: (obj, msg) => void lines.push({ obj: obj as Record<string, unknown>, msg }) }
}

interface Backend {
  /** Makes an empty database and returns its URL. */
  setup(): Promise<string>
  teardown(): Promise<void>
}

function sqliteBackend(): Backend {
  let dir: string | undefined
  return {
    async setup() {
      dir = mkdtempSync(join(tmpdir(), 'monit-repository-'))
      return `sqlite:${join(dir, 'nested', 'settings.db')}`
    },
    async teardown() {
      if (dir) rmSync(dir, { recursive: true, force: true })
    },
  }
}

function mariadbBackend(): Backend {
  const base = new URL(process.env.MONIT_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306')
  const database = `monit_test_${randomBytes(6).toString('hex')}`
  const admin: Knex = knexFactory({
    client: 'mysql2',
    connection: {
      host: base.hostname,
      port: Number(base.port || 3306),
      user: decodeURIComponent(base.username),
      password: decodeURIComponent(base.password),
      connectTimeout: 5000,
    },
    pool: { min: 0, max: 1 },
  })
  return {
    async setup() {
      try {
        await admin.raw('create database ?? character set utf8mb4 collate utf8mb4_bin', [database])
      } catch (err) {
        throw new Error(
          `MariaDB is not reachable at ${base.hostname}:${base.port || 3306} as user "${decodeURIComponent(base.username)}" ` +
            `(${(err as Error).message}). Start MariaDB (CI does) or set MONIT_TEST_MYSQL_URL=mysql://user:pass@host:port.`,
        )
      }
      const url = new URL(base.href)
      url.pathname = `/${database}`
      return url.href
    },
    async teardown() {
      await admin.raw('drop database if exists ??', [database]).catch(() => undefined)
      await admin.destroy()
    },
  }
}

interface State {
  url: string
  repo: Repository
  logger: ReturnType<typeof memoryLogger>
  clock: { ms: number }
  setupError?: Error
}

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678)

function defineSuite(name: string, backend: Backend): void {
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
    assert.equal(ran.obj.migrations, ['0001_initial', '0002_users'])
    assert.match(ran.msg ?? '', /ran 2 settings migration/)
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
      assert.equal(recorded.map((row: { name: string }) => row.name), ['0001_initial', '0002_users'])
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
      agent_id: null,
      epoch: 0,
      assigned_at: null,
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
      () => repo.assignStream('missing', 'edge-1'),
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

  test('assignStream sets the agent and increments epoch', async ({ repo, clock }) => {
    await repo.createStream({ id: 'assign', url: 'http://example.test/as' })
    clock.ms = T0 + 1000
    assert.is(await repo.assignStream('assign', 'edge-1'), 1)
    let stream = await repo.getStream('assign')
    assert.is(stream?.agent_id, 'edge-1')
    assert.is(stream?.epoch, 1)
    assert.is(stream?.assigned_at, new Date(T0 + 1000).toISOString())
    assert.is(stream?.updated_at, new Date(T0).toISOString(), 'assignment is not a settings change')

    assert.is(await repo.assignStream('assign', 'edge-2', new Date(T0 + 2000)), 2)
    stream = await repo.getStream('assign')
    assert.is(stream?.agent_id, 'edge-2')
    assert.is(stream?.assigned_at, new Date(T0 + 2000).toISOString())

    assert.is(await repo.assignStream('assign', null), 3)
    stream = await repo.getStream('assign')
    assert.is(stream?.agent_id, null)
    assert.is(stream?.assigned_at, null)
    assert.is(stream?.epoch, 3)
    clock.ms = T0
  })

  test('concurrent assignStream calls each get their own epoch', async ({ repo }) => {
    await repo.createStream({ id: 'race', url: 'http://example.test/r' })
    const epochs = await Promise.all(Array.from({ length: 12 }, (_, i) => repo.assignStream('race', `edge-${i}`)))
    assert.equal([...epochs].sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 1))
    assert.is((await repo.getStream('race'))?.epoch, 12)
  })

  test('recordStatus and recordProbe store runtime state, fenced by epoch', async ({ repo }) => {
    await repo.createStream({ id: 'stat', url: 'http://example.test/s' })
    const epoch = await repo.assignStream('stat', 'edge-1')
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
    assert.is(await repo.recordStatus('stat', 'up', '', T0 + 8000, { epoch }), true)
    stream = await repo.getStream('stat')
    assert.is(stream?.status, 'up')
    assert.is(stream?.status_reason, '')
    assert.is(stream?.last_probe_at, '2024-01-02T03:04:12.134Z')

    assert.is(await repo.recordStatus('nope', 'up', '', T0), false)
    assert.is(await repo.recordProbe('nope', T0), false)
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

defineSuite('sqlite', sqliteBackend())
defineSuite('mariadb', mariadbBackend())
