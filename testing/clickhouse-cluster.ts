// Test helper: a ClickHouse cluster on one machine, one shard of N replicas
// (clickhouse-server processes from testing/clickhouse-server.ts) sharing a
// standalone ZooKeeper (testing/zookeeper.ts), all on 127.0.0.1.
//
//   const cluster = await startClickHouseCluster({ name: 'monit_test', replicas: 2 })
//   ... cluster.servers[0].url ...                 // any replica takes queries
//   await cluster.stop()                           // every process, every folder
//
// Each server gets a config.d override with the cluster in remote_servers,
// the ZooKeeper node, and the macros {shard} = 01 and {replica} = replica-N.
import { startClickHouseServer, type ClickHouseServer } from './clickhouse-server.ts'
import { startZooKeeper, type ZooKeeperInstall, type ZooKeeperServer } from './zookeeper.ts'
import { freePorts } from './ports.ts'

export interface ClickHouseCluster {
  /** The cluster name in remote_servers. */
  readonly name: string
  readonly zookeeper: ZooKeeperServer
  readonly servers: readonly ClickHouseServer[]
  /** Stops every server, then ZooKeeper. Idempotent. */
  stop(): Promise<void>
}

export interface ClusterOptions {
  /** Cluster name (a plain identifier). */
  name: string
  /** Replicas of the one shard. Default 2. */
  replicas?: number
  /** The clickhouse-server binary; default findClickHouseServer(). */
  bin?: string
  zookeeper?: ZooKeeperInstall
}


/** Returns the config.d document of replica `index` (0-based). */
export function clusterConfigXml(name: string, tcpPorts: readonly number[], zookeeperPort: number, index: number): string {
  const replicas = tcpPorts.map((port) => `        <replica><host>127.0.0.1</host><port>${port}</port></replica>`).join('\n')
  return `<?xml version="1.0"?>
<yandex>
  <remote_servers>
    <${name}>
      <shard>
        <!-- The Distributed table writes to one replica; ReplicatedMergeTree copies the part to the others. -->
        <internal_replication>true</internal_replication>
${replicas}
      </shard>
    </${name}>
  </remote_servers>
  <zookeeper>
    <node><host>127.0.0.1</host><port>${zookeeperPort}</port></node>
  </zookeeper>
  <macros>
    <shard>01</shard>
    <replica>replica-${index + 1}</replica>
  </macros>
</yandex>
`
}

/**
 * Waits until the server reads ZooKeeper and the ON CLUSTER queue exists.
 * startZooKeeper() has waited for ZooKeeper to serve clients, because an
 * 18.16 server whose first ZooKeeper connection fails later crashes
 * (SIGSEGV) on the first ON CLUSTER statement.
 */
async function waitForDdlQueue(server: ClickHouseServer, timeoutMs = 30_000): Promise<void> {
  const query = "SELECT count() FROM system.zookeeper WHERE path = '/clickhouse/task_queue' AND name = 'ddl'"
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    try {
      const response = await fetch(server.url, { method: 'POST', body: query, signal: AbortSignal.timeout(2000) })
      last = (await response.text()).trim()
      if (response.ok && last === '1') return
    } catch (error) {
      last = String(error)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${server.url} did not set up its ON CLUSTER queue in ZooKeeper within ${timeoutMs} ms (last reply: ${last})\n${server.logTail()}`)
}

/** Starts ZooKeeper and the replicas; on any failure stops what did start and rethrows. */
export async function startClickHouseCluster(options: ClusterOptions): Promise<ClickHouseCluster> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.name)) throw new Error(`cluster name must be a plain identifier (got ${JSON.stringify(options.name)})`)
  const count = options.replicas ?? 2
  const zookeeper = await startZooKeeper({ zookeeper: options.zookeeper })
  const started: ClickHouseServer[] = []
  const stopAll = async () => {
    await Promise.all(started.map((server) => server.stop()))
    await zookeeper.stop()
  }
  try {
    // Every server's config lists all replicas' TCP ports, so they are chosen up front.
    const ports = await freePorts(count * 3)
    const tcpPorts = ports.slice(0, count)
    // One after another, so that a failure leaves only the started servers to stop.
    for (let index = 0; index < count; index++) {
      const server = await startClickHouseServer({
        bin: options.bin,
        configOverride: clusterConfigXml(options.name, tcpPorts, zookeeper.port, index),
        ports: { tcp: tcpPorts[index]!, http: ports[count + index]!, interserver: ports[2 * count + index]! },
      })
      started.push(server)
    }
    for (const server of started) await waitForDdlQueue(server)
  } catch (error) {
    await stopAll()
    throw error
  }
  let stopping: Promise<void> | undefined
  return {
    name: options.name,
    zookeeper,
    servers: started,
    stop() {
      stopping ??= stopAll()
      return stopping
    },
  }
}
