// Test helper: runs a throwaway clickhouse-server as the current user, in a
// temp folder, on free loopback ports, and stops it again.
//
//   const bin = findClickHouseServer()
//   if (bin === undefined) test.skip(...)        // CI installs the package
//   const server = await startClickHouseServer({ bin })
//   ... server.url ...                           // http://127.0.0.1:PORT
//   await server.stop()                          // kills, reaps, removes the folder
//
// MONIT_CLICKHOUSE_LOG_LEVEL (default warning) sets the server's log level.
// The package's /etc/clickhouse-server/config.xml is used as it is; every
// path and port in it is overridden on the command line, so nothing under
// /var is touched and no fixed port is taken. Overrides for keys an old
// server does not know (mysql_port on 18.16...) are ignored by it. With
// `configOverride` the package's config.xml and users.xml are copied into
// the temp folder, and the override goes into the copy's config.d, which
// the server merges over config.xml (for remote_servers, zookeeper, macros).
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { freePorts } from './ports.ts'

export const DEFAULT_CLICKHOUSE_CONFIG = '/etc/clickhouse-server/config.xml'

export interface ClickHouseServer {
  /** http://127.0.0.1:PORT, user 'default' without a password. */
  readonly url: string
  readonly httpPort: number
  readonly tcpPort: number
  /** Port on 127.0.0.1 (interserver_http_host) that other replicas fetch parts from. */
  readonly interserverPort: number
  /** The temp folder holding data, logs and the server's own files. */
  readonly dir: string
  readonly pid: number
  /** The last lines of the server's error log and output, for failure messages. */
  logTail(lines?: number): string
  /** Sends a signal to the server process, such as SIGSTOP and SIGCONT for an outage test. */
  signal(signal: NodeJS.Signals): void
  /** Resolves once the server process has exited. */
  readonly exited: Promise<void>
  /** SIGTERM, SIGKILL after a grace period, waits for the exit and removes the folder. Idempotent. */
  stop(): Promise<void>
}

export interface StartOptions {
  /** The server binary; default findClickHouseServer(). */
  bin?: string
  configFile?: string
  /** How long to wait for GET /ping to answer. Default 30 s. */
  startTimeoutMs?: number
  /** Keep the temp folder after stop() (also with MONIT_KEEP_CLICKHOUSE_DIR=1). */
  keepDir?: boolean
  /** XML merged over config.xml from a config.d file, a whole `<yandex>...</yandex>` document. */
  configOverride?: string
  /**
   * Reuse this folder (data, logs, config copy) instead of a new temp folder,
   * to restart a stopped server on its own data. The folder is kept after stop().
   */
  dir?: string
  /** Fixed ports, such as those of the server being restarted; default free ones. */
  ports?: { http: number; tcp: number; interserver: number }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The clickhouse-server binary: $MONIT_CLICKHOUSE_SERVER, else the first on
 * PATH or in /usr/bin, /usr/sbin (where Debian puts it), /usr/local/bin.
 * Undefined when there is none, or when its config file is missing.
 */
export function findClickHouseServer(configFile = DEFAULT_CLICKHOUSE_CONFIG): string | undefined {
  if (!existsSync(configFile)) return undefined
  const fromEnv = process.env.MONIT_CLICKHOUSE_SERVER
  if (fromEnv) return isExecutable(fromEnv) ? fromEnv : undefined
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/sbin', '/usr/local/bin']
  for (const dir of dirs) {
    if (dir === '') continue
    const candidate = join(dir, 'clickhouse-server')
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}


function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

async function pingOnce(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) })
    return response.ok && (await response.text()).startsWith('Ok.')
  } catch {
    return false
  }
}

/** Copies the package config into `${dir}/etc` and writes the override into its config.d; returns the copy's path. */
function writeConfigCopy(dir: string, configFile: string, override: string): string {
  const etc = join(dir, 'etc')
  mkdirSync(join(etc, 'config.d'), { recursive: true })
  copyFileSync(configFile, join(etc, 'config.xml'))
  const users = join(dirname(configFile), 'users.xml')
  if (existsSync(users)) copyFileSync(users, join(etc, 'users.xml'))
  writeFileSync(join(etc, 'config.d', 'monit-test.xml'), override)
  return join(etc, 'config.xml')
}

