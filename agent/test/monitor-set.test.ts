import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import type { MetricsRow, Perform } from '@monit/protocol'
import { MonitorSet } from '../src/monitor/monitor-set.ts'
import type { ProbeFn, ProbeResult } from '../src/monitor/probe.ts'
import type { StatusUpdate } from '../src/monitor/stream-monitor.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const ok: ProbeResult = {
  ok: true,
  metrics: { bitrate: 1, frames: 1, fps: 1, width: 1, height: 1, bytes: 1, seconds: 1, keyframe_interval: 0, codecs: 'h264', probe_duration_ms: 1 },
  packets: 1,
  durationMs: 1,
}

function perform(stream_id: string, epoch: number, extra: Partial<Perform> = {}): Perform {
  return { type: 'perform', stream_id, url: `http://127.0.0.1:1/${stream_id}.m3u8`, epoch, probe: { interval_s: 0.1, sample_s: 1, timeout_s: 1 }, ...extra }
}

function makeSet() {
  const rows: MetricsRow[] = []
  const statuses: StatusUpdate[] = []
  const probes: Array<{ url: string; at: number }> = []
  let active = 0
  const maxActivePerUrl = new Map<string, number>()
  const activePerUrl = new Map<string, number>()
  const probe: ProbeFn = async (url, _settings, { signal }) => {
    probes.push({ url, at: Date.now() })
    active++
    activePerUrl.set(url, (activePerUrl.get(url) ?? 0) + 1)
    maxActivePerUrl.set(url, Math.max(maxActivePerUrl.get(url) ?? 0, activePerUrl.get(url)!))
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 50)
      signal?.addEventListener('abort', () => {
        clearTimeout(timer)
        resolve()
      })
    })
    active--
    activePerUrl.set(url, activePerUrl.get(url)! - 1)
    return ok
  }
  const set = new MonitorSet({
    logger: pino({ level: 'silent' }),
    onMetrics: (row) => rows.push(row),
    onStatus: (status) => statuses.push(status),
    probe,
    random: () => 0,
  })
  return { set, rows, statuses, probes, active: () => active, maxActivePerUrl }
}

test('perform starts, the same perform again is a no-op', async () => {
  const t = makeSet()
  assert.is(t.set.perform(perform('a', 1)), 'started')
  assert.is(t.set.perform(perform('a', 1)), 'unchanged')
  assert.is(t.set.perform(perform('b', 4)), 'started')
  assert.equal(t.set.running().sort((x, y) => x.stream_id.localeCompare(y.stream_id)), [
    { stream_id: 'a', epoch: 1 },
    { stream_id: 'b', epoch: 4 },
  ])
  await sleep(250)
  assert.ok(t.rows.some((r) => r.stream_id === 'a' && r.epoch === 1))
  assert.ok(t.rows.some((r) => r.stream_id === 'b' && r.epoch === 4))
  await t.set.stopAll()
  assert.is(t.active(), 0)
})

test('a new epoch restarts the monitor; old rows stop, new rows carry the new epoch', async () => {
  const t = makeSet()
  t.set.perform(perform('a', 1))
  await sleep(200)
  assert.is(t.set.perform(perform('a', 2)), 'restarted')
  assert.equal(t.set.running(), [{ stream_id: 'a', epoch: 2 }])
  const switched = t.rows.length
  await sleep(300)
  const after = t.rows.slice(switched)
  assert.ok(after.length > 0)
  // The old monitor is silenced the moment perform() returns.
  assert.is(after.filter((r) => r.epoch === 1).length, 0)
  assert.ok(t.rows.at(-1)!.epoch === 2)
  assert.ok(t.statuses.some((s) => s.epoch === 2 && s.status === 'up'), 'the new monitor reports its first status')
  assert.is(t.maxActivePerUrl.get('http://127.0.0.1:1/a.m3u8'), 1, 'old and new never probe at once')
  await t.set.stopAll()
})

test('changed URL or settings with the same epoch also restart', () => {
  const t = makeSet()
  t.set.perform(perform('a', 1))
  assert.is(t.set.perform(perform('a', 1, { url: 'http://127.0.0.1:1/other.m3u8' })), 'restarted')
  assert.is(t.set.perform(perform('a', 1, { url: 'http://127.0.0.1:1/other.m3u8', probe: { interval_s: 0.2, sample_s: 1, timeout_s: 1 } })), 'restarted')
  assert.is(t.set.perform(perform('a', 1, { url: 'http://127.0.0.1:1/other.m3u8', probe: { interval_s: 0.2, sample_s: 1, timeout_s: 1 } })), 'unchanged')
  return t.set.stopAll()
})

test('revoke stops the monitor; a stale revoke is ignored', async () => {
  const t = makeSet()
  t.set.perform(perform('a', 5))
  await sleep(120)
  assert.is(await t.set.revoke('a', 4), false)
  assert.equal(t.set.running(), [{ stream_id: 'a', epoch: 5 }])
  assert.is(await t.set.revoke('a', 5), true)
  assert.equal(t.set.running(), [])
  assert.is(t.active(), 0)
  const count = t.probes.length
  await sleep(250)
  assert.is(t.probes.length, count, 'no probe after revoke')
  assert.is(await t.set.revoke('a'), false)
  assert.is(await t.set.revoke('unknown', 1), false)
})

test('stopAll stops everything and later performs are ignored', async () => {
  const t = makeSet()
  for (const id of ['a', 'b', 'c']) t.set.perform(perform(id, 1))
  await sleep(130)
  await t.set.stopAll()
  assert.is(t.active(), 0)
  assert.equal(t.set.running(), [])
  assert.is(t.set.perform(perform('d', 1)), 'unchanged')
  const count = t.probes.length
  await sleep(200)
  assert.is(t.probes.length, count)
})

test.run()
