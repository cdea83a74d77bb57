export { openRepository, Repository } from './repository.ts'
export {
  DatabaseUrlError,
  DuplicateStreamError,
  RepositoryError,
  StreamNotFoundError,
} from './errors.ts'
export { describeDatabase, parseDatabaseUrl, redactDatabaseUrl, type DatabaseConfig } from './config.ts'
export { migrations, migrationSource, type RepositoryMigration } from './migrations/index.ts'
export { AGENT_TOKEN_PREFIX } from './tokens.ts'
export {
  DuplicateUserError,
  LastAdminError,
  UserNotFoundError,
  UserStore,
  type NewUser,
  type User,
  type UserCredentials,
  type UserPatch,
  type UserSettings,
} from './users.ts'
export type * from './types.ts'
