// Test helper: runs a throwaway clickhouse-server as the current user, in a
// temp folder, on free loopback ports, and stops it again.
//
//   const bin = findClickHouseServer()
//   if (bin === undefined) test.skip(...)        // CI installs the package
//   const server = await startClickHouseServer({ bin })
//   ... server.url ...                           // http://127.0.0.1:PORT
//   await server.stop()                          // kills, reaps, removes the folder
//
// The package's /etc/clickhouse-server/config.xml is used as it is; every
// path and port in it is overridden on the command line, so nothing under
// /var is touched and no fixed port is taken. Overrides for keys an old
// server does not know (mysql_port on 18.16...) are ignored by it.
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

export const DEFAULT_CLICKHOUSE_CONFIG = '/etc/clickhouse-server/config.xml'

export interface ClickHouseServer {
  /** http://127.0.0.1:PORT, user 'default' without a password. */
  readonly url: string
  readonly httpPort: number
  readonly tcpPort: number
  /** The temp folder holding data, logs and the server's own files. */
  readonly dir: string
  readonly pid: number
  /** The last lines of the server's error log and output, for failure messages. */
  logTail(lines?: number): string
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

/** Free loopback TCP ports, held open together so that they differ. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer()
          server.once('error', reject)
          server.listen(0, '127.0.0.1', () => resolve(server))
        }),
    ),
  )
  const ports = servers.map((server) => {
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('no port assigned')
    return address.port
  })
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  return ports
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

async function startOnce(bin: string, configFile: string, startTimeoutMs: number, keepDir: boolean): Promise<ClickHouseServer> {
  const dir = mkdtempSync(join(tmpdir(), 'monit-clickhouse-'))
  const [httpPort, tcpPort, interserverPort, mysqlPort, postgresPort] = (await freePorts(5)) as [number, number, number, number, number]
  const args = [
    `--config-file=${configFile}`,
    '--',
    `--path=${dir}/`,
    `--tmp_path=${dir}/tmp/`,
    `--user_files_path=${dir}/user_files/`,
    `--format_schema_path=${dir}/format_schemas/`,
    `--user_directories.local_directory.path=${dir}/access/`,
    `--logger.log=${dir}/log/server.log`,
    `--logger.errorlog=${dir}/log/server.err.log`,
    '--logger.level=warning',
    '--listen_host=127.0.0.1',
    `--http_port=${httpPort}`,
    `--tcp_port=${tcpPort}`,
    `--interserver_http_port=${interserverPort}`,
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
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)

  const url = `http://127.0.0.1:${httpPort}`
  let stopping: Promise<void> | undefined
  const server: ClickHouseServer = {
    url,
    httpPort,
    tcpPort,
    dir,
    pid: child.pid ?? -1,
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
      return await startOnce(bin, configFile, options.startTimeoutMs ?? 30_000, options.keepDir ?? false)
    } catch (error) {
      lastError = error
    }
  }
  throw lastError
}
