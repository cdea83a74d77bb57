import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  placeStreams,
  type Move,
  type Placement,
  type PlacementAgent,
  type PlacementOptions,
  type PlacementStream,
} from '../src/scheduler/placement.ts'

const agent = (id: string, capacity = 10, available = true): PlacementAgent => ({ id, capacity, available })
const stream = (id: string, agentId: string | null = null, up = true): PlacementStream => ({
  id,
  up,
  assignments: agentId === null ? [] : [{ agentId, slot: '' }],
})

const labelled = (id: string, labels: Record<string, string>, extra: Partial<PlacementAgent> = {}): PlacementAgent => ({
  ...agent(id),
  labels,
  ...extra,
})

/** Streams s01..sNN, all on `agentId`. */
const streamsOn = (agentId: string, count: number, prefix = 's'): PlacementStream[] =>
  Array.from({ length: count }, (_, i) => stream(`${prefix}${String(i + 1).padStart(2, '0')}`, agentId))

const targets = (placement: Placement): Record<string, string | null> =>
  Object.fromEntries(placement.moves.map((move) => [`${move.streamId}/${move.slot}`, move.to]))

const movesTo = (moves: readonly Move[], agentId: string): number => moves.filter((move) => move.to === agentId).length

// Behaviour kept from the single-agent scheduler.

test('placement spreads new streams evenly', () => {
  const streams = ['s1', 's2', 's3', 's4'].map((id) => stream(id))
  const { moves, unassigned } = placeStreams(streams, [agent('a'), agent('b')])
  assert.is(unassigned.length, 0)
  assert.is(movesTo(moves, 'a'), 2)
  assert.is(movesTo(moves, 'b'), 2)
})

test('placement keeps a stream on its available agent', () => {
  const { moves, keptCount } = placeStreams([stream('s1', 'b')], [agent('a'), agent('b')])
  assert.equal(moves, [])
  assert.is(keptCount, 1)
})

test('placement moves streams off a lost agent', () => {
  const { moves } = placeStreams([stream('s1', 'a')], [agent('a', 10, false), agent('b')])
  assert.equal(moves, [{ streamId: 's1', slot: '', from: 'a', to: 'b', reason: 'moved: agent disconnected' }])
})

test('placement revokes a down stream', () => {
  const { moves } = placeStreams([stream('s1', 'a', false)], [agent('a')])
  assert.equal(moves, [{ streamId: 's1', slot: '', from: 'a', to: null, reason: 'revoked: stream is down' }])
})

test('placement reports no connected agent', () => {
  const { moves, unassigned } = placeStreams([stream('s1')], [])
  assert.equal(moves, [])
  assert.equal(unassigned, [{ streamId: 's1', reason: 'no agent connected' }])
})

test('placement respects capacity', () => {
  const streams = ['s1', 's2', 's3'].map((id) => stream(id))
  const { moves, unassigned } = placeStreams(streams, [agent('a', 1), agent('b', 1)])
  assert.is(moves.length, 2)
  assert.equal(unassigned, [{ streamId: 's3', reason: 'all 2 connected agents are at capacity' }])
})

test('placement balances by load share', () => {
  const streams = [stream('s1', 'small'), stream('s2', 'big'), stream('s3')]
  // Without rebalancing, which would also move s1 off `small` (share 0.5 against 0.02).
  const { moves } = placeStreams(streams, [agent('big', 100), agent('small', 2)], { rebalanceThreshold: 0 })
  assert.equal(moves, [{ streamId: 's3', slot: '', from: null, to: 'big', reason: 'placed on least-loaded agent' }])
})

test('placement ignores input order', () => {
  const streams = ['s3', 's1', 's2'].map((id) => stream(id))
  const first = placeStreams(streams, [agent('b'), agent('a')])
  const second = placeStreams([...streams].reverse(), [agent('a'), agent('b')])
  assert.equal(first, second)
})

// Required labels.

const fleet = [
  labelled('eu-1', { region: 'eu-west', network: 'isp-a' }),
  labelled('eu-2', { region: 'eu-west', network: 'isp-b' }),
  labelled('us-1', { region: 'us-east', network: 'isp-a' }),
]

const labelCases: Array<[string, Record<string, string>, string | null, string | null]> = [
  ['one label', { region: 'us-east' }, 'us-1', null],
  ['two labels', { region: 'eu-west', network: 'isp-b' }, 'eu-2', null],
  ['unknown value', { region: 'ap-south' }, null, 'no connected agent has region=ap-south'],
  ['unknown key', { tier: 'gold' }, null, 'no connected agent has tier=gold'],
  ['no agent with both', { region: 'us-east', network: 'isp-b' }, null, 'no connected agent has network=isp-b, region=us-east'],
]