async function startOnce(bin: string, configFile: string, startTimeoutMs: number, options: StartOptions): Promise<ClickHouseServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'monit-clickhouse-'))
  const keepDir = options.keepDir === true || options.dir !== undefined
  const [freeHttp, freeTcp, freeInterserver, mysqlPort, postgresPort] = (await freePorts(5)) as [number, number, number, number, number]
  const httpPort = options.ports?.http ?? freeHttp
  const tcpPort = options.ports?.tcp ?? freeTcp
  const interserverPort = options.ports?.interserver ?? freeInterserver
  const config = options.configOverride === undefined ? configFile : writeConfigCopy(dir, configFile, options.configOverride)
  const args = [
    `--config-file=${config}`,
    '--',
    `--path=${dir}/`,
    `--tmp_path=${dir}/tmp/`,
    `--user_files_path=${dir}/user_files/`,
    `--format_schema_path=${dir}/format_schemas/`,
    `--user_directories.local_directory.path=${dir}/access/`,
    `--logger.log=${dir}/log/server.log`,
    `--logger.errorlog=${dir}/log/server.err.log`,
    `--logger.level=${process.env.MONIT_CLICKHOUSE_LOG_LEVEL ?? 'warning'}`,
    '--listen_host=127.0.0.1',
    `--http_port=${httpPort}`,
    `--tcp_port=${tcpPort}`,
    `--interserver_http_port=${interserverPort}`,
    '--interserver_http_host=127.0.0.1',
    `--mysql_port=${mysqlPort}`,
    `--postgresql_port=${postgresPort}`,
  ]
  // Same process group as the test: the test runner's kill of a failed file takes the server too.
  const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  let spawnError: Error | undefined
  child.once('error', (error) => (spawnError = error))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)

  const url = `http://127.0.0.1:${httpPort}`
  let stopping: Promise<void> | undefined
  const server: ClickHouseServer = {
    url,
    httpPort,
    tcpPort,
    interserverPort,
    dir,
    pid: child.pid ?? -1,
    exited,
    signal(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
    logTail(lines = 20) {
      let errorLog = ''
      try {
        errorLog = readFileSync(join(dir, 'log', 'server.err.log'), 'utf8')
      } catch {
        // not written yet
      }
      return `${errorLog}\n${output}`.trim().split('\n').slice(-lines).join('\n')
    },
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGCONT') // a stopped process would not act on SIGTERM
          child.kill('SIGTERM')
          if (!(await waitForExit(child, 10_000))) {
            child.kill('SIGKILL')
            await waitForExit(child, 10_000)
          }
        }
        process.removeListener('exit', killOnExit)
        if (!keepDir && !process.env.MONIT_KEEP_CLICKHOUSE_DIR) rmSync(dir, { recursive: true, force: true })
      })()
      return stopping
    },
  }

  const deadline = Date.now() + startTimeoutMs
  while (Date.now() < deadline) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) break
    if (await pingOnce(url)) return server
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const why = spawnError
    ? `could not run ${bin}: ${spawnError.message}`
    : child.exitCode !== null || child.signalCode !== null
      ? `${bin} exited (${child.exitCode ?? child.signalCode}) before answering /ping`
      : `${bin} did not answer ${url}/ping within ${startTimeoutMs} ms`
  const tail = server.logTail()
  await server.stop()
  throw new Error(`${why}\n${tail}`)
}

/**
 * Starts clickhouse-server and resolves once GET /ping answers. Tries up to
 * three times, since a "free" port can be taken between the check and the bind.
 */
export async function startClickHouseServer(options: StartOptions = {}): Promise<ClickHouseServer> {
  const configFile = options.configFile ?? DEFAULT_CLICKHOUSE_CONFIG
  const bin = options.bin ?? findClickHouseServer(configFile)
  if (bin === undefined) throw new Error(`clickhouse-server not found (or ${configFile} missing); install the clickhouse-server package`)
  let lastError: unknown
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(bin, configFile, options.startTimeoutMs ?? 30_000, options)
    } catch (error) {
      lastError = error
    }
  }
  throw lastError
}
