import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ConfigError, loadControllerConfig } from '../src/config.ts'

test('config defaults to the embedded setup', () => {
  const config = loadControllerConfig([], {})
  assert.is(config.host, '127.0.0.1')
  assert.is(config.port, 8080)
  assert.match(config.databaseUrl, /^sqlite:.*data\/monit\.sqlite$/)
  assert.is(config.clickhouseUrl, undefined)
  assert.is(config.reassignGraceS, 10)
  assert.is(config.rebalanceThreshold, 0.25)
})

test('config reads the rebalance threshold', () => {
  assert.is(loadControllerConfig(['--rebalance-threshold', '0.1'], {}).rebalanceThreshold, 0.1)
  assert.is(loadControllerConfig([], { MONIT_REBALANCE_THRESHOLD: '0' }).rebalanceThreshold, 0)
})

test('config flags win over variables', () => {
  const config = loadControllerConfig(['--listen', '0.0.0.0:9000'], { MONIT_LISTEN: '127.0.0.1:7000', MONIT_TTL_DAYS: '30' })
  assert.is(config.host, '0.0.0.0')
  assert.is(config.port, 9000)
  assert.is(config.ttlDays, 30)
})

test('config reads database and clickhouse URLs', () => {
  const config = loadControllerConfig([], {
    MONIT_DATABASE: 'mysql://root@127.0.0.1:3306/monit',
    MONIT_CLICKHOUSE: 'http://127.0.0.1:8123',
  })
  assert.is(config.databaseUrl, 'mysql://root@127.0.0.1:3306/monit')
  assert.is(config.clickhouseUrl, 'http://127.0.0.1:8123')
})

const invalid: Array<[string, string[], Record<string, string>, RegExp]> = [
  ['listen without port', ['--listen', 'localhost'], {}, /--listen: "localhost" is not HOST:PORT/],
  ['port out of range', [], { MONIT_LISTEN: '127.0.0.1:70000' }, /MONIT_LISTEN: "70000" is not an integer from 0 to 65535/],
  ['database scheme', [], { MONIT_DATABASE: 'postgres://x' }, /MONIT_DATABASE: "postgres" is not supported; use sqlite:PATH or mysql:/],
  ['clickhouse scheme', ['--clickhouse', 'tcp://127.0.0.1:9000'], {}, /--clickhouse: use an http:\/\/ or https:\/\/ URL/],
  ['log level', [], { MONIT_LOG_LEVEL: 'loud' }, /MONIT_LOG_LEVEL: "loud" is not one of fatal, error/],
  ['grace', [], { MONIT_REASSIGN_GRACE_S: '-1' }, /MONIT_REASSIGN_GRACE_S/],
  ['rebalance threshold above 1', ['--rebalance-threshold', '1.5'], {}, /--rebalance-threshold: "1.5" is not a number from 0 to 1/],
  ['rebalance threshold text', [], { MONIT_REBALANCE_THRESHOLD: 'half' }, /MONIT_REBALANCE_THRESHOLD: "half" is not a number/],
  ['boolean', [], { MONIT_LOCAL_AGENT: 'maybe' }, /MONIT_LOCAL_AGENT: "maybe" is not a boolean/],
  ['unknown flag', ['--colour', 'red'], {}, /Unknown option '--colour'/],
]

for (const [name, argv, env, pattern] of invalid) {
  test(`config rejects ${name}`, () => {
    try {
      loadControllerConfig(argv, env)
      assert.unreachable('no error thrown')
    } catch (error) {
      assert.instance(error, ConfigError)
      assert.match((error as Error).message, pattern)
    }
  })
}

test.run()
