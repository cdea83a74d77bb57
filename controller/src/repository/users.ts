import type { Knex } from 'knex'
import { isRole, Role } from '../auth/roles.ts'
import { isUniqueViolation, RepositoryError } from './errors.ts'
import { isMysqlKnex } from './migrations/util.ts'

/** Per-user preferences, stored as JSON text. */
export interface UserSettings {
  /** IANA time zone, such as Europe/Paris. */
  time_zone?: string
  /** Stream ids shown first. */
  default_streams?: string[]
}

/** An API user as the API shows it: never the password hash. Times are ISO 8601 strings. */
export interface User {
  id: string
  role: Role
  settings: UserSettings
  created_at: string
  updated_at: string
  last_login_at: string | null
}

/** Credentials that login and token checks read. They never leave the controller. */
export interface UserCredentials {
  id: string
  role: Role
  password_hash: string
  /** Counter that grows by one on every password change. Tokens carry the value they were issued with. */
  token_version: number
}

export interface NewUser {
  id: string
  password_hash: string
  role: Role
  /** Default {}. */
  settings?: UserSettings
}

/** Fields to change. Absent fields keep their value, and settings replaces the whole object. */
export interface UserPatch {
  password_hash?: string
  role?: Role
  settings?: UserSettings
}

export class DuplicateUserError extends RepositoryError {
  override readonly code = 'USER_EXISTS' as const
  readonly userId: string

  constructor(userId: string) {
    super('USER_EXISTS', `user "${userId}" already exists`)
    this.userId = userId
  }
}

export class UserNotFoundError extends RepositoryError {
  override readonly code = 'USER_NOT_FOUND' as const
  readonly userId: string

  constructor(userId: string) {
    super('USER_NOT_FOUND', `user "${userId}" not found`)
    this.userId = userId
  }
}

/** The change would leave no user with the admin role. */
export class LastAdminError extends RepositoryError {
  override readonly code = 'LAST_ADMIN' as const
  readonly userId: string

  constructor(userId: string) {
    super('LAST_ADMIN', `user "${userId}" is the last admin`)
    this.userId = userId
  }
}

interface UserRow {
  id: string
  password_hash: string
  role: string
  settings: string
  token_version: number | string
  created_at: number | string
  updated_at: number | string
  last_login_at: number | string | null
}

const TABLE = 'users'

function iso(ms: number | string): string {
  return new Date(Number(ms)).toISOString()
}

/** Parses the settings column. Fields of the wrong type are dropped rather than failing the read. */
export function parseUserSettings(text: string): UserSettings {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return {}
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {}
  const { time_zone: timeZone, default_streams: streams } = parsed as Record<string, unknown>
  const settings: UserSettings = {}
  if (typeof timeZone === 'string') settings.time_zone = timeZone
  if (Array.isArray(streams) && streams.every((id) => typeof id === 'string')) {
    settings.default_streams = [...streams]
  }
  return settings
}

function readRole(row: UserRow): Role {
  // An unknown role (a hand-edited row) gets the least access.
  return isRole(row.role) ? row.role : Role.viewer
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    role: readRole(row),
    settings: parseUserSettings(row.settings),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    last_login_at: row.last_login_at === null ? null : iso(row.last_login_at),
  }
}

/**
 * API users on the settings database. Repository.users is one, and it shares
 * the repository's knex pool and clock.
 */
export class UserStore {
  private readonly knex: Knex
  private readonly now: () => number

  constructor(knex: Knex, now: () => number = Date.now) {
    this.knex = knex
    this.now = now
  }

  async count(): Promise<number> {
    const row = await this.knex(TABLE).count({ n: '*' }).first()
    return Number(row?.n ?? 0)
  }

  /** Lists every user, ordered by id. */
  async list(): Promise<User[]> {
    const rows: UserRow[] = await this.knex(TABLE).select('*').orderBy('id')
    return rows.map(toUser)
  }

