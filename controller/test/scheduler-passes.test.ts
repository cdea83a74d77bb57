// Scheduling passes: triggers in one window make one pass, a trigger during
// a pass makes exactly one more, and incremental passes place only the
// streams they name while counting the load of all the others.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import type { ControllerMessage } from '@monit/protocol'
import { PassQueue, type PassRequest } from '../src/scheduler/pass-queue.ts'
import { Scheduler, type ScheduledStream } from '../src/scheduler/scheduler.ts'
import { MemoryStore } from './fixtures/memory-scheduler-store.ts'

const log = pino({ level: 'silent' })

/** MemoryStore that counts full and by-id stream reads, and reads streams by id as the repository does. */
class CountingStore extends MemoryStore {
  listCalls = 0
  byIdCalls: string[][] = []

  override async listStreams(): Promise<ScheduledStream[]> {
    this.listCalls += 1
    return super.listStreams()
  }

  async listStreamsById(ids: readonly string[]): Promise<ScheduledStream[]> {
    this.byIdCalls.push([...ids])
    return ids.flatMap((id) => {
      const stream = this.streams.get(id)
      return stream === undefined ? [] : [{ ...stream, assignments: [...stream.assignments] }]
    })
  }
}

class Directory {
  readonly online = new Map<string, { capacity: number; labels: Record<string, string> }>()
  readonly sent: Array<{ agentId: string; message: ControllerMessage }> = []

  connected() {
    return [...this.online].map(([agentId, agent]) => ({ agentId, ...agent }))
  }

  send(agentId: string, message: ControllerMessage): boolean {
    this.sent.push({ agentId, message })
    return this.online.has(agentId)
  }
}

test('pass queue merges triggers of one window into one pass', async () => {
  const runs: PassRequest[] = []
  const queue = new PassQueue(20, async (request) => void runs.push(request), log)
  await Promise.all([
    queue.request({ full: false, streams: ['a'] }),
    queue.request({ full: false, streams: ['b'] }),
    queue.request({ full: true, streams: [] }),
  ])
  assert.is(runs.length, 1)
  assert.is(runs[0]!.full, true)
  assert.equal([...runs[0]!.streams].sort(), ['a', 'b'])
})

test('pass queue runs exactly one more pass for triggers during a pass', async () => {
  const runs: PassRequest[] = []
  let release: () => void = () => undefined
  const blocked = new Promise<void>((done) => (release = done))
  const queue = new PassQueue(10, async (request) => {
    runs.push(request)
    if (runs.length === 1) await blocked
  }, log)
  const first = queue.request({ full: false, streams: ['a'] })
  await new Promise((done) => setTimeout(done, 40))
  assert.is(runs.length, 1, 'first pass started')
  const later = [queue.request({ full: false, streams: ['b'] }), queue.request({ full: false, streams: ['c'] })]
  release()
  await first
  await Promise.all(later)
  assert.is(runs.length, 2)
  assert.equal([...runs[1]!.streams].sort(), ['b', 'c'])
})

test('pass queue keeps going after a failed pass', async () => {
  let calls = 0
  const queue = new PassQueue(5, async () => {
    calls += 1
    if (calls === 1) throw new Error('database unavailable')
  }, log)
  await queue.request({ full: true, streams: [] })
  await queue.request({ full: true, streams: [] })
  assert.is(calls, 2)
})

test('new stream pass reads only that stream', async () => {
  const store = new CountingStore()
  const directory = new Directory()
  directory.online.set('a', { capacity: 10, labels: {} })
  directory.online.set('b', { capacity: 10, labels: {} })
  for (const id of ['s1', 's2', 's3']) store.add(id)
  const scheduler = new Scheduler(store, directory, log, 60, 0.25, { debounceMs: 5 })
  await scheduler.start()
  await scheduler.reconcile()
  const listed = store.listCalls

  store.add('s4')
  await scheduler.streamCreated('s4')
  assert.is(store.listCalls, listed, 'no read of every stream')
  assert.equal(store.byIdCalls.at(-1), ['s4'])
  assert.is(scheduler.assignmentsOf('s4').length, 1)
  // s1..s3 sit two on one agent and one on the other, so s4 goes to the less loaded one.
  const loads = new Map([['a', scheduler.streamsOf('a').length], ['b', scheduler.streamsOf('b').length]])
  assert.is(loads.get('a'), 2)
  assert.is(loads.get('b'), 2)
  scheduler.stop()
})

test('lost agent pass moves only its streams', async () => {
  const store = new CountingStore()
  const directory = new Directory()
  for (const id of ['a', 'b', 'c']) directory.online.set(id, { capacity: 10, labels: {} })
  for (let index = 0; index < 6; index++) store.add(`s${index}`)
  const scheduler = new Scheduler(store, directory, log, 0.05, 0.25, { debounceMs: 5 })
  await scheduler.start()
  await scheduler.reconcile()
  const onA = scheduler.streamsOf('a')
  const before = new Map([...store.streams.values()].map((stream) => [stream.id, stream.epoch]))
  assert.is(onA.length, 2)

  directory.online.delete('a')
  scheduler.agentDisconnected('a', 10)
  await new Promise((done) => setTimeout(done, 200))
  assert.equal(store.byIdCalls.at(-1), onA)
  assert.equal(scheduler.streamsOf('a'), [])
  for (const stream of store.streams.values()) {
    const moved = onA.includes(stream.id)
    assert.is(stream.epoch, before.get(stream.id)! + (moved ? 1 : 0), `epoch of ${stream.id}`)
  }
  assert.is(scheduler.streamsOf('b').length, 3)
  assert.is(scheduler.streamsOf('c').length, 3)
  scheduler.stop()
})

test('follower runs no pass until it leads', async () => {
  const store = new CountingStore()
  const directory = new Directory()
  directory.online.set('a', { capacity: 10, labels: {} })
  store.add('s1')
  const scheduler = new Scheduler(store, directory, log, 60, 0.25, { debounceMs: 5, leader: false })
  await scheduler.start()
  await scheduler.reconcile()
  assert.equal(scheduler.assignmentsOf('s1'), [])
  await scheduler.setLeader(true)
  await scheduler.reconcile()
  assert.is(scheduler.assignmentsOf('s1')[0]?.agentId, 'a')
  scheduler.stop()
})

test('replaced assignments report the changes', async () => {
  const store = new CountingStore()
  const scheduler = new Scheduler(store, new Directory(), log, 60, 0.25, { leader: false })
  store.add('s1', { assignments: [{ agent_id: 'a', epoch: 1, slot: '' }] })
  store.add('s2', { assignments: [{ agent_id: 'a', epoch: 2, slot: '' }] })
  await scheduler.start()
  const changes = scheduler.replaceAssignments([
    { stream_id: 's1', slot: '', agent_id: 'a', epoch: 1 },
    { stream_id: 's2', slot: '', agent_id: 'b', epoch: 3 },
  ])
  assert.equal(changes, [
    { agentId: 'a', streamId: 's2', before: 2, after: undefined },
    { agentId: 'b', streamId: 's2', before: undefined, after: 3 },
  ])
  assert.ok(scheduler.isCurrent('s2', 'b', 3))
  assert.not.ok(scheduler.isCurrent('s2', 'a', 2))
  scheduler.stop()
})

test.run()