for (const [name, requiredLabels, expected, reason] of labelCases) {
  test(`required labels: ${name}`, () => {
    const placement = placeStreams([{ ...stream('s1'), requiredLabels }], fleet)
    assert.is(targets(placement)['s1/'] ?? null, expected)
    assert.equal(placement.unassigned, reason === null ? [] : [{ streamId: 's1', reason }])
  })
}

test('required labels pick the least-loaded match', () => {
  const streams = [{ ...stream('s1', 'eu-1') }, { ...stream('s2'), requiredLabels: { region: 'eu-west' } }]
  assert.is(targets(placeStreams(streams, fleet))['s2/'], 'eu-2')
})

test('an unmatched stream is placed once a matching agent connects', () => {
  const waiting = { ...stream('s1'), requiredLabels: { region: 'ap-south' } }
  assert.is(placeStreams([waiting], fleet).unassigned.length, 1)
  const later = placeStreams([waiting], [...fleet, labelled('ap-1', { region: 'ap-south' })])
  assert.equal(later.unassigned, [])
  assert.equal(later.moves, [{ streamId: 's1', slot: '', from: null, to: 'ap-1', reason: 'placed on least-loaded agent' }])
})

test('a stream leaves an agent that lost a required label', () => {
  const current = { ...stream('s1', 'eu-1'), requiredLabels: { network: 'isp-a' } }
  const relabelled = [labelled('eu-1', { region: 'eu-west', network: 'isp-c' }), fleet[2]!]
  const { moves } = placeStreams([current], relabelled)
  assert.equal(moves, [{ streamId: 's1', slot: '', from: 'eu-1', to: 'us-1', reason: 'moved: agent lacks network=isp-a' }])
})

// Capacity and weight.

test('weights count against capacity', () => {
  const streams = [
    { ...stream('heavy'), weight: 6 },
    { ...stream('light-1') },
    { ...stream('light-2') },
    { ...stream('light-3') },
  ]
  const placement = placeStreams(streams, [agent('a', 10), agent('b', 10)])
  assert.is(targets(placement)['heavy/'], 'a')
  assert.equal(placement.loads, new Map([['a', 6], ['b', 3]]))
  assert.equal(placement.unassigned, [])
})

test('a stream heavier than any free room stays unassigned', () => {
  const placement = placeStreams([stream('s1', 'a'), { ...stream('big'), weight: 10 }], [agent('a', 10), agent('b', 5)])
  assert.equal(placement.unassigned, [{ streamId: 'big', reason: 'all 2 connected agents are too full for weight 10' }])
})

test('a smaller capacity moves the overflow', () => {
  const placement = placeStreams(streamsOn('a', 3), [agent('a', 2), agent('b', 10)], { rebalanceThreshold: 0 })
  assert.equal(placement.moves, [{ streamId: 's03', slot: '', from: 'a', to: 'b', reason: 'moved: agent over capacity' }])
})

test('an agent with capacity 0 takes nothing', () => {
  const placement = placeStreams([stream('s1')], [agent('a', 0)])
  assert.equal(placement.unassigned, [{ streamId: 's1', reason: 'the 1 connected agent has capacity 0' }])
})

// Stickiness and rebalancing.

test('placement keeps streams within the rebalance bound', () => {
  // Shares 0.2 and 0: a gap of 0.2 is within the default 0.25.
  const placement = placeStreams(streamsOn('a', 2), [agent('a'), agent('b')])
  assert.equal(placement.moves, [])
  assert.is(placement.keptCount, 2)
})

const rebalanceCases: Array<[string, number, number]> = [
  // threshold, streams that move off `a` (8 of 10 used) onto an empty `b`
  ['default bound', 0.25, 3],
  ['tight bound', 0.05, 4],
  ['loose bound', 0.9, 0],
  ['disabled', 0, 0],
]

for (const [name, rebalanceThreshold, expected] of rebalanceCases) {
  test(`rebalancing with ${name} moves ${expected} streams`, () => {
    const { moves } = placeStreams(streamsOn('a', 8), [agent('a'), agent('b')], { rebalanceThreshold })
    assert.is(moves.length, expected)
    for (const move of moves) {
      assert.is(move.from, 'a')
      assert.is(move.to, 'b')
      assert.match(move.reason, /^moved: rebalanced from load share/)
    }
  })
}

test('rebalancing moves the heaviest stream that narrows the gap', () => {
  const streams = [...streamsOn('a', 4), { ...stream('heavy', 'a'), weight: 4 }]
  const { moves, loads } = placeStreams(streams, [agent('a'), agent('b')])
  assert.equal(moves.map((move) => move.streamId), ['heavy'])
  assert.equal(loads, new Map([['a', 4], ['b', 4]]))
})

