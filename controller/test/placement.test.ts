import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { placeStreams, type PlacementAgent, type PlacementStream } from '../src/scheduler/placement.ts'

const agent = (id: string, capacity = 10, available = true): PlacementAgent => ({ id, capacity, available })
const stream = (id: string, agentId: string | null = null, up = true): PlacementStream => ({ id, agentId, up })

test('placement spreads new streams evenly', () => {
  const streams = ['s1', 's2', 's3', 's4'].map((id) => stream(id))
  const { moves, unassigned } = placeStreams(streams, [agent('a'), agent('b')])
  assert.is(unassigned.length, 0)
  const perAgent = (id: string) => moves.filter((move) => move.to === id).length
  assert.is(perAgent('a'), 2)
  assert.is(perAgent('b'), 2)
})

test('placement keeps a stream on its available agent', () => {
  const { moves } = placeStreams([stream('s1', 'b')], [agent('a'), agent('b')])
  assert.equal(moves, [])
})

test('placement moves streams off a lost agent', () => {
  const { moves } = placeStreams([stream('s1', 'a')], [agent('a', 10, false), agent('b')])
  assert.equal(moves, [{ streamId: 's1', from: 'a', to: 'b' }])
})

test('placement revokes a down stream', () => {
  const { moves } = placeStreams([stream('s1', 'a', false)], [agent('a')])
  assert.equal(moves, [{ streamId: 's1', from: 'a', to: null }])
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
  const { moves } = placeStreams(streams, [agent('big', 100), agent('small', 2)])
  assert.equal(moves, [{ streamId: 's3', from: null, to: 'big' }])
})

test('placement ignores input order', () => {
  const streams = ['s3', 's1', 's2'].map((id) => stream(id))
  const first = placeStreams(streams, [agent('b'), agent('a')])
  const second = placeStreams([...streams].reverse(), [agent('a'), agent('b')])
  assert.equal(first, second)
})

test.run()
