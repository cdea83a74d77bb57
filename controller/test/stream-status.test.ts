import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { aggregateStatus, type AssignmentStatus, type StreamStatus } from '../src/repository/status.ts'

type Value = AssignmentStatus['status']

const at = (slot: string, status: Value, reason: string | null = null): AssignmentStatus => ({
  agentId: `edge-${slot || 'single'}`,
  slot,
  status,
  reason,
})

const cases: Array<[string, AssignmentStatus[], string | null, StreamStatus | undefined]> = [
  ['nothing reported', [at('eu', null), at('us', null)], 'region', undefined],
  ['single agent up', [at('', 'up', 'probe ok')], null, { status: 'up', reason: 'probe ok' }],
  ['single agent degraded', [at('', 'degraded', 'low bitrate')], null, { status: 'degraded', reason: 'low bitrate' }],
  ['all up', [at('eu', 'up'), at('us', 'up')], 'region', { status: 'up', reason: '' }],
  ['one of three down', [at('ap-south', 'down', 'timed out'), at('eu', 'up'), at('us', 'up')], 'region', { status: 'degraded', reason: 'down from region=ap-south only' }],
  ['two of three down', [at('ap', 'down'), at('eu', 'down'), at('us', 'up')], 'region', { status: 'degraded', reason: 'down from region=ap, region=eu only' }],
  [
    'all down',
    [at('eu', 'down', 'timed out'), at('us', 'down', 'HTTP 404')],
    'region',
    { status: 'down', reason: 'down from every vantage point (region=eu: timed out; region=us: HTTP 404)' },
  ],
  ['one degraded', [at('eu', 'degraded', 'low fps'), at('us', 'up')], 'region', { status: 'degraded', reason: 'degraded from region=eu: low fps' }],
  [
    'down and degraded',
    [at('ap', 'down'), at('eu', 'degraded', 'low fps'), at('us', 'up')],
    'region',
    { status: 'degraded', reason: 'down from region=ap only; degraded from region=eu: low fps' },
  ],
  ['unreported points left out', [at('eu', 'down', 'timed out'), at('us', null)], 'region', { status: 'down', reason: 'down from every vantage point (region=eu: timed out)' }],
  ['no vantage label names agents', [at('', 'down'), at('x', 'up')], null, { status: 'degraded', reason: 'down from agent edge-single only' }],
]

for (const [name, assignments, label, expected] of cases) {
  test(`stream status: ${name}`, () => {
    assert.equal(aggregateStatus(assignments, label), expected)
  })
}

test.run()
