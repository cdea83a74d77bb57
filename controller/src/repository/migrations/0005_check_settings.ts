import type { Knex } from 'knex'

// Per-stream check settings, sent to the agent in each perform's `probe`.
// Every column is nullable: null means "not set", and the agent then uses
// its own default (its flags) for that setting.

export const name = '0005_check_settings'

/** Columns added to streams, in the order they are added. */
export const CHECK_SETTING_COLUMNS = [
  'av_interval_s',
  'av_sample_s',
  'screenshot_interval_s',
  'page_url',
  'page_interval_s',
  'min_bitrate',
] as const

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('streams', (table) => {
    // Seconds; 0 turns the check off.
    table.integer('av_interval_s').nullable()
    table.integer('av_sample_s').nullable()
    table.integer('screenshot_interval_s').nullable()
    // Web player page that the agent loads in headless Chromium.
    table.text('page_url').nullable()
    table.integer('page_interval_s').nullable()
    // Bit/s below which the agent reports the stream degraded as `low bitrate`.
    table.bigInteger('min_bitrate').nullable()
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('streams', (table) => {
    for (const column of CHECK_SETTING_COLUMNS) table.dropColumn(column)
  })
}
