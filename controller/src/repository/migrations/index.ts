import type { Knex } from 'knex'
import * as initial from './0001_initial.ts'
import * as users from './0002_users.ts'
import * as scheduling from './0003_scheduling.ts'
import * as alerts from './0004_alerts.ts'
import * as checkSettings from './0005_check_settings.ts'
import * as cluster from './0006_cluster.ts'

export interface RepositoryMigration extends Knex.Migration {
  name: string
}

/**
 * Every settings migration, oldest first. Add new ones at the end; never
 * rename or edit one that has shipped (knex_migrations records the names).
 */
export const migrations: readonly RepositoryMigration[] = [initial, users, scheduling, alerts, checkSettings, cluster]

/** knex migrationSource over the list above, so bundlers see every migration. */
export const migrationSource: Knex.MigrationSource<RepositoryMigration> = {
  async getMigrations() {
    return [...migrations]
  },
  getMigrationName(migration) {
    return migration.name
  },
  async getMigration(migration) {
    return migration
  },
}
