#!/usr/bin/env node
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import type { Logger } from 'pino'
import { ConfigError, controllerHelp, loadControllerConfig, type ControllerConfig } from './config.ts'
import { buildController, createLogger } from './app.ts'
import { openRepository } from './repository/index.ts'
import { CONTROLLER_VERSION } from './version.ts'

/** Command that starts the controller from a checkout (the npm bin name is not on PATH). */
const COMMAND = 'node --import tsx controller/src/main.ts'

const usage = `usage: ${COMMAND} [serve] [options]
       ${COMMAND} tokens create --name NAME [--database URL | --data-dir DIR]
       ${COMMAND} tokens list [--database URL | --data-dir DIR]
       ${COMMAND} tokens revoke ID [--database URL | --data-dir DIR]

The tokens commands work on the settings database directly, so give them the
controller's --database (or MONIT_DATABASE) or --data-dir.

Options (each also read from its environment variable):
${controllerHelp()}
  --help                       print this text
  --version                    print the version`

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage)
    return 0
  }
  if (argv.includes('--version')) {
    console.log(`monit-controller ${CONTROLLER_VERSION}`)
    return 0
  }

  const [command = 'serve', ...rest] = argv[0]?.startsWith('-') === false ? argv : ['serve', ...argv]
  try {
    if (command === 'serve') return await serve(loadControllerConfig(rest))
    if (command === 'tokens') return await tokens(rest)
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`monit-controller: ${error.message}`)
      return 2
    }
    throw error
  }
  console.error(`monit-controller: unknown command "${command}"; expected serve or tokens\n\n${usage}`)
  return 2
}

async function serve(config: ControllerConfig): Promise<number> {
  const logger = createLogger(config.logLevel)
  if (config.localAgent && config.agentToken === undefined) {
    // The local agent gets a token that lives only as long as this process.
    config = { ...config, agentToken: randomBytes(32).toString('base64url') }
  }
  const controller = await buildController(config, logger)
  let address: string
  try {
    address = await controller.listen()
  } catch (error) {
    await controller.close()
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      throw new ConfigError('--listen / MONIT_LISTEN', `cannot listen on ${config.host}:${config.port} (${code}); choose another address or port`)
    }
    throw error
  }
  const agent = config.localAgent ? startLocalAgent(address, config, logger) : undefined

  printWelcome(address, config)
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'controller stopping')
      done()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })

  await agent?.stop()
  await controller.close()
  logger.info('controller stopped')
  return 0
}

function printWelcome(address: string, config: ControllerConfig): void {
  const storage = config.clickhouseUrl === undefined ? `chDB in ${config.dataDir}/chdb` : 'ClickHouse server'
  console.log(`
monit controller ${CONTROLLER_VERSION} is listening on ${address}
  settings: ${config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl : 'MySQL'}; time series: ${storage}
  streams:  ${address}/api/state/streams/v1
  agents:   ${address}/api/agents/v1

Log in (the admin password is the one printed when the data folder was created,
or MONIT_ADMIN_PASSWORD), then add a stream (make demo-stream publishes one):
  TOKEN=$(curl -s ${address}/api/auth/jwt/v1 -H 'content-type: application/json' \\
          -d '{"username":"admin","password":"PASSWORD"}' | sed 's/.*"token":"\\([^"]*\\)".*/\\1/')
  curl -X POST ${address}/api/state/streams/v1/demo/create -H "authorization: Bearer $TOKEN" \\
       -H 'content-type: application/json' -d '{"url":"http://127.0.0.1:8090/live/index.m3u8"}'
Then read its metrics:
  curl -H "authorization: Bearer $TOKEN" '${address}/api/query/metrics/v1?stream_id=demo'
`)
}

interface LocalAgent {
  stop(): Promise<void>
}

/** Milliseconds the local agent gets to stop after SIGTERM before it is killed. */
const LOCAL_AGENT_STOP_MS = 10_000

