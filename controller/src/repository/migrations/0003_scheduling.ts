import type { Knex } from 'knex'
import { isMysqlKnex } from './util.ts'

// Fleet scheduling: streams gain placement settings, agents can be drained,
// and assignments move to their own table so that a stream can run on
// several agents (one per vantage slot). Same portable types as
// 0001_initial: BIGINT milliseconds since the Unix epoch, JSON as TEXT.
//
// streams.epoch stays the stream's fencing counter. It grows by one on every
// change of the stream's assignments, and each new assignment stores the
// value it got, so every assignment of a stream has its own epoch.

export const name = '0003_scheduling'

/** Reason stored for assignments that existed before this migration. */
const CARRIED_OVER = 'assigned before fleet scheduling'

export async function up(knex: Knex): Promise<void> {
  const mysql = isMysqlKnex(knex)
  await knex.schema.createTable('assignments', (table) => {
    if (mysql) {
      table.engine('InnoDB')
      table.charset('utf8mb4')
      table.collate('utf8mb4_bin')
    }
    table.string('stream_id', 128).notNullable()
    // The vantage label value, or '' for a single-agent stream. Label values have at most 256 characters.
    table.string('slot', 256).notNullable().defaultTo('')
    table.string('agent_id', 128).notNullable()
    table.bigInteger('epoch').notNullable()
    table.string('reason', 512).notNullable().defaultTo('')
    table.bigInteger('assigned_at').notNullable()
    table.string('status', 16).nullable()
    table.text('status_reason').nullable()
    table.bigInteger('status_at').nullable()
    table.bigInteger('last_probe_at').nullable()
    table.primary(['stream_id', 'slot'], 'assignments_pkey')
    // An agent runs a stream at most once, so (stream, agent, epoch) names one assignment.
    table.unique(['stream_id', 'agent_id'], { indexName: 'assignments_stream_agent_unique' })
    table.index(['agent_id'], 'assignments_agent_id_index')
  })

  await knex.raw(
    `insert into ?? (??, ??, ??, ??, ??, ??, ??, ??, ??, ??)
     select ??, '', ??, ??, ?, coalesce(??, ??), ??, ??, ??, ?? from ?? where ?? is not null`,
    [
      'assignments',
      ...['stream_id', 'slot', 'agent_id', 'epoch', 'reason', 'assigned_at', 'status', 'status_reason', 'status_at', 'last_probe_at'],
      'id',
      'agent_id',
      'epoch',
      CARRIED_OVER,
      'assigned_at',
      'updated_at',
      ...['status', 'status_reason', 'status_at', 'last_probe_at'],
      'streams',
      'agent_id',
    ],
  )

  await knex.schema.alterTable('streams', (table) => {
    // Nullable TEXT because MySQL takes no default for TEXT; the code writes '{}' and reads null as {}.
    table.text('required_labels').nullable()
    table.integer('weight').notNullable().defaultTo(1)
    table.string('pinned_agent_id', 128).nullable()
    table.text('vantage').nullable()
  })
  await knex.schema.alterTable('streams', (table) => {
    table.dropIndex(['agent_id'], 'streams_agent_id_index')
  })
  await knex.schema.alterTable('streams', (table) => {
    table.dropColumn('agent_id')
    table.dropColumn('assigned_at')
  })

  await knex.schema.alterTable('agents', (table) => {
    table.boolean('draining').notNullable().defaultTo(false)
  })
}

/** Goes back to one agent per stream, keeping the assignment of the first slot. */
export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agents', (table) => {
    table.dropColumn('draining')
  })
  await knex.schema.alterTable('streams', (table) => {
    table.string('agent_id', 128).nullable().index('streams_agent_id_index')
    table.bigInteger('assigned_at').nullable()
  })
  const first = await knex('assignments').select('stream_id', 'agent_id', 'assigned_at').orderBy(['stream_id', 'slot'])
  const seen = new Set<string>()
  for (const row of first as Array<{ stream_id: string; agent_id: string; assigned_at: number }>) {
    if (seen.has(row.stream_id)) continue
    seen.add(row.stream_id)
    await knex('streams').where('id', row.stream_id).update({ agent_id: row.agent_id, assigned_at: row.assigned_at })
  }
  await knex.schema.alterTable('streams', (table) => {
    table.dropColumn('required_labels')
    table.dropColumn('weight')
    table.dropColumn('pinned_agent_id')
    table.dropColumn('vantage')
  })
  await knex.schema.dropTableIfExists('assignments')
}
