/** Base class of the errors the settings repository throws on purpose. */
export class RepositoryError extends Error {
  readonly code: string

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** createStream was given a stream_id that already exists. */
export class DuplicateStreamError extends RepositoryError {
  override readonly code = 'STREAM_EXISTS' as const
  readonly streamId: string

  constructor(streamId: string) {
    super('STREAM_EXISTS', `stream "${streamId}" already exists`)
    this.streamId = streamId
  }
}

/** An operation named a stream_id that does not exist. */
export class StreamNotFoundError extends RepositoryError {
  override readonly code = 'STREAM_NOT_FOUND' as const
  readonly streamId: string

  constructor(streamId: string) {
    super('STREAM_NOT_FOUND', `stream "${streamId}" not found`)
    this.streamId = streamId
  }
}

/** The database URL could not be understood. The message never holds the password. */
export class DatabaseUrlError extends RepositoryError {
  override readonly code = 'INVALID_DATABASE_URL' as const

  constructor(message: string) {
    super('INVALID_DATABASE_URL', message)
  }
}

const UNIQUE_CODES = new Set(['ER_DUP_ENTRY', 'SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE'])

/**
 * True when err (or the driver error objection wrapped) is a unique or
 * primary key violation, on MariaDB/MySQL (errno 1062) or SQLite.
 */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const { code, errno, name } = e as { code?: unknown; errno?: unknown; name?: unknown }
    if (name === 'UniqueViolationError') return true
    if (typeof code === 'string' && UNIQUE_CODES.has(code)) return true
    if (errno === 1062) return true
    e = (e as { nativeError?: unknown }).nativeError
  }
  return false
}
