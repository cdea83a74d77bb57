// The --cluster settings: they need a MySQL database, the controller id is
// checked, and one controller on SQLite stays out of cluster mode.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ConfigError, loadControllerConfig } from '../src/config.ts'

test('cluster is off by default', () => {
  const config = loadControllerConfig([], {})
  assert.is(config.cluster, false)
  assert.is(config.leaseTtlS, 10)
  assert.match(config.controllerId, /^[A-Za-z0-9._-]+-\d+-[0-9a-f]{6}$/)
})

test('cluster needs a mysql database', () => {
  try {
    loadControllerConfig(['--cluster'], {})
    assert.unreachable('accepted --cluster on SQLite')
  } catch (error) {
    assert.instance(error, ConfigError)
    assert.match((error as Error).message, /--cluster/)
    assert.match((error as Error).message, /mysql/)
  }
})

test('cluster reads its settings', () => {
  const config = loadControllerConfig(['--cluster', '--database', 'mysql://root@127.0.0.1:3306/monit', '--controller-id', 'ctl-a', '--lease-ttl', '4'], {})
  assert.is(config.cluster, true)
  assert.is(config.controllerId, 'ctl-a')
  assert.is(config.leaseTtlS, 4)
})

test('cluster rejects an invalid controller id', () => {
  assert.throws(() => loadControllerConfig(['--controller-id', 'has space'], {}), /--controller-id/)
})

test.run()
