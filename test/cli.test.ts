// The operator CLI run as a child process against a real test controller.
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestController, TEST_ADMIN_PASSWORD, waitFor, type TestController } from '../testing/controller.ts'
import { startAgentProcess, type AgentProcess } from '../testing/agent.ts'

const root = fileURLToPath(new URL('..', import.meta.url))

let server: TestController
let tempDir: string
/** Config folders: one per logged-in user, and one that stays empty. */
let adminDir: string
let viewerDir: string
let emptyDir: string
let agent: AgentProcess | undefined

interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

interface RunOptions {
  configDir?: string
  stdin?: string
  env?: Record<string, string>
}

/** Runs `monit ARGS` and collects its exit code and output. */
function monit(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, MONIT_CONFIG_DIR: options.configDir ?? adminDir, ...options.env }
  if (options.env?.MONIT_PASSWORD === undefined) delete env.MONIT_PASSWORD
  if (options.env?.MONIT_CONTROLLER === undefined) delete env.MONIT_CONTROLLER
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/src/main.ts', ...args], { cwd: root, env })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  child.stdin.end(options.stdin ?? '')
  return new Promise((done) => child.once('close', (code) => done({ code, stdout, stderr })))
}

/** Runs monit and fails the test with its stderr unless it exits 0. */
async function ok(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await monit(args, options)
  assert.is(result.code, 0, `monit ${args.join(' ')}: ${result.stderr}`)
  return result
}

test.before(async () => {
  server = await startTestController(['--login-rate-limit', '1000', '--token-recheck', '1'])
  tempDir = await mkdtemp(join(tmpdir(), 'monit-cli-'))
  adminDir = join(tempDir, 'admin')
  viewerDir = join(tempDir, 'viewer')
  emptyDir = join(tempDir, 'empty')
})

test.after(async () => {
  await agent?.stop()
  await server.stop()
  await rm(tempDir, { recursive: true, force: true })
})

test('bad flag exits 2', async () => {
  const result = await monit(['streams', 'list', '--bogus'])
  assert.is(result.code, 2)
  assert.match(result.stderr, /^monit: .*--bogus/)
  assert.is((await monit(['streams', 'create', 'x'])).code, 2, 'create without --url')
  assert.is((await monit(['streams', 'create', 'x', '--url', 'http://a/x.m3u8', '--weight', 'two'])).code, 2)
  assert.is((await monit(['nonsense'])).code, 2, 'unknown command')
  assert.is((await monit(['streams', 'frobnicate'])).code, 2, 'unknown action')
})

test('help lists actions and exit codes', async () => {
  const result = await ok(['streams', '--help'])
  assert.match(result.stdout, 'monit streams create ID --url URL')
  assert.match(result.stdout, '5  not found (404)')
  const create = await ok(['streams', 'create', '--help'])
  assert.match(create.stdout, '--interval S')
})

test('not logged in exits 3', async () => {
  const result = await monit(['streams', 'list'], { configDir: emptyDir })
  assert.is(result.code, 3)
  assert.match(result.stderr, 'not logged in')
})

test('expired token exits 3', async () => {
  const dir = join(tempDir, 'expired')
  await mkdir(dir)
  const expired = { controller: server.url, token: 'x', expires_at: '2000-01-01T00:00:00.000Z' }
  await writeFile(join(dir, 'credentials.json'), JSON.stringify(expired))
  const result = await monit(['streams', 'list'], { configDir: dir })
  assert.is(result.code, 3)
  assert.match(result.stderr, 'token expired at 2000-01-01T00:00:00.000Z')
})

test('login stores token with mode 0600', async () => {
  const login = ['login', '--controller', server.url, '--username', 'admin', '--password-stdin']
  const result = await ok(login, { stdin: `${TEST_ADMIN_PASSWORD}\n` })
  assert.match(result.stdout, 'logged in')

  const path = join(adminDir, 'credentials.json')
  assert.is((await stat(path)).mode & 0o777, 0o600)
  const stored = JSON.parse(await readFile(path, 'utf8'))
  assert.is(stored.controller, server.url)
  assert.type(stored.token, 'string')
  assert.ok(Date.parse(stored.expires_at) > Date.now(), 'expires_at in the future')
})

test('login with wrong password exits 3', async () => {
  const login = ['login', '--controller', server.url, '--username', 'admin']
  const result = await monit(login, { configDir: emptyDir, env: { MONIT_PASSWORD: 'wrong-password' } })
  assert.is(result.code, 3)
  assert.match(result.stderr, 'invalid username or password (MONIT_ERR_UNAUTHORIZED)')
  const missing = await monit(login, { configDir: emptyDir })
  assert.is(missing.code, 2, 'no password given')
})

