import type { Knex } from 'knex'
import { isMysqlKnex } from './util.ts'

// Several controllers on one database. `leases` holds the scheduler lease:
// one row whose holder is the leader until expires_at (milliseconds since
// the Unix epoch). `change_counters` holds counters that grow in the same
// transaction as the rows they cover, so that the other controllers find
// out about a change with one cheap read. agents.controller_id names the
// controller an agent is connected to.

export const name = '0006_cluster'

export async function up(knex: Knex): Promise<void> {
  const mysql = isMysqlKnex(knex)
  const tableOptions = (table: Knex.CreateTableBuilder): void => {
    if (!mysql) return
    table.engine('InnoDB')
    table.charset('utf8mb4')
    table.collate('utf8mb4_bin')
  }

  await knex.schema.createTable('leases', (table) => {
    tableOptions(table)
    table.string('name', 64).notNullable().primary()
    table.string('holder', 128).notNullable()
    table.bigInteger('expires_at').notNullable()
    table.bigInteger('acquired_at').notNullable()
  })

  await knex.schema.createTable('change_counters', (table) => {
    tableOptions(table)
    table.string('name', 64).notNullable().primary()
    table.bigInteger('value').notNullable().defaultTo(0)
  })
  await knex('change_counters').insert([
    { name: 'assignments', value: 0 },
    { name: 'streams', value: 0 },
  ])

  await knex.schema.alterTable('agents', (table) => {
    table.string('controller_id', 128).nullable()
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agents', (table) => {
    table.dropColumn('controller_id')
  })
  await knex.schema.dropTableIfExists('change_counters')
  await knex.schema.dropTableIfExists('leases')
}
