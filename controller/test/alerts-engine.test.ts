// The alert state machine and rule matching, on plain inputs and a fake clock.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { StreamStatusValue } from '@monit/protocol'
import { FakeClock } from '../../testing/fake-clock.ts'
import { AlertEngine, type EngineEvent, type Episode } from '../src/alerts/engine.ts'
import { compileRule, coversStream, statusMatches, type StreamState } from '../src/alerts/rules.ts'
import type { AlertRule } from '../src/alerts/types.ts'

function rule(fields: Partial<AlertRule> = {}): AlertRule {
  return {
    id: 'down-60',
    name: 'down for a minute',
    enabled: true,
    stream_ids: null,
    labels: null,
    statuses: ['down'],
    reason_pattern: null,
    for_s: 60,
    channels: ['hook'],
    created_at: '2025-01-01T00:00:00.000Z',
    updated_at: '2025-01-01T00:00:00.000Z',
    ...fields,
  }
}

function setup(rules: AlertRule[] = [rule()]) {
  const clock = new FakeClock()
  const events: EngineEvent[] = []
  const engine = new AlertEngine(clock, (event) => events.push(event))
  engine.setRules(rules)
  const report = (status: StreamStatusValue, reason = '', streamId = 'news-1', labels: Record<string, string> = {}) =>
    engine.observe({ id: streamId, labels, status, reason, sinceMs: clock.now() })
  const types = () => events.map((event) => event.type)
  return { clock, events, engine, report, types }
}

function stream(fields: Partial<StreamState> = {}): StreamState {
  return { id: 'news-1', labels: {}, status: 'down', reason: '', sinceMs: 0, ...fields }
}

test('down for 60 s fires once at 60 s', () => {
  const { clock, events, engine, report } = setup()
  const startMs = clock.now()
  report('down', 'no data for 10 s')
  assert.is(engine.phaseOf('down-60', 'news-1'), 'pending')
  clock.advance(59_999)
  assert.is(events.length, 0, 'nothing at 59.999 s')
  clock.advance(1)
  assert.is(events.length, 1)
  const [fired] = events
  assert.is(fired?.type, 'firing')
  assert.is(fired?.episode.startedAtMs, startMs)
  assert.is(fired?.episode.firedAtMs, startMs + 60_000)
  assert.is(fired?.episode.reason, 'no data for 10 s')
  assert.equal(fired?.episode.channelIds, ['hook'])
  assert.is(engine.phaseOf('down-60', 'news-1'), 'firing')

  report('down', 'connection refused')
  clock.advance(3_600_000)
  assert.is(events.length, 1, 'the same episode never fires twice')
})

test('recovery at 30 s cancels', () => {
  const { clock, events, engine, report } = setup()
  report('down')
  clock.advance(30_000)
  report('up')
  assert.is(engine.phaseOf('down-60', 'news-1'), 'idle')
  assert.is(clock.pending, 0, 'the timer is cancelled')
  clock.advance(3_600_000)
  assert.is(events.length, 0)
})

test('recovery after firing resolves', () => {
  const { clock, events, engine, report, types } = setup()
  report('down')
  clock.advance(60_000)
  clock.advance(30_000)
  report('up')
  assert.equal(types(), ['firing', 'resolved'])
  const resolved = events[1]
  assert.is(resolved?.type === 'resolved' && resolved.resolution, 'recovered')
  assert.is(resolved?.type === 'resolved' && resolved.atMs, clock.now())
  assert.is(resolved?.episode, events[0]?.episode, 'the resolution names the same episode')
  assert.is(engine.phaseOf('down-60', 'news-1'), 'idle')
})

test('second outage is a new episode', () => {
  const { clock, events, report, types } = setup()
  report('down')
  clock.advance(60_000)
  report('up')
  clock.advance(10_000)
  report('down')
  clock.advance(60_000)
  assert.equal(types(), ['firing', 'resolved', 'firing'])
  assert.is.not(events[0]?.episode, events[2]?.episode)
})

test('flapping shorter than for_s never fires', () => {
  const { clock, events, report } = setup()
  for (let cycle = 0; cycle < 20; cycle++) {
    report('down')
    clock.advance(40_000)
    report('up')
    clock.advance(20_000)
  }
  assert.is(events.length, 0)
  assert.is(clock.pending, 0)
})

test('flapping with for_s 0 alternates firing and resolved', () => {
  const { clock, report, types } = setup([rule({ for_s: 0 })])
  for (let cycle = 0; cycle < 5; cycle++) {
    report('down')
    report('down', 'still down, new reason')
    clock.advance(1000)
    report('up')
    report('up')
  }
  assert.equal(types(), Array.from({ length: 5 }, () => ['firing', 'resolved']).flat())
})

test('change between matching statuses keeps the episode start', () => {
  const { clock, events, report } = setup([rule({ statuses: ['down', 'degraded'] })])
  const startMs = clock.now()
  report('degraded', 'down from region=eu only')
  clock.advance(40_000)
  report('down', 'down from every vantage point')
  clock.advance(20_000)
  assert.is(events.length, 1)
  assert.is(events[0]?.episode.startedAtMs, startMs)
  assert.is(events[0]?.episode.status, 'down', 'the episode carries the latest status')
})

test('degraded does not match a down rule', () => {
  const { clock, events, report } = setup()
  report('degraded')
  clock.advance(600_000)
  assert.is(events.length, 0)
})