test('rebalancing stays within the agents that match', () => {
  const agents = [labelled('eu-1', { region: 'eu' }), labelled('eu-2', { region: 'eu' }), labelled('us-1', { region: 'us' })]
  const streams = streamsOn('eu-1', 8).map((entry) => ({ ...entry, requiredLabels: { region: 'eu' } }))
  const { moves } = placeStreams(streams, agents)
  assert.is(moves.length, 3)
  assert.is(movesTo(moves, 'eu-2'), 3)
})

test('rebalancing never moves pinned streams', () => {
  const streams = streamsOn('a', 8).map((entry) => ({ ...entry, pinnedAgentId: 'a' }))
  assert.equal(placeStreams(streams, [agent('a'), agent('b')]).moves, [])
})

// Drain.

test('a drained agent gives its streams to matching agents', () => {
  const agents = [labelled('a', {}, { draining: true }), agent('b'), agent('c')]
  const { moves } = placeStreams(streamsOn('a', 2), agents)
  assert.equal(moves, [
    { streamId: 's01', slot: '', from: 'a', to: 'b', reason: 'moved: agent drained' },
    { streamId: 's02', slot: '', from: 'a', to: 'c', reason: 'moved: agent drained' },
  ])
})

test('a drained agent takes no new streams', () => {
  const placement = placeStreams([stream('s1')], [labelled('a', {}, { draining: true })])
  assert.equal(placement.unassigned, [{ streamId: 's1', reason: 'the 1 connected agent is draining' }])
})

test('streams of a drained agent with no other match are revoked', () => {
  const agents = [labelled('eu-1', { region: 'eu' }, { draining: true }), labelled('us-1', { region: 'us' })]
  const placement = placeStreams([{ ...stream('s1', 'eu-1'), requiredLabels: { region: 'eu' } }], agents)
  assert.equal(placement.moves, [{ streamId: 's1', slot: '', from: 'eu-1', to: null, reason: 'revoked: agent drained' }])
  assert.equal(placement.unassigned, [{ streamId: 's1', reason: 'the 1 matching agent is draining' }])
})

// Pin.

const pinCases: Array<[string, PlacementStream, PlacementAgent[], Move[], string | null]> = [
  [
    'goes to its agent even when others are emptier',
    { ...stream('p'), pinnedAgentId: 'b' },
    [agent('a'), agent('b')],
    [{ streamId: 'p', slot: '', from: null, to: 'b', reason: 'placed on pinned agent' }],
    null,
  ],
  [
    'moves to its agent',
    { ...stream('p', 'a'), pinnedAgentId: 'b' },
    [agent('a'), agent('b')],
    [{ streamId: 'p', slot: '', from: 'a', to: 'b', reason: 'moved: stream pinned to b' }],
    null,
  ],
  ['waits for a missing agent', { ...stream('p'), pinnedAgentId: 'x' }, [agent('a')], [], 'pinned agent x is not connected'],
  [
    'waits while its agent drains',
    { ...stream('p'), pinnedAgentId: 'a' },
    [labelled('a', {}, { draining: true })],
    [],
    'pinned agent a is draining',
  ],
  [
    'needs the required labels',
    { ...stream('p'), pinnedAgentId: 'a', requiredLabels: { region: 'eu' } },
    [labelled('a', { region: 'us' })],
    [],
    'pinned agent a lacks region=eu',
  ],
]

for (const [name, pinned, agents, moves, reason] of pinCases) {
  test(`a pinned stream ${name}`, () => {
    const placement = placeStreams([pinned], agents)
    assert.equal(placement.moves, moves)
    assert.equal(placement.unassigned, reason === null ? [] : [{ streamId: 'p', reason }])
  })
}

// Vantage points.

const regions = [
  labelled('ap-1', { region: 'ap-south' }),
  labelled('eu-1', { region: 'eu-west' }),
  labelled('eu-2', { region: 'eu-west' }),
  labelled('us-1', { region: 'us-east' }),
]
const vantage = { count: 2, label: 'region' }

test('vantage places one agent per distinct value', () => {
  const placement = placeStreams([{ ...stream('v'), vantage }], regions)
  assert.equal(placement.moves, [
    { streamId: 'v', slot: 'ap-south', from: null, to: 'ap-1', reason: 'placed on least-loaded agent with region=ap-south' },
    { streamId: 'v', slot: 'eu-west', from: null, to: 'eu-1', reason: 'placed on least-loaded agent with region=eu-west' },
  ])
  assert.equal(placement.unassigned, [])
})