/** Runs one agent process beside the controller and restarts it if it dies. */
function startLocalAgent(address: string, config: ControllerConfig, logger: Logger): LocalAgent {
  const entry = fileURLToPath(new URL('../../agent/src/main.ts', import.meta.url))
  const log = logger.child({ component: 'local-agent' })
  let child: ChildProcess | undefined
  let stopping = false
  let restartDelayMs = 1000

  const launch = () => {
    child = spawn(
      process.execPath,
      [...process.execArgv, entry, '--controller', address, '--name', 'local', '--id', 'local', '--data-dir', resolve(config.dataDir, 'agent')],
      // The IPC channel lets the agent notice when this process dies, even by SIGKILL, and stop too.
      { env: { ...process.env, MONIT_AGENT_TOKEN: config.agentToken, MONIT_LOG_LEVEL: config.logLevel }, stdio: ['inherit', 'inherit', 'inherit', 'ipc'] },
    )
    log.info({ pid: child.pid }, 'local agent started')
    child.on('error', (error) => log.error({ err: error }, 'local agent failed to start'))
    child.on('exit', (code, signal) => {
      if (stopping) return
      log.warn({ code, signal, restart_in_ms: restartDelayMs }, 'local agent exited; restarting')
      setTimeout(launch, restartDelayMs).unref()
      restartDelayMs = Math.min(restartDelayMs * 2, 30_000)
    })
  }
  launch()

  return {
    stop: () =>
      new Promise<void>((done) => {
        stopping = true
        const running = child
        if (running === undefined || running.exitCode !== null || running.signalCode !== null) return done()
        // The agent journals each row to its spool as it comes, so a kill after the wait loses none of them.
        const kill = setTimeout(() => {
          log.warn({ pid: running.pid, waited_ms: LOCAL_AGENT_STOP_MS }, 'local agent did not stop in time; killing it')
          running.kill('SIGKILL')
        }, LOCAL_AGENT_STOP_MS)
        running.once('exit', () => {
          clearTimeout(kill)
          done()
        })
        running.kill('SIGTERM')
      }),
  }
}

async function tokens(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { name: { type: 'string' }, database: { type: 'string' }, 'data-dir': { type: 'string' } },
    allowPositionals: true,
  })
  const config = loadControllerConfig([
    ...(values.database === undefined ? [] : ['--database', values.database]),
    ...(values['data-dir'] === undefined ? [] : ['--data-dir', values['data-dir']]),
  ])
  const logger = createLogger('warn')
  const repository = await openRepository(config.databaseUrl, logger)
  try {
    const [action, id] = positionals
    if (action === 'create') {
      if (values.name === undefined) throw new ConfigError('--name', 'missing; give the token a name, such as the edge host')
      const created = await repository.createAgentToken(values.name)
      // The notice goes to stderr, so that `> FILE` keeps only the token, as with the operator CLI.
      process.stderr.write(`created agent token ${created.id} (${created.name}); store it now, it is not shown again\n`)
      console.log(created.token)
      return 0
    }
    if (action === 'list') {
      for (const token of await repository.listAgentTokens()) {
        console.log(`${token.id}\t${token.name}\tcreated ${token.created_at}${token.revoked_at ? `\trevoked ${token.revoked_at}` : ''}`)
      }
      return 0
    }
    if (action === 'revoke' && id !== undefined) {
      const revoked = await repository.revokeAgentToken(id)
      console.log(revoked ? `revoked agent token ${id}` : `agent token ${id} not found`)
      return revoked ? 0 : 1
    }
    console.error('monit-controller: usage: tokens create --name NAME | tokens list | tokens revoke ID')
    return 2
  } finally {
    await repository.close()
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code)
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(`monit-controller: ${error.message}`)
      process.exit(2)
    }
    // One line for the operator. The stack is printed only when MONIT_LOG_LEVEL requests debug output.
    const message = error instanceof Error ? error.message : String(error)
    const debug = process.env.MONIT_LOG_LEVEL === 'debug' || process.env.MONIT_LOG_LEVEL === 'trace'
    console.error(`monit-controller: failed: ${message}`)
    if (debug) console.error(error)
    else console.error('monit-controller: set MONIT_LOG_LEVEL=debug to print the stack trace')
    // Open handles (the database pool, chDB, timers) would keep a failed start alive.
    process.exit(1)
  },
)
