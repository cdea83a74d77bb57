// The disk-backed outbox on a real folder. A second Outbox on the same
// folder, without close() on the first, stands for a restart after a crash;
// test/e2e/agent-spool.test.ts kills a real agent process.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import type { Metrics, MetricsRow, Status } from '@monit/protocol'
import { Outbox, type OutboxOptions } from '../src/spool/outbox.ts'
import { loadAgentConfig } from '../src/config.ts'

const root = mkdtempSync(join(tmpdir(), 'monit-spool-test-'))
let folders = 0
const outboxes: Outbox[] = []

/** A fake connection: records what is sent while `online`, refuses otherwise. */
class Link {
  online = false
  sent: Array<Metrics | Status> = []

  send = (message: Metrics | Status): boolean => {
    if (!this.online) return false
    this.sent.push(message)
    return true
  }

  get batches(): Metrics[] {
    return this.sent.filter((message): message is Metrics => message.type === 'metrics')
  }

  get statuses(): Status[] {
    return this.sent.filter((message): message is Status => message.type === 'status')
  }
}

function capture() {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) })
  return { logger, lines }
}

function newFolder(): string {
  return join(root, `spool-${++folders}`)
}

function open(dir: string, link: Link, options: Partial<OutboxOptions> = {}): Outbox {
  const outbox = new Outbox({ dir, send: link.send, logger: pino({ level: 'silent' }), maxRows: 2, flushMs: 60_000, ...options })
  outboxes.push(outbox)
  return outbox
}

let probes = 0
function row(stream = 'cam-1'): MetricsRow {
  probes += 1
  return {
    stream_id: stream,
    epoch: 1,
    ts_ms: 1_700_000_000_000 + probes,
    bitrate: 2_000_000,
    frames: 125,
    width: 1280,
    height: 720,
    fps: 25,
    bytes: 1_250_000,
    seconds: 5,
    keyframe_interval: 50,
    codecs: 'h264,aac',
    probe_duration_ms: 5100,
  }
}

function status(stream: string, value: Status['status'], ts: number): Status {
  return { type: 'status', stream_id: stream, epoch: 1, status: value, reason: value === 'up' ? '' : 'timed out', ts_ms: ts }
}

const batchFiles = (dir: string) => readdirSync(dir).filter((name) => /^\d{16}-\d+-.*\.json$/.test(name))

test.after(() => {
  for (const outbox of outboxes) outbox.close()
  rmSync(root, { recursive: true, force: true })
})

test('a batch is on disk before it is sent and deleted on ack', () => {
  const dir = newFolder()
  const link = new Link()
  link.online = true
  const filesAtSend: string[][] = []
  const outbox = open(dir, link, {
    send: (message) => {
      filesAtSend.push(batchFiles(dir))
      return link.send(message)
    },
  })

  outbox.add(row())
  outbox.add(row())
  assert.is(link.batches.length, 1)
  const batch = link.batches[0]!
  assert.is(batch.rows.length, 2)
  assert.is(filesAtSend[0]!.length, 1)
  assert.match(filesAtSend[0]![0]!, new RegExp(`-2-${batch.batch_id}\\.json$`))

  outbox.acknowledge(batch.batch_id)
  assert.equal(batchFiles(dir), [])
  assert.is(outbox.pendingBatches, 0)
  assert.is(outbox.stats.bytes, 0)
})

test('a restart resends unacknowledged batches oldest first with their ids', () => {
  const dir = newFolder()
  const before = new Link()
  const first = open(dir, before)
  for (let i = 0; i < 6; i++) first.add(row())
  first.add(row())
  // The first outbox "crashes": no close(), one row still in the open batch.
  assert.is(first.pendingBatches, 3)
  const sealedIds = [...readdirSync(dir)].filter((name) => name.endsWith('.json')).sort().map((name) => name.split('-').slice(2).join('-'))

  const after = new Link()
  after.online = true
  const second = open(dir, after)
  assert.is(second.pendingBatches, 4, 'three sealed batches and the recovered open one')
  second.pump()
  assert.equal(after.batches.slice(0, 3).map((batch) => `${batch.batch_id}.json`), sealedIds)
  assert.is(after.batches.length, 4)
  assert.is(after.batches[3]!.rows.length, 1)
  // The process before may have sent the sealed batches; the one sealed from the journal it had not.
  assert.equal(after.batches.map((batch) => batch.resent === true), [true, true, true, false])
  assert.equal(after.batches.flatMap((batch) => batch.rows.map((r) => r.ts_ms)), [...Array(7).keys()].map((i) => after.batches[0]!.rows[0]!.ts_ms + i))

  for (const batch of after.batches) second.acknowledge(batch.batch_id)
  assert.equal(readdirSync(dir), [])
})

