// Starts a real controller in this process for tests: SQLite (or a given
// database URL) and chDB under a temporary folder, listening on 127.0.0.1.
// The REST API needs a JWT: tokenFor(role) logs in as a user of that role,
// and inject() sends the token with each request.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { pino } from 'pino'
import { loadControllerConfig } from '../controller/src/config.ts'
import { buildController, type Controller } from '../controller/src/app.ts'
import { Role } from '../controller/src/auth/roles.ts'

/** Password of the first admin user of every test controller, unless a test changes MONIT_ADMIN_PASSWORD. */
export const TEST_ADMIN_PASSWORD = 'test-admin-password-0123'
/** Signing secret of every test controller, so tests can make tokens of their own. */
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdef-0123456789'

export interface TestControllerOptions {
  /** MONIT_* variables read besides the flags. They replace the test defaults, and undefined unsets one. */
  env?: Record<string, string | undefined>
}

export interface TestController {
  controller: Controller
  /** Base URL, such as http://127.0.0.1:41234. */
  url: string
  agentToken: string
  dataDir: string
  /** Password of the `admin` user, or undefined when the controller made a random one. */
  adminPassword: string | undefined
  /** A token of a user with the role: `admin` for admin, else `test-<role>`, created on first use. */
  tokenFor(role?: Role): Promise<string>
  /** The Authorization header of tokenFor(role), for fetch(). */
  authHeaders(role?: Role): Promise<{ authorization: string }>
  /** app.inject() with the token of `role` (default admin). */
  inject(options: InjectOptions, role?: Role): Promise<LightMyRequestResponse>
  stop(): Promise<void>
}

/** Password of the users that tokenFor creates. */
export function testPasswordOf(role: Role): string {
  return `test-${role}-password`
}

export async function startTestController(extraArgs: string[] = [], options: TestControllerOptions = {}): Promise<TestController> {
  const dataDir = await mkdtemp(join(tmpdir(), 'monit-controller-'))
  const agentToken = 'test-agent-token-0123456789'
  const env = { MONIT_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD, MONIT_JWT_SECRET: TEST_JWT_SECRET, ...options.env }
  const config = loadControllerConfig(
    ['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--agent-token', agentToken, '--flush-ms', '200', ...extraArgs],
    env,
  )
  const logger = pino({ level: process.env.MONIT_TEST_LOG_LEVEL ?? 'warn' })
  const controller = await buildController(config, logger)
  const url = await controller.listen()
  const tokenFor = tokenSource(controller, config.adminPassword)
  const authHeaders = async (role: Role = Role.admin) => ({ authorization: `Bearer ${await tokenFor(role)}` })

  return {
    controller,
    url,
    agentToken,
    dataDir,
    adminPassword: config.adminPassword,
    tokenFor,
    authHeaders,
    inject: async (request, role = Role.admin) => {
      const headers = { ...request.headers, ...(await authHeaders(role)) }
      return controller.app.inject({ ...request, headers })
    },
    stop: async () => {
      await controller.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** Logs in once per role, creating the test user first, and caches the token. */
function tokenSource(controller: Controller, adminPassword: string | undefined): (role?: Role) => Promise<string> {
  const tokens = new Map<Role, Promise<string>>()

  const login = async (username: string, password: string): Promise<string> => {
    const response = await controller.app.inject({ method: 'POST', url: '/api/auth/jwt/v1', payload: { username, password } })
    if (response.statusCode !== 200) throw new Error(`login as ${username} failed: ${response.statusCode} ${response.body}`)
    return response.json().token as string
  }

  const create = async (role: Role): Promise<string> => {
    if (role === Role.admin) {
      if (adminPassword === undefined) throw new Error('this test controller has a random admin password; set MONIT_ADMIN_PASSWORD')
      return login('admin', adminPassword)
    }
    const username = `test-${role}`
    const response = await controller.app.inject({
      method: 'POST',
      url: `/api/config/user/v1/${username}/create`,
      headers: { authorization: `Bearer ${await tokenFor(Role.admin)}` },
      payload: { password: testPasswordOf(role), role },
    })
    // 409: the test created the user itself.
    if (response.statusCode !== 201 && response.statusCode !== 409) {
      throw new Error(`creating user ${username} failed: ${response.statusCode} ${response.body}`)
    }
    return login(username, testPasswordOf(role))
  }

  const tokenFor = (role: Role = Role.admin): Promise<string> => {
    let token = tokens.get(role)
    if (token === undefined) {
      token = create(role)
      tokens.set(role, token)
      // A failed login is not cached, so the next call tries again.
      token.catch(() => tokens.delete(role))
    }
    return token
  }
  return tokenFor
}

/** Polls until check returns a value other than undefined, or fails after timeoutMs. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (error) {
      lastError = error
    }
    await new Promise((done) => setTimeout(done, everyMs))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`)
}
