// The controller's local agent (`--local-agent`, what `make run` starts) must
// not outlive its controller: killed with SIGKILL, the controller runs no
// cleanup, and an orphaned agent would keep its port and its probes. Stopped
// with a signal (Ctrl-C on `make run`), both must exit on their own.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { waitFor } from '../testing/controller.ts'
import { freePort } from '../testing/ports.ts'
import { descendants } from '../testing/processes.ts'

const PASSWORD = 'local-agent-test-password'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Returns true once the controller lists the agent `local` as connected, else undefined. */
async function localAgentConnected(port: number): Promise<true | undefined> {
  const base = `http://127.0.0.1:${port}`
  const login = await fetch(`${base}/api/auth/jwt/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: PASSWORD }),
  })
  const { token } = (await login.json()) as { token: string }
  const response = await fetch(`${base}/api/agents/v1/local`, { headers: { authorization: `Bearer ${token}` } })
  if (response.status !== 200) return undefined
  return ((await response.json()) as { connected: boolean }).connected ? true : undefined
}

/** Starts a controller with its local agent and waits until the agent is connected; returns both processes. */
async function startWithLocalAgent(dataDir: string) {
  const port = await freePort()
  const controller = spawn(
    process.execPath,
    ['--import', 'tsx', 'controller/src/main.ts', '--local-agent', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir],
    {
      env: { ...process.env, MONIT_ADMIN_PASSWORD: PASSWORD, MONIT_LOG_LEVEL: 'warn', MONIT_AGENT_METRICS_LISTEN: 'off' },
      stdio: 'ignore',
    },
  )
  const agentPid = await waitFor(
    'the local agent process',
    () => descendants(controller.pid!).find((child) => child.name === 'node' || child.name.startsWith('MainThread'))?.pid,
    60_000,
    250,
  )
  await waitFor('the local agent to connect', () => localAgentConnected(port), 60_000, 500)
  return { controller, agentPid }
}

for (const signal of ['SIGKILL', 'SIGINT', 'SIGTERM'] as const) {
  test(`local agent stops after ${signal} to the controller`, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'monit-local-agent-'))
    let started: Awaited<ReturnType<typeof startWithLocalAgent>> | undefined
    try {
      started = await startWithLocalAgent(dataDir)
      const { controller, agentPid } = started
      // Ctrl-C reaches the whole process group; a service manager signals the controller alone.
      controller.kill(signal)
      if (signal === 'SIGINT') process.kill(agentPid, 'SIGINT')
      await waitFor('the local agent to exit', () => (alive(agentPid) ? undefined : true), 20_000, 250)
      await waitFor('the controller to exit', () => (alive(controller.pid!) ? undefined : true), 20_000, 250)
      assert.is(alive(agentPid), false)
      assert.is(alive(controller.pid!), false)
    } finally {
      if (started !== undefined) {
        if (alive(started.controller.pid!)) started.controller.kill('SIGKILL')
        if (alive(started.agentPid)) process.kill(started.agentPid, 'SIGKILL')
      }
      await rm(dataDir, { recursive: true, force: true })
    }
  })
}

test.run()
