// GET /sdk/monit.js: served as is to pages on other origins, with the
// headers a cross-origin <script> needs and a revalidating cache.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile } from 'node:fs/promises'
import { startTestController, type TestController } from '../../testing/controller.ts'

let server: TestController

test.before(async () => {
  server = await startTestController()
})

test.after(async () => {
  await server.stop()
})

test('sdk route serves the script', async () => {
  const response = await fetch(`${server.url}/sdk/monit.js`, { headers: { origin: 'http://player.test' } })
  const expected = await readFile(new URL('../src/sdk/monit.js', import.meta.url), 'utf8')
  assert.is(response.status, 200)
  assert.is(response.headers.get('content-type'), 'text/javascript; charset=utf-8')
  assert.is(await response.text(), expected)
})

test('sdk route allows cross-origin loads', async () => {
  const response = await fetch(`${server.url}/sdk/monit.js`)
  assert.is(response.headers.get('cross-origin-resource-policy'), 'cross-origin')
  assert.is(response.headers.get('access-control-allow-origin'), '*')
  assert.is(response.headers.get('x-content-type-options'), 'nosniff')
})

test('sdk route needs no token', async () => {
  const response = await fetch(`${server.url}/sdk/monit.js`, { method: 'HEAD' })
  assert.is(response.status, 200)
})

test('sdk route revalidates with its ETag', async () => {
  const first = await fetch(`${server.url}/sdk/monit.js`)
  const etag = first.headers.get('etag')
  assert.ok(etag, 'no ETag')
  assert.match(first.headers.get('cache-control') ?? '', /^public, max-age=\d+$/)
  const second = await fetch(`${server.url}/sdk/monit.js`, { headers: { 'if-none-match': etag } })
  assert.is(second.status, 304)
  assert.is(await second.text(), '')
})

test.run()
