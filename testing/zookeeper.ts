// Test helper: runs a throwaway standalone ZooKeeper (Debian's `zookeeper`
// package, 3.8 on bookworm) as the current user, in a temp folder, on a free
// loopback port, and stops it again. ClickHouse's Replicated tables and its
// ON CLUSTER DDL queue need one.
//
//   const zookeeper = findZooKeeper()
//   if (zookeeper === undefined) ...              // CI installs the package
//   const server = await startZooKeeper({ zookeeper })
//   ... server.port ...                           // 127.0.0.1:PORT
//   await server.stop()                           // kills, reaps, removes the folder
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.ts'

/** Path of the server jar in Debian's package. */
export const DEBIAN_ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar'

export interface ZooKeeperInstall {
  readonly java: string
  readonly classpath: string
}

export interface ZooKeeperServer {
  readonly host: '127.0.0.1'
  readonly port: number
  readonly dir: string
  readonly pid: number
  logTail(lines?: number): string
  /** SIGTERM, SIGKILL after 10 s, waits for the exit and removes the folder. Idempotent. */
  stop(): Promise<void>
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
 * Java and the ZooKeeper jar: $MONIT_ZOOKEEPER_JAR or Debian's, and
 * $JAVA_HOME/bin/java or /usr/bin/java. Undefined when either is missing.
 */
export function findZooKeeper(): ZooKeeperInstall | undefined {
  const jar = process.env.MONIT_ZOOKEEPER_JAR ?? DEBIAN_ZOOKEEPER_JAR
  if (!existsSync(jar)) return undefined
  const candidates = [process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : '', '/usr/bin/java']
  const java = candidates.find((path) => path !== '' && isExecutable(path))
  return java === undefined ? undefined : { java, classpath: jar }
}


/**
 * Sends the `srvr` four-letter command and returns true once the reply has
 * the server's mode. `ruok` is not enough: it returns imok while the server
 * still closes client connections during start, and clickhouse-server 18.16
 * stops running ON CLUSTER DDL for good when its first connection fails.
 */
function serving(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    let reply = ''
    const finish = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => finish(false))
    socket.once('error', () => finish(false))
    socket.once('connect', () => socket.write('srvr'))
    socket.on('data', (chunk) => (reply += chunk.toString()))
    socket.once('end', () => finish(/^Mode: /m.test(reply)))
  })
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

export interface ZooKeeperStartOptions {
  zookeeper?: ZooKeeperInstall
  /** How long to wait for the server to serve clients. Default 30 s. */
  startTimeoutMs?: number
}

/** Starts a standalone ZooKeeper on 127.0.0.1 and resolves once it serves clients. */
export async function startZooKeeper(options: ZooKeeperStartOptions = {}): Promise<ZooKeeperServer> {
  const install = options.zookeeper ?? findZooKeeper()
  if (install === undefined) throw new Error(`ZooKeeper not found (no ${DEBIAN_ZOOKEEPER_JAR} or java); install the zookeeper package`)
  const startTimeoutMs = options.startTimeoutMs ?? 30_000
  const dir = mkdtempSync(join(tmpdir(), 'monit-zookeeper-'))
  const port = await freePort()
  const config = join(dir, 'zoo.cfg')
  writeFileSync(
    config,
    [
      'tickTime=2000',
      `dataDir=${dir}/data`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      // No admin HTTP server (it would take port 8080) and no JMX.
      'admin.enableServer=false',
      '4lw.commands.whitelist=srvr',
      '',
    ].join('\n'),
  )
  const args = ['-Xmx256m', '-cp', install.classpath, 'org.apache.zookeeper.server.ZooKeeperServerMain', config]
  const child = spawn(install.java, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
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

  let stopping: Promise<void> | undefined
  const server: ZooKeeperServer = {
    host: '127.0.0.1',
    port,
    dir,
    pid: child.pid ?? -1,
    logTail(lines = 20) {
      return output.trim().split('\n').slice(-lines).join('\n')
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
        rmSync(dir, { recursive: true, force: true })
      })()
      return stopping
    },
  }

  const deadline = Date.now() + startTimeoutMs
  while (Date.now() < deadline) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) break
    if (await serving(port)) return server
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  const why = spawnError
    ? `could not run ${install.java}: ${spawnError.message}`
    : child.exitCode !== null || child.signalCode !== null
      ? `ZooKeeper exited (${child.exitCode ?? child.signalCode}) before it served clients`
      : `ZooKeeper did not serve clients on 127.0.0.1:${port} within ${startTimeoutMs} ms`
  const tail = server.logTail()
  await server.stop()
  throw new Error(`${why}\n${tail}`)
}
