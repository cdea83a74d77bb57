import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'
import { GeoIpLookup } from '../src/beacons/geoip.ts'

// MaxMind's test databases (MIT licence, see fixtures/geoip/LICENSE-MIT).
const fixtures = new URL('./fixtures/geoip/', import.meta.url).pathname
const databases = ['GeoLite2-City-Test.mmdb', 'GeoIP2-City-Test.mmdb']

// Addresses inside the test databases' networks, with their country and
// first (largest) subdivision.
const known: Array<[string, string, string]> = [
  ['2.125.160.216', 'GB', 'ENG'],
  ['81.2.69.142', 'GB', 'ENG'],
  ['89.160.20.112', 'SE', 'E'],
  ['175.16.199.0', 'CN', '22'],
  ['216.160.83.56', 'US', 'WA'],
  ['67.43.156.0', 'BT', ''],
  ['2001:218::1', 'JP', ''],
  ['::ffff:81.2.69.142', 'GB', 'ENG'],
]

const unknown = ['127.0.0.1', '10.0.0.1', '8.8.8.8', '::1', 'not-an-address', '']

interface LogLine {
  level: number
  msg: string
  path?: string
}

function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as LogLine)
      done()
    },
  })
  return { logger: pino({ level: 'info' }, sink), lines }
}

const quiet = pino({ level: 'silent' })

for (const database of databases) {
  test(`${database}: known addresses resolve`, async () => {
    const geoip = await GeoIpLookup.open(join(fixtures, database), quiet)
    assert.ok(geoip.enabled)
    for (const [address, country, region] of known) {
      const location = geoip.lookup(address)
      assert.is(location.country, country, `country of ${address}`)
      assert.is(location.region, region, `region of ${address}`)
    }
  })

  test(`${database}: unknown addresses stay empty`, async () => {
    const geoip = await GeoIpLookup.open(join(fixtures, database), quiet)
    for (const address of unknown) {
      assert.equal(geoip.lookup(address), { country: '', region: '' }, address)
    }
  })
}

test('lookup returns the cached result', async () => {
  const geoip = await GeoIpLookup.open(join(fixtures, databases[0]!), quiet)
  const first = geoip.lookup('89.160.20.112')
  assert.is(geoip.lookup('89.160.20.112'), first)
})

test('no database configured stays empty', async () => {
  const { logger, lines } = capturingLogger()
  const geoip = await GeoIpLookup.open(undefined, logger)
  assert.not.ok(geoip.enabled)
  assert.equal(geoip.lookup('81.2.69.142'), { country: '', region: '' })
  assert.is(lines.length, 1)
  assert.match(lines[0]!.msg, /no GeoIP database configured/)
})

test('missing database file is logged once', async () => {
  const { logger, lines } = capturingLogger()
  const path = join(tmpdir(), 'monit-no-such-geoip.mmdb')
  const geoip = await GeoIpLookup.open(path, logger)
  assert.not.ok(geoip.enabled)
  assert.equal(geoip.lookup('81.2.69.142'), { country: '', region: '' })
  assert.equal(geoip.lookup('89.160.20.112'), { country: '', region: '' })
  const errors = lines.filter((line) => line.level >= 50)
  assert.is(errors.length, 1)
  assert.is(errors[0]!.path, path)
  assert.match(errors[0]!.msg, /could not be opened/)
})

test('corrupt database file is logged once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'monit-geoip-'))
  try {
    const path = join(dir, 'corrupt.mmdb')
    await writeFile(path, 'this is not a MaxMind database\n'.repeat(100))
    const { logger, lines } = capturingLogger()
    const geoip = await GeoIpLookup.open(path, logger)
    assert.not.ok(geoip.enabled)
    assert.equal(geoip.lookup('81.2.69.142'), { country: '', region: '' })
    assert.is(lines.filter((line) => line.level >= 50).length, 1)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
