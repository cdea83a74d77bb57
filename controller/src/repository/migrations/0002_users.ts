import type { Knex } from 'knex'
import { isMysqlKnex } from './util.ts'

// API users. Same portable types as 0001_initial: BIGINT milliseconds since
// the Unix epoch, JSON as TEXT, utf8mb4_bin on MariaDB so user ids compare
// case-sensitively as on SQLite.

export const name = '0002_users'

export async function up(knex: Knex): Promise<void> {
  const mysql = isMysqlKnex(knex)
  await knex.schema.createTable('users', (table) => {
    if (mysql) {
      table.engine('InnoDB')
      table.charset('utf8mb4')
      table.collate('utf8mb4_bin')
    }
    table.string('id', 64).notNullable().primary()
    // PHC string: $scrypt$ln=..,r=..,p=..$salt$hash.
    table.string('password_hash', 255).notNullable()
    table.string('role', 16).notNullable()
    // TEXT takes no default on every MySQL version, so the code writes '{}'.
    table.text('settings').notNullable()
    // Grows by one on every password change, which rejects tokens that carry an older value.
    table.integer('token_version').notNullable().defaultTo(0)
    table.bigInteger('created_at').notNullable()
    table.bigInteger('updated_at').notNullable()
    table.bigInteger('last_login_at').nullable()
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('users')
}
