// The scheduler against an in-memory store and agent directory: orders per
// assignment, revokes before performs, fencing, and the grace period that
// stored assignments get when the controller starts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import type { ControllerMessage } from '@monit/protocol'
import { Scheduler } from '../src/scheduler/scheduler.ts'
import { MemoryStore } from './fixtures/memory-scheduler-store.ts'


class MemoryDirectory {
  readonly online = new Map<string, { capacity: number; labels: Record<string, string> }>()
  readonly sent: Array<{ agentId: string; message: ControllerMessage }> = []

  connected() {
    return [...this.online].map(([agentId, agent]) => ({ agentId, ...agent }))
  }

  send(agentId: string, message: ControllerMessage): boolean {
    this.sent.push({ agentId, message })
    return this.online.has(agentId)
  }

  orders(agentId: string): string[] {
    return this.sent
      .filter((entry) => entry.agentId === agentId)
      .map(({ message }) => ('stream_id' in message ? `${message.type} ${message.stream_id} ${message.epoch}` : message.type))
  }
}

const log = pino({ level: 'silent' })

function setup(graceS = 60) {
  const store = new MemoryStore()
  const directory = new MemoryDirectory()
  const scheduler = new Scheduler(store, directory, log, graceS)
  return { store, directory, scheduler }
}

test('scheduler sends one perform per vantage point', async () => {
  const { store, directory, scheduler } = setup()
  directory.online.set('eu-1', { capacity: 10, labels: { region: 'eu' } })
  directory.online.set('us-1', { capacity: 10, labels: { region: 'us' } })
  store.add('v', { vantage: { count: 2, label: 'region' } })
  await scheduler.start()
  await scheduler.reconcile()

  assert.equal(directory.orders('eu-1'), ['perform v 1'])
  assert.equal(directory.orders('us-1'), ['perform v 1'])
  assert.ok(scheduler.isCurrent('v', 'eu-1', 1))
  assert.ok(scheduler.isCurrent('v', 'us-1', 1))
  assert.not.ok(scheduler.isCurrent('v', 'eu-1', 0))
  assert.equal(scheduler.assignmentsOf('v').map((entry) => entry.slot), ['eu', 'us'])
  scheduler.stop()
})

test('scheduler revokes the old epoch before it performs the new one', async () => {
  const { store, directory, scheduler } = setup()
  directory.online.set('a', { capacity: 10, labels: {} })
  directory.online.set('b', { capacity: 10, labels: {} })
  store.add('s1', { assignments: [{ agent_id: 'a', slot: '', epoch: 4 }], epoch: 4 })
  store.agents.set('a', { id: 'a', labels: {}, capacity: 10, draining: true })
  await scheduler.start()
  await scheduler.reconcile()

  assert.equal(directory.orders('a'), ['revoke s1 4'])
  assert.equal(directory.orders('b'), ['perform s1 5'])
  assert.not.ok(scheduler.isCurrent('s1', 'a', 4))
  assert.ok(scheduler.isCurrent('s1', 'b', 5))
  assert.equal(scheduler.streamsOf('b'), ['s1'])
  assert.equal(scheduler.streamsOf('a'), [])
  scheduler.stop()
})

test('scheduler keeps stored assignments during the grace period at start', async () => {
  const { store, directory, scheduler } = setup(0.2)
  directory.online.set('b', { capacity: 10, labels: {} })
  store.add('s1', { assignments: [{ agent_id: 'a', slot: '', epoch: 3 }], epoch: 3 })
  store.agents.set('a', { id: 'a', labels: {}, capacity: 10, draining: false })
  await scheduler.start()
  await scheduler.reconcile()
  assert.ok(scheduler.isCurrent('s1', 'a', 3), 'kept while agent a may come back')

  await new Promise((done) => setTimeout(done, 400))
  await scheduler.reconcile()
  assert.ok(scheduler.isCurrent('s1', 'b', 4), 'moved once the grace ended')
  scheduler.stop()
})

test('scheduler revokes what a reconnecting agent no longer owns', async () => {
  const { store, directory, scheduler } = setup()
  directory.online.set('a', { capacity: 10, labels: {} })
  store.add('s1', { assignments: [{ agent_id: 'a', slot: '', epoch: 2 }], epoch: 2 })
  await scheduler.start()
  await scheduler.agentConnected('a', [
    { stream_id: 's1', epoch: 1 },
    { stream_id: 'gone', epoch: 9 },
  ])
  assert.equal(directory.orders('a'), ['revoke s1 1', 'revoke gone 9', 'perform s1 2'])
  scheduler.stop()
})

test('scheduler remembers why a stream has no agent', async () => {
  const { store, directory, scheduler } = setup()
  directory.online.set('a', { capacity: 10, labels: { region: 'eu' } })
  store.add('s1', { required_labels: { region: 'us' } })
  await scheduler.start()
  await scheduler.reconcile()
  assert.is(scheduler.unassignedReason('s1'), 'no connected agent has region=us')
  directory.online.set('b', { capacity: 10, labels: { region: 'us' } })
  await scheduler.reconcile()
  assert.is(scheduler.unassignedReason('s1'), undefined)
  assert.equal(directory.orders('b'), ['perform s1 1'])
  scheduler.stop()
})

test('scheduler revokes every assignment of a deleted stream', async () => {
  const { store, directory, scheduler } = setup()
  directory.online.set('eu-1', { capacity: 10, labels: { region: 'eu' } })
  directory.online.set('us-1', { capacity: 10, labels: { region: 'us' } })
  store.add('v', { vantage: { count: 2, label: 'region' } })
  await scheduler.start()
  await scheduler.reconcile()
  scheduler.streamDeleted('v')
  store.streams.delete('v')
  assert.equal(directory.orders('eu-1'), ['perform v 1', 'revoke v 1'])
  assert.equal(directory.orders('us-1'), ['perform v 1', 'revoke v 1'])
  assert.equal(scheduler.assignmentsOf('v'), [])
  scheduler.stop()
})

test.run()
