// The cluster tables on MariaDB: the scheduler lease goes to one holder at
// a time and to another only once expired, assignment writes check the
// lease, and agent presence follows the controller an agent is on.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import { openRepository, type Repository } from '../src/repository/index.ts'
import { LeaseLostError } from '../src/repository/cluster.ts'
import { mariadbDatabase, type TestDatabase } from '../../testing/databases.ts'

let database: TestDatabase
let repository: Repository
let now = 1_000_000

test.before(async () => {
  database = mariadbDatabase()
  repository = await openRepository(await database.setup(), pino({ level: 'silent' }), { now: () => now })
})

test.after(async () => {
  await repository?.close()
  await database?.teardown()
})

test('lease goes to one of two racing holders', async () => {
  const results = await Promise.all([
    repository.cluster.acquireLease('race', 'c1', 3000),
    repository.cluster.acquireLease('race', 'c2', 3000),
  ])
  assert.equal(results.filter(Boolean).length, 1)
})

test('lease renews for its holder only', async () => {
  assert.ok(await repository.cluster.acquireLease('scheduler', 'c1', 3000))
  now += 1000
  assert.ok(await repository.cluster.acquireLease('scheduler', 'c1', 3000), 'holder renews')
  assert.not.ok(await repository.cluster.acquireLease('scheduler', 'c2', 3000), 'other waits')
  assert.equal(await repository.cluster.readLease('scheduler'), { holder: 'c1', expiresAt: now + 3000 })
})

test('lease moves once expired', async () => {
  now += 3001
  assert.ok(await repository.cluster.acquireLease('scheduler', 'c2', 3000))
  assert.not.ok(await repository.cluster.acquireLease('scheduler', 'c1', 3000))
  assert.is((await repository.cluster.readLease('scheduler'))?.holder, 'c2')
})

test('released lease is free at once', async () => {
  await repository.cluster.releaseLease('scheduler', 'c2')
  assert.ok(await repository.cluster.acquireLease('scheduler', 'c1', 3000))
})

test('assignment writes need the lease', async () => {
  await repository.createStream({ id: 'fenced', url: 'udp://127.0.0.1:5000' })
  const before = (await repository.cluster.readCounters()).get('assignments') ?? 0
  repository.assignmentLease = { name: 'scheduler', holder: 'c2' }
  try {
    await repository.changeAssignments([{ streamId: 'fenced', remove: [], add: [{ slot: '', agentId: 'edge-1', reason: 'test' }] }])
    assert.unreachable('a controller without the lease changed assignments')
  } catch (error) {
    assert.instance(error, LeaseLostError)
  }
  assert.equal((await repository.getStream('fenced'))?.assignments, [])

  repository.assignmentLease = { name: 'scheduler', holder: 'c1' }
  const [result] = await repository.changeAssignments([{ streamId: 'fenced', remove: [], add: [{ slot: '', agentId: 'edge-1', reason: 'test' }] }])
  assert.is(result?.epoch, 1)
  assert.is((await repository.cluster.readCounters()).get('assignments'), before + 1)
  repository.assignmentLease = undefined
})

test('presence follows the agent controller', async () => {
  const hello = { id: 'edge-1', name: 'edge-1', version: 'test', protocol: 1, labels: { region: 'eu' }, capacity: 5 }
  await repository.upsertAgentOnHello(hello)
  await repository.cluster.claimAgent('edge-1', 'c1')
  let present = await repository.cluster.listPresentAgents(now - 1000)
  assert.equal(present.map((agent) => [agent.id, agent.controllerId, agent.capacity, agent.labels]), [['edge-1', 'c1', 5, { region: 'eu' }]])

  // The agent moved to c2 before c1 noticed it left: c1's release must not mark it gone.
  await repository.cluster.claimAgent('edge-1', 'c2')
  assert.not.ok(await repository.cluster.releaseAgent('edge-1', 'c1'))
  present = await repository.cluster.listPresentAgents(now - 1000)
  assert.is(present[0]?.controllerId, 'c2')

  assert.ok(await repository.cluster.releaseAgent('edge-1', 'c2'))
  assert.equal(await repository.cluster.listPresentAgents(now - 1000), [])
})

test('presence expires without refreshes', async () => {
  await repository.cluster.claimAgent('edge-1', 'c1')
  now += 10_000
  assert.equal(await repository.cluster.listPresentAgents(now - 3000), [])
  await repository.touchAgents(['edge-1'], now)
  assert.is((await repository.cluster.listPresentAgents(now - 3000)).length, 1)
})

test.run()
