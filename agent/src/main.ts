#!/usr/bin/env node
import { pino, type Logger } from 'pino'
import { PROTOCOL_VERSION } from '@monit/protocol'
import { agentHelp, ConfigError, loadAgentConfig, type AgentConfig } from './config.ts'
import { Agent } from './agent.ts'
import { startMetricsServer, type MetricsServer } from './metrics/server.ts'
import { AGENT_VERSION } from './version.ts'

const usage = `usage: monit-agent --controller URL [options]

The token is best given in MONIT_AGENT_TOKEN, so that it does not show in
the process list. Options (each also read from its environment variable):
${agentHelp()}
  --help                  print this text
  --version               print the agent and protocol versions`

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage)
    return 0
  }
  if (argv.includes('--version')) {
    console.log(`monit-agent ${AGENT_VERSION} (protocol ${PROTOCOL_VERSION})`)
    return 0
  }

  let config
  try {
    config = loadAgentConfig(argv)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(`monit-agent: ${error.message}`)
    return 2
  }

  const log = pino({ level: config.logLevel, redact: { paths: ['token', '*.token'], censor: '[redacted]' } })
  const agent = new Agent(config, log)
  agent.start()
  let stopping = false
  const stopRequested = new Promise<number>((done) => {
    process.once('SIGINT', () => done(0))
    process.once('SIGTERM', () => done(0))
    // Started by a controller with an IPC channel (its local agent): the channel
    // closes when that controller dies, even by SIGKILL, and the agent must not outlive it.
    if (process.send !== undefined) {
      const parentGone = () => {
        if (stopping) return
        log.warn('the controller that started this agent is gone; stopping')
        done(0)
      }
      // The channel may have closed while this process was still loading.
      if (process.connected) process.once('disconnect', parentGone)
      else parentGone()
    }
    agent.onFatal(() => done(3))
  })
  const metricsServer = await serveMetrics(config, agent, log)

  const exitCode = await stopRequested
  stopping = true
  log.info({ exit_code: exitCode }, 'agent stopping')
  await metricsServer?.close()
  await agent.stop()
  // An open IPC channel keeps the process alive, so a local agent stopped by a signal closes it.
  if (process.connected) process.disconnect()
  return exitCode
}

/**
 * Starts the /metrics and /healthz server unless it is turned off. An
 * address that cannot be bound is logged and the agent runs on without it,
 * because monitoring the streams matters more than its own metrics.
 */
async function serveMetrics(config: AgentConfig, agent: Agent, log: Logger): Promise<MetricsServer | undefined> {
  if (config.metricsListen === undefined) return undefined
  const logger = log.child({ component: 'metrics' })
  try {
    return await startMetricsServer({
      listen: config.metricsListen,
      metrics: agent.metrics,
      controllerConnected: () => agent.controllerConnected,
      logger,
    })
  } catch (error) {
    const { host, port } = config.metricsListen
    logger.error({ err: error, host, port }, 'metrics server failed to listen; running without /metrics (set --metrics-listen)')
    return undefined
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    console.error('monit-agent: failed:', error)
    process.exitCode = 1
  },
)
