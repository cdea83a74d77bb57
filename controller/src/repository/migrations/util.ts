import type { Knex } from 'knex'

/** True when knex (or a transaction of it) talks to MariaDB/MySQL. */
export function isMysqlKnex(knex: Knex): boolean {
  const client = (knex.client as { config?: { client?: unknown } }).config?.client
  return client === 'mysql' || client === 'mysql2'
}
