// deploy/clickhouse-cluster.sql is the output of scripts/clickhouse-cluster-sql.ts
// with its defaults: a schema change must regenerate it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { TABLES } from '../src/storage/index.ts'
import { DEFAULT_CLUSTER_SQL_OPTIONS, clusterSql } from '../../scripts/clickhouse-cluster-sql.ts'

const file = new URL('../../deploy/clickhouse-cluster.sql', import.meta.url)
const regenerate = 'node --import tsx scripts/clickhouse-cluster-sql.ts > deploy/clickhouse-cluster.sql'

test('deploy/clickhouse-cluster.sql is up to date', () => {
  const expected = clusterSql(DEFAULT_CLUSTER_SQL_OPTIONS)
  assert.ok(readFileSync(file, 'utf8') === expected, `deploy/clickhouse-cluster.sql is out of date; run: ${regenerate}`)
})

test('cluster SQL covers every table on the cluster', () => {
  const sql = clusterSql({ cluster: 'prod', database: 'metrics_db', ttlDays: 30 })
  assert.match(sql, 'CREATE DATABASE IF NOT EXISTS metrics_db ON CLUSTER prod;')
  for (const table of TABLES) {
    assert.match(sql, `CREATE TABLE IF NOT EXISTS metrics_db.${table}_local ON CLUSTER prod\n`)
    assert.match(sql, `ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/metrics_db/${table}', '{replica}')`)
    assert.match(sql, `CREATE TABLE IF NOT EXISTS metrics_db.${table} ON CLUSTER prod\n`)
    assert.match(sql, `ENGINE = Distributed(prod, metrics_db, ${table}_local, cityHash64(stream_id));`)
  }
  assert.match(sql, 'TTL insert_date + INTERVAL 30 DAY')
  assert.not.match(sql, 'non_replicated_deduplication_window')
})

test('cluster SQL rejects a name that is not an identifier', () => {
  assert.throws(() => clusterSql({ cluster: 'prod; DROP', database: 'monit', ttlDays: 90 }), /cluster must match/)
})

test.run()
