import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { resolve } from 'node:path'
import { ConfigError, loadControllerConfig } from '../src/config.ts'

function configError(argv: string[], env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    loadControllerConfig(argv, env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error(`no ConfigError for ${JSON.stringify({ argv, env })}`)
}

test('beacon settings default', () => {
  const config = loadControllerConfig([], {})
  assert.equal(config.trustedProxies, [])
  assert.is(config.geoipDb, undefined)
  assert.is(config.beaconRateLimit, 600)
})

test('trusted proxies accept addresses, ranges and names', () => {
  const list = ' 127.0.0.1, 10.0.0.0/8,::1 ,fd00::/8,loopback,, 192.0.2.7/32'
  const config = loadControllerConfig(['--trusted-proxies', list], {})
  assert.equal(config.trustedProxies, ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', 'loopback', '192.0.2.7/32'])
})

test('trusted proxies read the variable', () => {
  const config = loadControllerConfig([], { MONIT_TRUSTED_PROXIES: '172.16.0.0/12' })
  assert.equal(config.trustedProxies, ['172.16.0.0/12'])
})

const badProxies = ['proxy.example.com', '10.0.0.0/33', '0.0.0.0/0', '::1/129', '10.0.0.0/8/8', '10.0.0.0/', '300.1.1.1']

for (const entry of badProxies) {
  test(`trusted proxies reject ${entry}`, () => {
    const error = configError([], { MONIT_TRUSTED_PROXIES: `127.0.0.1,${entry}` })
    assert.is(error.setting, 'MONIT_TRUSTED_PROXIES')
    assert.ok(error.message.includes(`"${entry}"`), error.message)
  })
}

test('trusted proxies error names the flag', () => {
  const error = configError(['--trusted-proxies', 'nope'])
  assert.is(error.setting, '--trusted-proxies')
})

test('geoip db path is resolved', () => {
  const config = loadControllerConfig(['--geoip-db', 'geo/City.mmdb'], {})
  assert.is(config.geoipDb, resolve('geo/City.mmdb'))
  assert.is(loadControllerConfig([], { MONIT_GEOIP_DB: '' }).geoipDb, undefined)
})

test('beacon rate limit is checked', () => {
  assert.is(loadControllerConfig([], { MONIT_BEACON_RATE_LIMIT: '0' }).beaconRateLimit, 0)
  assert.is(configError([], { MONIT_BEACON_RATE_LIMIT: '-1' }).setting, 'MONIT_BEACON_RATE_LIMIT')
  assert.is(configError(['--beacon-rate-limit', 'many']).setting, '--beacon-rate-limit')
})

test.run()
