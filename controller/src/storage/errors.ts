import type { StorageDriver } from './types.ts'

/**
 * ClickHouse error codes that mean "these rows or this statement can never
 * succeed as sent": retrying them only blocks the rows behind them.
 * Everything else (network errors, timeouts, TOO_MANY_PARTS, memory limits,
 * a missing table that init() would create...) is worth retrying.
 */
const PERMANENT_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  16, // NO_SUCH_COLUMN_IN_TABLE
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE (such as a lone UTF-16 surrogate)
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  43, // ILLEGAL_TYPE_OF_ARGUMENT
  44, // ILLEGAL_COLUMN
  47, // UNKNOWN_IDENTIFIER
  53, // TYPE_MISMATCH
  62, // SYNTAX_ERROR
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  115, // UNKNOWN_SETTING
  117, // INCORRECT_DATA
  130, // CANNOT_READ_ARRAY_FROM_TEXT
  131, // TOO_LARGE_STRING_SIZE
  252, // TOO_MANY_PARTS, when one insert spans more partitions than allowed (see isMergeBacklog)
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  456, // UNKNOWN_QUERY_PARAMETER
  457, // BAD_QUERY_PARAMETER
])

/** Node/undici error codes of a connection that failed or dropped. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

export class StorageError extends Error {
  override readonly name = 'StorageError'
  /** The ClickHouse error code, when the engine or server gave one. */
  readonly clickhouseCode: number | undefined
  /** True when the same call may succeed later (the writer retries only these). */
  readonly retryable: boolean
  readonly driver: StorageDriver

  constructor(
    message: string,
    options: { driver: StorageDriver; retryable: boolean; clickhouseCode?: number; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.driver = options.driver
    this.retryable = options.retryable
    this.clickhouseCode = options.clickhouseCode
  }
}

/**
 * Returns true for ClickHouse's "Too many parts" refusal: merges are behind
 * the inserts, and the same insert succeeds once they catch up. It shares
 * code 252 with "Too many partitions for single INSERT block", which no
 * retry fixes.
 */
function isMergeBacklog(code: number, message: string): boolean {
  return code === 252 && /too many parts/i.test(message)
}

function clickhouseCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const record = err as { clickhouseCode?: unknown; code?: unknown; message?: unknown }
  if (typeof record.clickhouseCode === 'number') return record.clickhouseCode
  // @clickhouse/client's ClickHouseError keeps the code as a string, and
  // leaves it unset for old servers whose text it cannot parse.
  if (typeof record.code === 'string' && /^\d+$/.test(record.code)) return Number(record.code)
  const match = /\bCode: (\d+)[.,]/.exec(typeof record.message === 'string' ? record.message : '')
  return match ? Number(match[1]) : undefined
}

/**
 * Wraps whatever a driver threw in a StorageError saying whether a retry
 * may help. Unknown failures count as retryable: the writer would rather keep
 * rows and retry than drop them.
 */
export function toStorageError(err: unknown, driver: StorageDriver, what: string): StorageError {
  if (err instanceof StorageError) return err
  const message = err instanceof Error ? err.message : String(err)
  const code = clickhouseCodeOf(err)
  let retryable = true
  if (code !== undefined) {
    retryable = !PERMANENT_CODES.has(code) || isMergeBacklog(code, message)
  } else if (typeof err === 'object' && err !== null) {
    const { name, code: errCode } = err as { name?: unknown; code?: unknown }
    // chDB: a bad bind value or a closed session will not get better.
    if (name === 'ChdbBindError' || name === 'ChdbClosedError' || name === 'ChdbSyntaxError') retryable = false
    if (typeof errCode === 'string' && NETWORK_CODES.has(errCode)) retryable = true
  }
  return new StorageError(`${what}: ${message.trim()}`, { driver, retryable, clickhouseCode: code, cause: err })
}