test('streams create, list, show', async () => {
  const create = ['streams', 'create', 'news-1', '--url', 'http://127.0.0.1:9/news.m3u8']
  const flags = ['--label', 'region=eu', '--label', 'tier=gold', '--interval', '20', '--sample', '5', '--weight', '3']
  const created = await ok([...create, ...flags, '--json'])
  const body = JSON.parse(created.stdout)
  assert.is(body.id, 'news-1')
  assert.equal(body.labels, { region: 'eu', tier: 'gold' })
  assert.is(body.probe.interval_s, 20)
  assert.is(body.probe.sample_s, 5)
  assert.is(body.weight, 3)

  const table = await ok(['streams', 'list'])
  const [header, row] = table.stdout.trimEnd().split('\n')
  assert.match(header ?? '', /^ID\s+DESIRED\s+STATUS\s+AGENT\s+WEIGHT\s+URL$/)
  assert.match(row ?? '', /^news-1\s+up\s+\S+\s+\S+\s+3\s+http:\/\/127\.0\.0\.1:9\/news\.m3u8$/)

  const listed = JSON.parse((await ok(['streams', 'list', '--json'])).stdout)
  assert.equal(listed.streams.map((stream: { id: string }) => stream.id), ['news-1'])

  const shown = await ok(['streams', 'show', 'news-1'])
  assert.match(shown.stdout, /^id:\s+news-1$/m)
  assert.match(shown.stdout, /^labels:\s+region=eu,tier=gold$/m)
})

test('streams update, down, up', async () => {
  const updated = JSON.parse((await ok(['streams', 'update', 'news-1', '--weight', '5', '--require', 'region=eu', '--json'])).stdout)
  assert.is(updated.weight, 5)
  assert.equal(updated.required_labels, { region: 'eu' })
  assert.is(updated.probe.interval_s, 20, 'probe unchanged')

  const down = JSON.parse((await ok(['streams', 'down', 'news-1', '--json'])).stdout)
  assert.is(down.desired_state, 'down')
  const shown = await ok(['streams', 'show', 'news-1'])
  assert.match(shown.stdout, /^desired state:\s+down$/m)
  const up = await ok(['streams', 'up', 'news-1'])
  assert.match(up.stdout, /^desired state:\s+up$/m)

  const nothing = await monit(['streams', 'update', 'news-1'])
  assert.is(nothing.code, 2, 'update without flags')
})

test('rejected field exits 2 with server message', async () => {
  const result = await monit(['streams', 'update', 'news-1', '--sample', '30'])
  assert.is(result.code, 2)
  assert.match(result.stderr, 'body/probe/sample_s')
  assert.match(result.stderr, '(MONIT_ERR_INVALID_FIELD)')
})

test('missing stream exits 5 with server message', async () => {
  const result = await monit(['streams', 'show', 'nope'])
  assert.is(result.code, 5)
  assert.is(result.stderr, 'monit: stream "nope" not found (MONIT_ERR_STREAM_NOT_FOUND)\n')
  assert.is(result.stdout, '')
  assert.is((await monit(['agents', 'drain', 'nope'])).code, 5, 'unknown agent')
})

test('duplicate create exits 6', async () => {
  const result = await monit(['streams', 'create', 'news-1', '--url', 'http://127.0.0.1:9/other.m3u8'])
  assert.is(result.code, 6)
  assert.match(result.stderr, 'stream "news-1" already exists (MONIT_ERR_STREAM_EXISTS)')
})

test('network error exits 1', async () => {
  // Port 1 on the loopback address has no listener, so the connection is refused.
  const result = await monit(['streams', 'list', '--controller', 'http://127.0.0.1:1'])
  assert.is(result.code, 1)
  assert.match(result.stderr, 'http://127.0.0.1:1/api/state/streams/v1 failed')
})

test('users create, list, show', async () => {
  const create = ['users', 'create', 'viewer-1', '--role', 'viewer', '--password-stdin']
  const created = await ok(create, { stdin: 'viewer-password-1\n' })
  assert.match(created.stdout, /^role:\s+viewer$/m)

  const table = await ok(['users', 'list'])
  assert.match(table.stdout, /^ID\s+ROLE\s+LAST LOGIN\s+CREATED$/m)
  assert.match(table.stdout, /^viewer-1\s+viewer\s+-\s+\S+$/m)
  const listed = JSON.parse((await ok(['users', 'list', '--json'])).stdout)
  assert.ok(listed.users.some((user: { id: string }) => user.id === 'viewer-1'))

  const duplicate = await monit(create, { stdin: 'viewer-password-1\n' })
  assert.is(duplicate.code, 6)
})

test('viewer role forbidden exits 4', async () => {
  const login = ['login', '--controller', server.url, '--username', 'viewer-1', '--password-stdin']
  await ok(login, { configDir: viewerDir, stdin: 'viewer-password-1' })

  await ok(['streams', 'list'], { configDir: viewerDir })
  const result = await monit(['streams', 'down', 'news-1'], { configDir: viewerDir })
  assert.is(result.code, 4)
  assert.match(result.stderr, '(MONIT_ERR_FORBIDDEN)')
  assert.is((await monit(['tokens', 'list'], { configDir: viewerDir })).code, 4, 'tokens list')
})

