// Runs the agent as a real child process for tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const entry = fileURLToPath(new URL('../agent/src/main.ts', import.meta.url))

export interface AgentProcess {
  child: ChildProcess
  /** Everything the agent printed so far (pino JSON lines). */
  output(): string
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>
  stop(): Promise<number | null>
}

export function startAgentProcess(options: { controllerUrl: string; token: string; id: string; args?: string[] }): AgentProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', entry, '--controller', options.controllerUrl, '--id', options.id, '--name', options.id, ...(options.args ?? [])],
    {
      env: {
        ...process.env,
        MONIT_AGENT_TOKEN: options.token,
        MONIT_LOG_LEVEL: process.env.MONIT_TEST_LOG_LEVEL ?? 'info',
        // Any free port, so that test agents never take the default 9464; --metrics-listen overrides it.
        MONIT_AGENT_METRICS_LISTEN: '127.0.0.1:0',
        // A spool folder of its own, unless the test gives --data-dir to share one across restarts.
        MONIT_AGENT_DATA_DIR: mkdtempSync(join(tmpdir(), `monit-agent-${options.id}-`)),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))

  return {
    child,
    output: () => output,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}

/** Waits for the agent's "metrics server listening" log line and returns its base URL. */
export async function waitForMetricsUrl(agent: Pick<AgentProcess, 'output'>, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const match = /"url":"(http:[^"]+)"[^\n]*"msg":"metrics server listening"/.exec(agent.output())
    if (match) return match[1]!
    await new Promise((done) => setTimeout(done, 100))
  }
  throw new Error(`the agent logged no "metrics server listening" line within ${timeoutMs} ms:\n${agent.output()}`)
}