test('a batch sent again is marked resent', () => {
  const dir = newFolder()
  const link = new Link()
  link.online = true
  const outbox = open(dir, link)
  outbox.add(row())
  outbox.add(row())
  outbox.connectionLost()
  outbox.pump()
  assert.equal(link.batches.map((batch) => batch.resent), [undefined, true])
  assert.is(link.batches[0]!.batch_id, link.batches[1]!.batch_id)
})

test('a batch sealed before the crash is not recovered twice from its journal', () => {
  const dir = newFolder()
  const first = open(dir, new Link())
  first.add(row())
  first.add(row())
  const [sealed] = batchFiles(dir)
  const batchId = sealed!.split('-').slice(2).join('-').replace(/\.json$/, '')
  // As if the process died between sealing the batch and deleting its journal.
  writeFileSync(join(dir, `open-${batchId}.jsonl`), JSON.stringify(row()) + '\n')

  const second = open(dir, new Link())
  assert.is(second.pendingBatches, 1)
  assert.not.ok(existsSync(join(dir, `open-${batchId}.jsonl`)))
})

test('a full spool drops the oldest batch and counts it', () => {
  const dir = newFolder()
  const { logger, lines } = capture()
  const link = new Link()
  const outbox = open(dir, link, { maxBatches: 3, logger })
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    outbox.add(row())
    outbox.add(row())
    ids.push(batchFiles(dir).sort().at(-1)!)
  }

  assert.is(outbox.pendingBatches, 3)
  assert.is(outbox.dropped, 2)
  assert.is(outbox.droppedRows, 4)
  assert.equal(batchFiles(dir).sort(), ids.slice(2))
  const warnings = lines.filter((line) => line.msg === 'spool full; dropped the oldest batch')
  assert.is(warnings.length, 2)
  assert.ok(ids[0]!.includes(warnings[0]!.batch_id as string), 'the oldest batch is named')
  assert.is(warnings[1]!.dropped_total, 2)

  link.online = true
  outbox.pump()
  assert.is(link.batches.length, 3)
})

test('the byte limit drops the oldest batches too', () => {
  const dir = newFolder()
  const outbox = open(dir, new Link(), { maxBytes: 1500 })
  for (let i = 0; i < 6; i++) outbox.add(row())
  assert.ok(outbox.stats.bytes <= 1500, `spool holds ${outbox.stats.bytes} bytes`)
  assert.ok(outbox.dropped > 0)
  assert.is(outbox.pendingBatches + outbox.dropped, 3)
})

test('corrupt or partial files are skipped with a warning', () => {
  const dir = newFolder()
  const first = open(dir, new Link())
  for (let i = 0; i < 4; i++) first.add(row())
  const [older] = batchFiles(dir).sort()
  writeFileSync(join(dir, older!), '{"type":"metrics","batch_id":"cut sh')
  writeFileSync(join(dir, '0000000000000099-3-not-json-at-all.json'), 'garbage')
  writeFileSync(join(dir, '0000000000000100-1-aaaaaaaa.json.tmp'), '{"type"')
  writeFileSync(join(dir, 'statuses.json'), '[{"type":"status"')

  const { logger, lines } = capture()
  const link = new Link()
  link.online = true
  const second = open(dir, link, { logger })
  second.pump()

  assert.is(link.batches.length, 1, 'the intact batch is sent')
  assert.is(second.corrupt, 3)
  assert.is(lines.filter((line) => line.msg === 'spool file is corrupt; skipped').length, 3)
  assert.ok(existsSync(join(dir, `${older}.corrupt`)))
  assert.not.ok(readdirSync(dir).some((name) => name.endsWith('.tmp')), 'unfinished write deleted')
})