test('users update and delete', async () => {
  const updated = JSON.parse((await ok(['users', 'update', 'viewer-1', '--role', 'operator', '--json'])).stdout)
  assert.is(updated.role, 'operator')
  await ok(['users', 'update', 'viewer-1', '--password-stdin'], { stdin: 'viewer-password-2\n' })
  const login = ['login', '--controller', server.url, '--username', 'viewer-1', '--password-stdin']
  await ok(login, { configDir: viewerDir, stdin: 'viewer-password-2' })
  assert.is((await monit(['users', 'update', 'viewer-1'])).code, 2, 'update without flags')

  const deleted = await ok(['users', 'delete', 'viewer-1'])
  assert.is(deleted.stdout, 'deleted user viewer-1\n')
  assert.is((await monit(['users', 'show', 'viewer-1'])).code, 5)
  // The deleted user's token is rejected on the next request.
  assert.is((await monit(['streams', 'list'], { configDir: viewerDir })).code, 3)
})

test('tokens create, list, and agent connects', async () => {
  const created = await ok(['tokens', 'create', 'edge-1'])
  const token = created.stdout.trim()
  assert.match(token, /^mnt_[0-9a-f]{12}_\S+$/)
  assert.match(created.stderr, 'not shown again')

  const listed = JSON.parse((await ok(['tokens', 'list', '--json'])).stdout)
  const row = listed.tokens.find((entry: { name: string }) => entry.name === 'edge-1')
  assert.ok(row, 'token listed')
  assert.is(row.token, undefined, 'no plaintext in list')
  const table = await ok(['tokens', 'list'])
  assert.match(table.stdout, new RegExp(`^${row.id}\\s+edge-1\\s+active\\s`, 'm'))

  agent = startAgentProcess({ controllerUrl: server.url, token, id: 'edge-1' })
  await waitFor('edge-1 connected', async () => {
    const agents = JSON.parse((await ok(['agents', 'list', '--json'])).stdout)
    return agents.agents.some((entry: { id: string; connected: boolean }) => entry.id === 'edge-1' && entry.connected) || undefined
  }, 30_000)
})

test('agents list, drain, undrain, delete', async () => {
  const table = await ok(['agents', 'list'])
  assert.match(table.stdout, /^ID\s+STATUS\s+LOAD\s+STREAMS\s+VERSION\s+LAST SEEN\s+LABELS$/m)
  assert.match(table.stdout, /^edge-1\s+online\s+\d+\/\d+\s/m)

  const drained = await ok(['agents', 'drain', 'edge-1'])
  assert.match(drained.stdout, /^status:\s+draining$/m)
  const undrained = JSON.parse((await ok(['agents', 'undrain', 'edge-1', '--json'])).stdout)
  assert.is(undrained.draining, false)
  const shown = await ok(['agents', 'show', 'edge-1'])
  assert.match(shown.stdout, /^status:\s+online$/m)

  // A connected agent is not deleted: a conflict, with the server's reason.
  const refused = await monit(['agents', 'delete', 'edge-1'])
  assert.is(refused.code, 6)
  assert.match(refused.stderr, 'is connected; stop it first (MONIT_ERR_AGENT_IN_USE)')
  assert.is((await monit(['agents', 'delete', 'nope'])).code, 5, 'unknown agent')
})

test('tokens revoke', async () => {
  const listed = JSON.parse((await ok(['tokens', 'list', '--json'])).stdout)
  const row = listed.tokens.find((entry: { name: string }) => entry.name === 'edge-1')
  const revoked = await ok(['tokens', 'revoke', row.id])
  assert.is(revoked.stdout, `revoked agent token ${row.id}\n`)
  const after = JSON.parse((await ok(['tokens', 'list', '--json'])).stdout)
  assert.type(after.tokens.find((entry: { id: string }) => entry.id === row.id).revoked_at, 'string')
  const missing = await monit(['tokens', 'revoke', '0123456789ab'])
  assert.is(missing.code, 5)
  assert.match(missing.stderr, 'MONIT_ERR_AGENT_TOKEN_NOT_FOUND')
})

test('streams delete', async () => {
  const deleted = JSON.parse((await ok(['streams', 'delete', 'news-1', '--json'])).stdout)
  assert.equal(deleted, { id: 'news-1', deleted: true })
  assert.is((await monit(['streams', 'show', 'news-1'])).code, 5)
})

test('MONIT_CONTROLLER overrides stored URL', async () => {
  const result = await monit(['streams', 'list'], { env: { MONIT_CONTROLLER: 'http://127.0.0.1:1' } })
  assert.is(result.code, 1)
  const flag = await monit(['streams', 'list', '--controller', server.url], { env: { MONIT_CONTROLLER: 'http://127.0.0.1:1' } })
  assert.is(flag.code, 0, '--controller wins over MONIT_CONTROLLER')
})

test('logout removes credentials', async () => {
  const result = await ok(['logout'])
  assert.is(result.stdout, 'logged out\n')
  assert.is((await monit(['streams', 'list'])).code, 3)
})

test.run()
