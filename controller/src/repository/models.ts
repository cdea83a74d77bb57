import { Model, type Pojo } from 'objection'

// Rows as objection sees them after $parseDatabaseJson: timestamps are
// milliseconds since the Unix epoch (number), labels are objects, booleans
// are booleans; the same on SQLite and MariaDB.

export type Labels = Record<string, string>

function toNumber(value: unknown): unknown {
  if (typeof value === 'string' || typeof value === 'bigint') return Number(value)
  return value
}

function toNullableNumber(value: unknown): unknown {
  return value === null || value === undefined ? value : toNumber(value)
}

function toBoolean(value: unknown): unknown {
  if (value === null || value === undefined || typeof value === 'boolean') return value
  if (Buffer.isBuffer(value)) return value.some((byte) => byte !== 0)
  if (typeof value === 'string') return value !== '' && value !== '0' && value !== 'false'
  return Number(value) !== 0
}

function parseLabels(value: unknown): unknown {
  if (typeof value !== 'string') return value
  if (value === '') return {}
  const parsed: unknown = JSON.parse(value)
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {}
}

function formatLabels(value: unknown): unknown {
  if (value === null || value === undefined || typeof value === 'string') return value
  if (typeof value === 'object' && value.constructor !== Object) return value // raw() and friends
  return JSON.stringify(value)
}

function convert(json: Pojo, fields: readonly string[], fn: (value: unknown) => unknown): void {
  for (const field of fields) if (field in json) json[field] = fn(json[field])
}

abstract class BaseModel extends Model {
  protected static numberFields: readonly string[] = []
  protected static nullableNumberFields: readonly string[] = []
  protected static booleanFields: readonly string[] = []
  protected static jsonFields: readonly string[] = []

  override $parseDatabaseJson(json: Pojo): Pojo {
    const parsed = super.$parseDatabaseJson(json)
    const model = this.constructor as typeof BaseModel
    convert(parsed, model.numberFields, toNumber)
    convert(parsed, model.nullableNumberFields, toNullableNumber)
    convert(parsed, model.booleanFields, toBoolean)
    convert(parsed, model.jsonFields, parseLabels)
    return parsed
  }

  override $formatDatabaseJson(json: Pojo): Pojo {
    const formatted = super.$formatDatabaseJson(json)
    const model = this.constructor as typeof BaseModel
    convert(formatted, model.jsonFields, formatLabels)
    convert(formatted, model.booleanFields, (value) => (typeof value === 'boolean' ? (value ? 1 : 0) : value))
    return formatted
  }
}

export class StreamModel extends BaseModel {
  static override tableName = 'streams'
  protected static override numberFields = ['probe_interval_s', 'sample_s', 'timeout_s', 'weight', 'epoch', 'created_at', 'updated_at']
  protected static override nullableNumberFields = [
    'status_at',
    'last_probe_at',
    'av_interval_s',
    'av_sample_s',
    'screenshot_interval_s',
    'page_interval_s',
    'min_bitrate',
  ]
  protected static override jsonFields = ['labels', 'required_labels', 'vantage']

  declare id: string
  declare url: string
  declare desired_state: 'up' | 'down'
  declare probe_interval_s: number
  declare sample_s: number
  declare timeout_s: number
  declare labels: Labels
  /** Null in rows written before the scheduling migration. */
  declare required_labels: Labels | null
  declare weight: number
  declare pinned_agent_id: string | null
  declare vantage: { count: number; label: string } | null
  // Check settings (0005_check_settings); null means the agent's default.
  declare av_interval_s: number | null
  declare av_sample_s: number | null
  declare screenshot_interval_s: number | null
  declare page_url: string | null
  declare page_interval_s: number | null
  declare min_bitrate: number | null
  declare epoch: number
  declare status: 'up' | 'degraded' | 'down' | null
  declare status_reason: string | null
  declare status_at: number | null
  declare last_probe_at: number | null
  declare created_at: number
  declare updated_at: number
}

export class AgentModel extends BaseModel {
  static override tableName = 'agents'
  protected static override numberFields = ['protocol', 'capacity', 'created_at', 'updated_at']
  protected static override nullableNumberFields = ['connected_at', 'last_seen_at', 'disconnected_at']
  protected static override booleanFields = ['connected', 'draining']
  protected static override jsonFields = ['labels']

  declare id: string
  declare name: string
  declare version: string
  declare protocol: number
  declare labels: Labels
  declare capacity: number
  declare connected: boolean
  declare draining: boolean
  declare connected_at: number | null
  declare last_seen_at: number | null
  declare disconnected_at: number | null
  declare remote_address: string | null
  declare created_at: number
  declare updated_at: number
}

export class AgentTokenModel extends BaseModel {
  static override tableName = 'agent_tokens'
  protected static override numberFields = ['created_at']
  protected static override nullableNumberFields = ['last_used_at', 'revoked_at']

  declare id: string
  declare name: string
  declare token_hash: string
  declare created_at: number
  declare last_used_at: number | null
  declare revoked_at: number | null
}

/** One agent running one stream; a stream has one row per slot. */
export class AssignmentModel extends BaseModel {
  static override tableName = 'assignments'
  static override idColumn = ['stream_id', 'slot']
  protected static override numberFields = ['epoch', 'assigned_at']
  protected static override nullableNumberFields = ['status_at', 'last_probe_at']

  declare stream_id: string
  declare slot: string
  declare agent_id: string
  declare epoch: number
  declare reason: string
  declare assigned_at: number
  declare status: 'up' | 'degraded' | 'down' | null
  declare status_reason: string | null
  declare status_at: number | null
  declare last_probe_at: number | null
}
