import type { Knex } from 'knex'
import { isMysqlKnex } from './util.ts'

// Portable types only: timestamps are BIGINT milliseconds since the Unix
// epoch, JSON is TEXT, booleans are the knex boolean (TINYINT(1) / INTEGER).
// On MariaDB, tables use utf8mb4_bin so ids compare case-sensitively as on SQLite.

export const name = '0001_initial'

export async function up(knex: Knex): Promise<void> {
  const mysql = isMysqlKnex(knex)
  const tableOptions = (table: Knex.CreateTableBuilder): void => {
    if (!mysql) return
    table.engine('InnoDB')
    table.charset('utf8mb4')
    table.collate('utf8mb4_bin')
  }

  await knex.schema.createTable('streams', (table) => {
    tableOptions(table)
    table.string('id', 128).notNullable().primary()
    table.text('url').notNullable()
    table.string('desired_state', 8).notNullable().defaultTo('up')
    table.integer('probe_interval_s').notNullable().defaultTo(10)
    table.integer('sample_s').notNullable().defaultTo(5)
    table.integer('timeout_s').notNullable().defaultTo(10)
    // TEXT columns take no default on every MySQL version; the code writes '{}'.
    table.text('labels').notNullable()
    table.string('agent_id', 128).nullable().index('streams_agent_id_index')
    table.bigInteger('epoch').notNullable().defaultTo(0)
    table.bigInteger('assigned_at').nullable()
    table.string('status', 16).nullable()
    table.text('status_reason').nullable()
    table.bigInteger('status_at').nullable()
    table.bigInteger('last_probe_at').nullable()
    table.bigInteger('created_at').notNullable()
    table.bigInteger('updated_at').notNullable()
  })

  await knex.schema.createTable('agents', (table) => {
    tableOptions(table)
    table.string('id', 128).notNullable().primary()
    table.string('name', 256).notNullable().defaultTo('')
    table.string('version', 64).notNullable().defaultTo('')
    table.integer('protocol').notNullable().defaultTo(0)
    table.text('labels').notNullable()
    table.integer('capacity').notNullable().defaultTo(0)
    table.boolean('connected').notNullable().defaultTo(false)
    table.bigInteger('connected_at').nullable()
    table.bigInteger('last_seen_at').nullable()
    table.bigInteger('disconnected_at').nullable()
    table.string('remote_address', 256).nullable()
    table.bigInteger('created_at').notNullable()
    table.bigInteger('updated_at').notNullable()
  })

  await knex.schema.createTable('agent_tokens', (table) => {
    tableOptions(table)
    table.string('id', 32).notNullable().primary()
    table.string('name', 256).notNullable().defaultTo('')
    table.string('token_hash', 128).notNullable().unique({ indexName: 'agent_tokens_token_hash_unique' })
    table.bigInteger('created_at').notNullable()
    table.bigInteger('last_used_at').nullable()
    table.bigInteger('revoked_at').nullable()
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('agent_tokens')
  await knex.schema.dropTableIfExists('agents')
  await knex.schema.dropTableIfExists('streams')
}