  async get(id: string): Promise<User | undefined> {
    const row: UserRow | undefined = await this.knex(TABLE).where({ id }).first()
    return row === undefined ? undefined : toUser(row)
  }

  async getCredentials(id: string): Promise<UserCredentials | undefined> {
    const row: UserRow | undefined = await this.knex(TABLE)
      .select('id', 'role', 'password_hash', 'token_version')
      .where({ id })
      .first()
    if (row === undefined) return undefined
    return {
      id: row.id,
      role: readRole(row),
      password_hash: row.password_hash,
      token_version: Number(row.token_version),
    }
  }

  /** Adds a user, or throws DuplicateUserError when the id is taken. */
  async create(input: NewUser): Promise<User> {
    const now = Math.trunc(this.now())
    try {
      await this.knex(TABLE).insert({
        id: input.id,
        password_hash: input.password_hash,
        role: input.role,
        settings: JSON.stringify(input.settings ?? {}),
        token_version: 0,
        created_at: now,
        updated_at: now,
        last_login_at: null,
      })
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateUserError(input.id)
      throw err
    }
    const created = await this.get(input.id)
    if (created === undefined) throw new UserNotFoundError(input.id)
    return created
  }

  /**
   * Changes a user and returns it. A new password_hash also increments
   * token_version, which invalidates the user's tokens. Throws
   * UserNotFoundError, or LastAdminError when it would demote the last admin.
   */
  async update(id: string, patch: UserPatch): Promise<User> {
    return this.knex.transaction(async (trx) => {
      const current = await this.lockUser(trx, id)
      if (current === undefined) throw new UserNotFoundError(id)
      const demoted = current.role === Role.admin && patch.role !== undefined && patch.role !== Role.admin
      if (demoted) await this.ensureAnotherAdmin(trx, id)

      const columns: Record<string, unknown> = { updated_at: Math.trunc(this.now()) }
      if (patch.role !== undefined) columns.role = patch.role
      if (patch.settings !== undefined) columns.settings = JSON.stringify(patch.settings)
      if (patch.password_hash !== undefined) {
        columns.password_hash = patch.password_hash
        columns.token_version = trx.raw('?? + 1', ['token_version'])
      }
      await trx(TABLE).where({ id }).update(columns)

      const row: UserRow | undefined = await trx(TABLE).where({ id }).first()
      if (row === undefined) throw new UserNotFoundError(id)
      return toUser(row)
    })
  }

  /** Removes a user and returns false when there was none. Throws LastAdminError for the last admin. */
  async delete(id: string): Promise<boolean> {
    return this.knex.transaction(async (trx) => {
      const current = await this.lockUser(trx, id)
      if (current === undefined) return false
      if (current.role === Role.admin) await this.ensureAnotherAdmin(trx, id)
      const deleted = await trx(TABLE).where({ id }).delete()
      return deleted > 0
    })
  }

  /** Stores the time of a successful login. */
  async recordLogin(id: string, at: number = this.now()): Promise<void> {
    await this.knex(TABLE).where({ id }).update({ last_login_at: Math.trunc(at) })
  }

  /** Replaces the stored hash without touching token_version (a rehash with new parameters). */
  async replacePasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.knex(TABLE).where({ id }).update({ password_hash: passwordHash })
  }

  // On MariaDB the locking reads keep two concurrent requests from removing
  // the last two admins. SQLite has one writer, so the transaction is enough.
  private async lockUser(trx: Knex.Transaction, id: string): Promise<UserRow | undefined> {
    const query = trx(TABLE).select('id', 'role').where({ id })
    if (isMysqlKnex(trx)) query.forUpdate()
    return query.first()
  }

  private async ensureAnotherAdmin(trx: Knex.Transaction, id: string): Promise<void> {
    const query = trx(TABLE).select('id').where({ role: Role.admin }).whereNot({ id })
    if (isMysqlKnex(trx)) query.forUpdate()
    const others = await query
    if (others.length === 0) throw new LastAdminError(id)
  }
}
