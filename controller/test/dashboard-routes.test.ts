// The dashboard routes on a bare Fastify instance: a folder with a bundle
// and a folder without one.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { BUILD_COMMAND, dashboardRoutes } from '../src/dashboard/routes.ts'

let folders: string[] = []

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'monit-dashboard-'))
  folders.push(dir)
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
  return dir
}

/** Builds an app with the dashboard routes on dir and returns it with the log lines it wrote. */
async function appOn(dir: string): Promise<{ app: FastifyInstance; logs: Record<string, unknown>[] }> {
  const logs: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') logs.push(JSON.parse(line))
      done()
    },
  })
  const app = Fastify()
  await app.register((scope) => dashboardRoutes(scope, pino(sink), dir))
  await app.ready()
  return { app, logs }
}

test.after(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true })
  folders = []
})

test('bundle served at / and /ui/', async () => {
  const dir = await folder({
    'index.html': '<!doctype html><title>monit</title><script type="module" src="/ui/app.js"></script>',
    'app.js': 'console.log("dashboard")',
    'app.css': 'body { color: red }',
  })
  const { app, logs } = await appOn(dir)
  const page = await app.inject({ method: 'GET', url: '/' })
  assert.is(page.statusCode, 200)
  assert.match(String(page.headers['content-type']), 'text/html')
  assert.is(page.headers['cache-control'], 'no-cache')
  assert.match(page.body, '/ui/app.js')

  const script = await app.inject({ method: 'GET', url: '/ui/app.js' })
  assert.is(script.statusCode, 200)
  assert.match(String(script.headers['content-type']), 'javascript')
  assert.is(script.body, 'console.log("dashboard")')
  const style = await app.inject({ method: 'GET', url: '/ui/app.css' })
  assert.is(style.statusCode, 200)
  assert.match(String(style.headers['content-type']), 'text/css')

  assert.is((await app.inject({ method: 'GET', url: '/ui/missing.js' })).statusCode, 404)
  assert.is((await app.inject({ method: 'GET', url: '/ui/../../etc/passwd' })).statusCode, 404)
  assert.ok(logs.some((line) => line.msg === 'serving the dashboard at /' && line.dir === dir))
  await app.close()
})

test('missing bundle names the build command', async () => {
  const dir = await folder({})
  const { app, logs } = await appOn(dir)
  const page = await app.inject({ method: 'GET', url: '/' })
  assert.is(page.statusCode, 503)
  assert.match(String(page.headers['content-type']), 'text/html')
  assert.match(page.body, BUILD_COMMAND)
  assert.match(page.body, dir)

  const script = await app.inject({ method: 'GET', url: '/ui/app.js' })
  assert.is(script.statusCode, 404)
  assert.is(script.json().code, 'MONIT_ERR_DASHBOARD_NOT_BUILT')
  assert.match(script.json().message, BUILD_COMMAND)

  const warning = logs.find((line) => line.msg === 'dashboard bundle not found, so / shows how to build it')
  assert.ok(warning, 'a warning names the folder')
  assert.is(warning!.dir, dir)
  assert.is(warning!.level, 40)
  await app.close()
})

test.run()