test('status known since earlier fires at its due time', () => {
  const { clock, events, engine } = setup()
  engine.observe(stream({ sinceMs: clock.now() - 50_000 }))
  clock.advance(9_999)
  assert.is(events.length, 0)
  clock.advance(1)
  assert.is(events.length, 1)
})

test('status known past for_s fires at once', () => {
  const { clock, events, engine } = setup()
  engine.observe(stream({ sinceMs: clock.now() - 3_600_000 }))
  assert.is(events[0]?.type, 'firing')
})

test('rule scope selects streams', () => {
  const rules = [
    rule({ id: 'listed', stream_ids: ['news-1'], for_s: 0 }),
    rule({ id: 'labelled', labels: { region: 'eu', tier: 'gold' }, for_s: 0 }),
    rule({ id: 'global', for_s: 0 }),
  ]
  const { events, report } = setup(rules)
  report('down', '', 'news-1', { region: 'us' })
  report('down', '', 'sport-2', { region: 'eu', tier: 'gold', extra: 'x' })
  report('down', '', 'kids-3', { region: 'eu' })
  const fired = events.map((event) => `${event.episode.ruleId}:${event.episode.streamId}`).sort()
  assert.equal(fired, ['global:kids-3', 'global:news-1', 'global:sport-2', 'labelled:sport-2', 'listed:news-1'])
})

test('reason pattern matches case-insensitively', () => {
  const compiled = compileRule(rule({ reason_pattern: 'time(d)? ?out' }))
  assert.ok(statusMatches(compiled, 'down', 'probe TIMED OUT after 10 s'))
  assert.ok(statusMatches(compiled, 'down', 'read timeout'))
  assert.not.ok(statusMatches(compiled, 'down', 'connection refused'))
  assert.not.ok(statusMatches(compiled, 'up', 'timeout'))
  assert.not.ok(statusMatches(compiled, null, 'timeout'))
})

test('label selector needs every label', () => {
  const selector = rule({ labels: { region: 'eu', tier: 'gold' } })
  assert.ok(coversStream(selector, { id: 'a', labels: { region: 'eu', tier: 'gold', team: 'x' } }))
  assert.not.ok(coversStream(selector, { id: 'a', labels: { region: 'eu' } }))
  assert.not.ok(coversStream(selector, { id: 'a', labels: { region: 'EU', tier: 'gold' } }))
  assert.ok(coversStream(rule(), { id: 'any', labels: {} }), 'a rule without scope is global')
})

test('disabling a rule resolves its alert', () => {
  const { engine, events, report } = setup([rule({ for_s: 0 })])
  report('down')
  engine.putRule(rule({ for_s: 0, enabled: false }))
  const resolved = events[1]
  assert.is(resolved?.type, 'resolved')
  assert.is(resolved?.type === 'resolved' && resolved.resolution, 'rule_changed')
})

test('shorter for_s applies to a pending alert', () => {
  const { clock, engine, events, report } = setup()
  report('down')
  clock.advance(20_000)
  engine.putRule(rule({ for_s: 30 }))
  clock.advance(9_999)
  assert.is(events.length, 0)
  clock.advance(1)
  assert.is(events.length, 1)
  engine.putRule(rule({ for_s: 10 }))
  assert.is(events.length, 1, 'changing a firing rule does not fire again')
})

test('deleting a rule resolves and cancels', () => {
  const { clock, engine, events, report } = setup([rule({ id: 'fast', for_s: 0 }), rule({ id: 'slow', for_s: 60 })])
  report('down')
  engine.removeRule('fast')
  engine.removeRule('slow')
  assert.equal(
    events.map((event) => event.type),
    ['firing', 'resolved'],
  )
  assert.is(events[1]?.type === 'resolved' && events[1].resolution, 'rule_deleted')
  assert.is(clock.pending, 0)
})

test('deleting a stream resolves its alerts', () => {
  const { engine, events, report } = setup([rule({ for_s: 0 })])
  report('down')
  engine.removeStream('news-1')
  assert.is(events[1]?.type === 'resolved' && events[1].resolution, 'stream_deleted')
})

function storedEpisode(fields: Partial<Episode> = {}): Episode {
  return {
    ruleId: 'down-60',
    ruleName: 'down for a minute',
    forS: 60,
    streamId: 'news-1',
    labels: {},
    status: 'down',
    reason: 'no data',
    startedAtMs: 0,
    firedAtMs: 60_000,
    channelIds: ['hook'],
    alertId: 41,
    ...fields,
  }
}

test('restored alert resolves on recovery', () => {
  const { engine, events, report } = setup()
  assert.ok(engine.restore(storedEpisode()))
  report('down')
  assert.is(events.length, 0, 'a stream still down keeps its restored alert')
  report('up')
  assert.is(events.length, 1)
  assert.is(events[0]?.type, 'resolved')
  assert.is(events[0]?.episode.alertId, 41)
})

test('restored alert of a deleted rule resolves', () => {
  const { engine, events } = setup()
  engine.restore(storedEpisode({ ruleId: 'gone' }))
  assert.is(events[0]?.type === 'resolved' && events[0].resolution, 'rule_deleted')
})

test('second restore of a pair is refused', () => {
  const { engine } = setup()
  assert.ok(engine.restore(storedEpisode({ alertId: 1 })))
  assert.not.ok(engine.restore(storedEpisode({ alertId: 2 })))
  assert.is(engine.firing()[0]?.alertId, 1)
})

test('stop cancels pending timers', () => {
  const { clock, engine, events, report } = setup()
  report('down')
  engine.stop()
  clock.advance(3_600_000)
  assert.is(events.length, 0)
})

test.run()