test('vantage prefers the least-loaded values and agents', () => {
  const busy = [...streamsOn('ap-1', 2, 'ap'), ...streamsOn('eu-1', 1, 'eu')]
  const placement = placeStreams([...busy, { ...stream('v'), vantage }], regions, { rebalanceThreshold: 0 })
  assert.equal(targets(placement), { 'v/eu-west': 'eu-2', 'v/us-east': 'us-1' })
})

test('vantage keeps its agents and fills a lost slot in the same value', () => {
  const current: PlacementStream = {
    ...stream('v'),
    vantage,
    assignments: [
      { agentId: 'eu-1', slot: 'eu-west' },
      { agentId: 'us-1', slot: 'us-east' },
    ],
  }
  const drained = regions.map((entry) => (entry.id === 'eu-1' ? { ...entry, draining: true } : entry))
  const placement = placeStreams([current], drained)
  assert.equal(placement.moves, [{ streamId: 'v', slot: 'eu-west', from: 'eu-1', to: 'eu-2', reason: 'moved: agent drained' }])
  assert.is(placement.keptCount, 1)
})

test('vantage with too few values places what it can', () => {
  const placement = placeStreams([{ ...stream('v'), vantage: { count: 3, label: 'region' } }], regions.slice(1))
  assert.equal(targets(placement), { 'v/eu-west': 'eu-1', 'v/us-east': 'us-1' })
  assert.equal(placement.unassigned, [
    { streamId: 'v', reason: 'only 2 of 3 vantage points placed: agents cover region=eu-west, region=us-east only' },
  ])
})

test('vantage revokes points no longer needed', () => {
  const current: PlacementStream = {
    ...stream('v'),
    vantage: { count: 1, label: 'region' },
    assignments: [
      { agentId: 'eu-1', slot: 'eu-west' },
      { agentId: 'us-1', slot: 'us-east' },
    ],
  }
  const { moves } = placeStreams([current], regions)
  assert.equal(moves, [{ streamId: 'v', slot: 'us-east', from: 'us-1', to: null, reason: 'revoked: vantage point no longer needed' }])
})

test('vantage on a down stream revokes every point', () => {
  const current: PlacementStream = {
    ...stream('v', null, false),
    vantage,
    assignments: [
      { agentId: 'eu-1', slot: 'eu-west' },
      { agentId: 'us-1', slot: 'us-east' },
    ],
  }
  const { moves } = placeStreams([current], regions)
  assert.equal(moves.map((move) => [move.slot, move.to]), [['eu-west', null], ['us-east', null]])
})

const vantageReasons: Array<[string, PlacementAgent[], PlacementStream, string]> = [
  ['no agent has the label', [agent('a')], { ...stream('v'), vantage }, 'no connected agent has a region label'],
  [
    'values only on draining agents',
    [labelled('eu-1', { region: 'eu' }), labelled('us-1', { region: 'us' }, { draining: true })],
    { ...stream('v'), vantage },
    'only 1 of 2 vantage points placed: agents cover region=eu only; agents with other values are draining',
  ],
  [
    'full agents in the other value',
    [labelled('eu-1', { region: 'eu' }), labelled('us-1', { region: 'us' }, { capacity: 1 })],
    { ...stream('v'), vantage, weight: 2 },
    'only 1 of 2 vantage points placed: the other region values have no agent with room for weight 2',
  ],
  [
    'required labels match nothing',
    regions,
    { ...stream('v'), vantage, requiredLabels: { network: 'isp-z' } },
    'no connected agent has network=isp-z',
  ],
]

for (const [name, agents, entry, reason] of vantageReasons) {
  test(`vantage reason: ${name}`, () => {
    assert.equal(placeStreams([entry], agents).unassigned, [{ streamId: 'v', reason }])
  })
}

// Determinism.

test('placement is deterministic across input orders', () => {
  const agents = [...regions, agent('plain-1'), agent('plain-2', 5)]
  const streams: PlacementStream[] = [
    ...Array.from({ length: 30 }, (_, i) => ({ ...stream(`s${i}`), weight: 1 + (i % 3) })),
    ...Array.from({ length: 6 }, (_, i) => ({ ...stream(`v${i}`), vantage })),
    ...Array.from({ length: 6 }, (_, i) => ({ ...stream(`r${i}`), requiredLabels: { region: 'eu-west' } })),
  ]
  const options: PlacementOptions = { rebalanceThreshold: 0.1 }
  const first = placeStreams(streams, agents, options)
  const shuffled = [...streams].sort((a, b) => (a.id.length * 7 + a.id.charCodeAt(1)) % 5 - (b.id.length * 7 + b.id.charCodeAt(1)) % 5)
  const second = placeStreams(shuffled, [...agents].reverse(), options)
  assert.equal(first, second)
})

test.run()
