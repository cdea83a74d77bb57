// Starts a real controller in this process for tests: SQLite (or a given
// database URL) and chDB under a temporary folder, listening on 127.0.0.1.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { loadControllerConfig } from '../controller/src/config.ts'
import { buildController, type Controller } from '../controller/src/app.ts'

export interface TestController {
  controller: Controller
  /** Base URL, such as http://127.0.0.1:41234. */
  url: string
  agentToken: string
  dataDir: string
  stop(): Promise<void>
}

export async function startTestController(extraArgs: string[] = []): Promise<TestController> {
  const dataDir = await mkdtemp(join(tmpdir(), 'monit-controller-'))
  const agentToken = 'test-agent-token-0123456789'
  const config = loadControllerConfig(
    ['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--agent-token', agentToken, '--flush-ms', '200', ...extraArgs],
    {},
  )
  const logger = pino({ level: process.env.MONIT_TEST_LOG_LEVEL ?? 'warn' })
  const controller = await buildController(config, logger)
  const url = await controller.listen()

  return {
    controller,
    url,
    agentToken,
    dataDir,
    stop: async () => {
      await controller.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
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
