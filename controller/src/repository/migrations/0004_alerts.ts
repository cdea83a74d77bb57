import type { Knex } from 'knex'
import { isMysqlKnex } from './util.ts'

// Alert rules, their notification channels, the alerts they raised and every
// delivery attempt. Same portable types as 0001_initial: BIGINT milliseconds
// since the Unix epoch, JSON as TEXT, utf8mb4_bin on MariaDB.
//
// alerts.rule_id and alert_deliveries.channel_id have no foreign key, so the
// history of an alert stays readable after its rule or channel is deleted.

export const name = '0004_alerts'

export async function up(knex: Knex): Promise<void> {
  const mysql = isMysqlKnex(knex)
  const tableOptions = (table: Knex.CreateTableBuilder): void => {
    if (!mysql) return
    table.engine('InnoDB')
    table.charset('utf8mb4')
    table.collate('utf8mb4_bin')
  }

  await knex.schema.createTable('alert_channels', (table) => {
    tableOptions(table)
    table.string('id', 128).notNullable().primary()
    table.string('type', 16).notNullable()
    table.string('name', 256).notNullable().defaultTo('')
    // Settings of the channel type as JSON, secrets included: the API masks them.
    table.text('config').notNullable()
    table.bigInteger('created_at').notNullable()
    table.bigInteger('updated_at').notNullable()
  })

  await knex.schema.createTable('alert_rules', (table) => {
    tableOptions(table)
    table.string('id', 128).notNullable().primary()
    table.string('name', 256).notNullable().defaultTo('')
    table.boolean('enabled').notNullable().defaultTo(true)
    // JSON array of stream ids, or null. With labels also null the rule covers every stream.
    table.text('stream_ids').nullable()
    // JSON object of stream labels that must all match, or null.
    table.text('labels').nullable()
    // JSON array of statuses: "down", "degraded".
    table.text('statuses').notNullable()
    table.string('reason_pattern', 512).nullable()
    table.integer('for_s').notNullable().defaultTo(0)
    // JSON array of alert_channels ids.
    table.text('channel_ids').notNullable()
    table.bigInteger('created_at').notNullable()
    table.bigInteger('updated_at').notNullable()
  })

  await knex.schema.createTable('alerts', (table) => {
    tableOptions(table)
    table.bigIncrements('id')
    table.string('rule_id', 128).notNullable()
    // The rule's name when the alert fired.
    table.string('rule_name', 256).notNullable().defaultTo('')
    table.string('stream_id', 128).notNullable()
    table.string('status', 16).notNullable()
    table.text('reason').notNullable()
    // When the stream's status started to match the rule.
    table.bigInteger('started_at').notNullable()
    // When the status had matched for the rule's for_s.
    table.bigInteger('fired_at').notNullable()
    table.bigInteger('resolved_at').nullable()
    // recovered, rule_changed, rule_deleted or stream_deleted; null while open.
    table.string('resolution', 16).nullable()
    table.index(['stream_id', 'started_at'], 'alerts_stream_started_index')
    table.index(['started_at'], 'alerts_started_index')
    table.index(['resolved_at'], 'alerts_resolved_index')
  })

  await knex.schema.createTable('alert_deliveries', (table) => {
    tableOptions(table)
    table.bigIncrements('id')
    table.bigInteger('alert_id').unsigned().notNullable()
    table.string('channel_id', 128).notNullable()
    // firing or resolved.
    table.string('event', 16).notNullable()
    // 1 for the first attempt of this event on this channel.
    table.integer('attempt').notNullable()
    // sent, retrying (failed, another attempt follows) or failed (no more attempts).
    table.string('outcome', 16).notNullable()
    table.integer('http_status').nullable()
    // Start of the HTTP response body or the SMTP server's reply.
    table.text('response').nullable()
    table.text('error').nullable()
    table.bigInteger('at').notNullable()
    table.foreign('alert_id', 'alert_deliveries_alert_id_foreign').references('alerts.id').onDelete('CASCADE')
    table.index(['alert_id'], 'alert_deliveries_alert_id_index')
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('alert_deliveries')
  await knex.schema.dropTableIfExists('alerts')
  await knex.schema.dropTableIfExists('alert_rules')
  await knex.schema.dropTableIfExists('alert_channels')
}