test('unsent statuses survive a restart, the latest per stream', () => {
  const dir = newFolder()
  const first = open(dir, new Link())
  first.addStatus(status('cam-1', 'up', 1))
  first.addStatus(status('cam-1', 'down', 2))
  first.addStatus(status('cam-2', 'degraded', 3))
  assert.ok(existsSync(join(dir, 'statuses.json')))

  const link = new Link()
  link.online = true
  const second = open(dir, link)
  second.pump()
  assert.equal(link.statuses.map((s) => [s.stream_id, s.status]), [['cam-1', 'down'], ['cam-2', 'degraded']])
  assert.not.ok(existsSync(join(dir, 'statuses.json')))

  second.addStatus(status('cam-1', 'up', 4))
  assert.is(link.statuses.length, 3, 'sent at once while connected')
  assert.not.ok(existsSync(join(dir, 'statuses.json')), 'no file for a status sent at once')
})

test('a status waits for its ack where the controller sends acks', () => {
  const dir = newFolder()
  const link = new Link()
  link.online = true
  const first = open(dir, link)
  first.setStatusAcks(true)
  first.addStatus(status('cam-1', 'down', 1))
  assert.is(link.statuses.length, 1)
  const sent = link.statuses[0]!
  assert.type(sent.status_id, 'string')
  assert.is(sent.resent, undefined)
  assert.ok(existsSync(join(dir, 'statuses.json')), 'kept on disk until acknowledged')
  assert.is(first.stats.unsentStatuses, 1)

  // The connection drops before the ack: the status goes again, marked resent, under the same id.
  first.connectionLost()
  first.pump()
  assert.is(link.statuses.length, 2)
  assert.is(link.statuses[1]!.status_id, sent.status_id)
  assert.is(link.statuses[1]!.resent, true)

  // A restart before the ack sends it again too.
  const after = new Link()
  after.online = true
  const second = open(dir, after)
  second.setStatusAcks(true)
  second.pump()
  assert.equal(after.statuses.map((s) => [s.status_id, s.resent, s.status]), [[sent.status_id, true, 'down']])

  second.acknowledge(sent.status_id!)
  assert.is(second.stats.unsentStatuses, 0)
  assert.not.ok(existsSync(join(dir, 'statuses.json')))
  second.connectionLost()
  second.pump()
  assert.is(after.statuses.length, 1, 'nothing is sent again after the ack')
})

test('a journal line cut short is skipped and the whole rows kept', () => {
  const dir = newFolder()
  const first = open(dir, new Link(), { maxRows: 100 })
  first.add(row())
  first.add(row())
  const [journal] = readdirSync(dir).filter((name) => name.startsWith('open-'))
  writeFileSync(join(dir, journal!), '{"stream_id":"cam-1","ep', { flag: 'a' })

  const link = new Link()
  link.online = true
  const second = open(dir, link)
  second.pump()
  assert.is(link.batches.length, 1)
  assert.is(link.batches[0]!.rows.length, 2)
  assert.is(link.batches[0]!.batch_id, journal!.slice('open-'.length, -'.jsonl'.length))
})

test('a long backlog goes out at most maxInFlight batches at a time', () => {
  const dir = newFolder()
  const link = new Link()
  const outbox = open(dir, link, { maxInFlight: 4 })
  for (let i = 0; i < 20; i++) outbox.add(row())
  assert.is(outbox.pendingBatches, 10)

  link.online = true
  outbox.pump()
  assert.is(link.batches.length, 4)
  outbox.acknowledge(link.batches[0]!.batch_id)
  assert.is(link.batches.length, 5)
  outbox.connectionLost()
  outbox.pump()
  assert.is(link.batches.length, 9, 'after a reconnect the window starts again')
})

test('spool limits are read from flags and variables', () => {
  const required = ['--controller', 'http://127.0.0.1:8080']
  const env = { MONIT_AGENT_TOKEN: 'token' }
  const defaults = loadAgentConfig(required, env)
  assert.is(defaults.spoolMaxBytes, 256 * 1024 ** 2)
  assert.is(defaults.spoolMaxBatches, 100_000)
  const set = loadAgentConfig([...required, '--spool-max-bytes', '64KiB'], { ...env, MONIT_AGENT_SPOOL_MAX_BATCHES: '50' })
  assert.is(set.spoolMaxBytes, 64 * 1024)
  assert.is(set.spoolMaxBatches, 50)
  assert.throws(() => loadAgentConfig([...required, '--spool-max-bytes', 'lots'], env), /--spool-max-bytes: "lots" is not a size/)
  assert.throws(() => loadAgentConfig([...required, '--spool-max-batches', '0'], env), /--spool-max-batches/)
})

test.run()
