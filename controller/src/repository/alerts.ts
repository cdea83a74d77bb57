import type { Knex } from 'knex'
import type {
  Alert,
  AlertChannel,
  AlertDelivery,
  AlertEvent,
  AlertRule,
  AlertStatus,
  AlertWithDeliveries,
  ChannelSettings,
  DeliveryOutcome,
  Labels,
  Resolution,
} from '../alerts/types.ts'
import type { StreamStatusValue } from './types.ts'
import { isUniqueViolation, RepositoryError } from './errors.ts'

/** A create named an alert rule or channel id that is taken. */
export class DuplicateAlertObjectError extends RepositoryError {
  override readonly code = 'ALERT_OBJECT_EXISTS' as const

  constructor(
    readonly kind: 'rule' | 'channel',
    readonly objectId: string,
  ) {
    super('ALERT_OBJECT_EXISTS', `alert ${kind} "${objectId}" already exists`)
  }
}

/** The fields of a channel that a create or update stores. */
export type ChannelInput = ChannelSettings & { name: string }

/** The fields of a rule that a create or update stores. */
export type RuleInput = Omit<AlertRule, 'id' | 'created_at' | 'updated_at'>

export interface NewAlert {
  rule_id: string
  rule_name: string
  stream_id: string
  status: StreamStatusValue
  reason: string
  startedAtMs: number
  firedAtMs: number
}

export interface NewDelivery {
  alert_id: number
  channel_id: string
  event: AlertEvent
  attempt: number
  outcome: DeliveryOutcome
  http_status: number | null
  response: string | null
  error: string | null
  atMs: number
}

export interface AlertQuery {
  /** Only these streams; empty or undefined: every stream. */
  streamIds?: readonly string[]
  ruleId?: string
  /** Alerts open at some point in [fromMs, toMs). */
  fromMs: number
  toMs: number
  /** open: not resolved yet; resolved: resolved. */
  state?: 'open' | 'resolved'
  limit: number
}

type Row = Record<string, unknown>

const CHANNELS = 'alert_channels'
const RULES = 'alert_rules'
const ALERTS = 'alerts'
const DELIVERIES = 'alert_deliveries'

function iso(ms: unknown): string {
  return new Date(Number(ms)).toISOString()
}

function isoOrNull(ms: unknown): string | null {
  return ms === null || ms === undefined ? null : iso(ms)
}

function parseJson(text: unknown): unknown {
  if (typeof text !== 'string' || text === '') return null
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []
}

function labelsOrNull(value: unknown): Labels | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null
  const entries = Object.entries(value).filter(([, item]) => typeof item === 'string')
  return Object.fromEntries(entries) as Labels
}

function toBoolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value
  if (typeof value === 'string') return value !== '' && value !== '0' && value !== 'false'
  return Number(value) !== 0
}

function toChannel(row: Row): AlertChannel {
  const settings = { type: row.type, config: parseJson(row.config) ?? {} } as ChannelSettings
  return {
    ...settings,
    id: String(row.id),
    name: String(row.name),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  }
}

function toRule(row: Row): AlertRule {
  const streamIds = parseJson(row.stream_ids)
  return {
    id: String(row.id),
    name: String(row.name),
    enabled: toBoolean(row.enabled),
    stream_ids: Array.isArray(streamIds) ? stringArray(streamIds) : null,
    labels: labelsOrNull(parseJson(row.labels)),
    statuses: stringArray(parseJson(row.statuses)) as AlertStatus[],
    reason_pattern: row.reason_pattern === null ? null : String(row.reason_pattern),
    for_s: Number(row.for_s),
    channels: stringArray(parseJson(row.channel_ids)),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  }
}

function ruleColumns(input: RuleInput): Row {
  return {
    name: input.name,
    enabled: input.enabled,
    stream_ids: input.stream_ids === null ? null : JSON.stringify(input.stream_ids),
    labels: input.labels === null ? null : JSON.stringify(input.labels),
    statuses: JSON.stringify(input.statuses),
    reason_pattern: input.reason_pattern,
    for_s: input.for_s,
    channel_ids: JSON.stringify(input.channels),
  }
}

function toAlert(row: Row): Alert {
  return {
    id: Number(row.id),
    rule_id: String(row.rule_id),
    rule_name: String(row.rule_name),
    stream_id: String(row.stream_id),
    status: row.status as StreamStatusValue,
    reason: String(row.reason),
    started_at: iso(row.started_at),
    fired_at: iso(row.fired_at),
    resolved_at: isoOrNull(row.resolved_at),
    resolution: row.resolution === null ? null : (row.resolution as Resolution),
  }
}

function toDelivery(row: Row): AlertDelivery {
  return {
    id: Number(row.id),
    alert_id: Number(row.alert_id),
    channel_id: String(row.channel_id),
    event: row.event as AlertEvent,
    attempt: Number(row.attempt),
    outcome: row.outcome as DeliveryOutcome,
    http_status: row.http_status === null ? null : Number(row.http_status),
    response: row.response === null ? null : String(row.response),
    error: row.error === null ? null : String(row.error),
    at: iso(row.at),
  }
}

/**
 * Alert rules, channels, alerts and delivery attempts on the settings
 * database. Repository.alerts is one, sharing the repository's pool and clock.
 */
export class AlertStore {
  constructor(
    private readonly knex: Knex,
    private readonly now: () => number = Date.now,
  ) {}

  // Channels

  async listChannels(): Promise<AlertChannel[]> {
    const rows: Row[] = await this.knex(CHANNELS).select('*').orderBy('id')
    return rows.map(toChannel)
  }

  async getChannel(id: string): Promise<AlertChannel | undefined> {
    const row: Row | undefined = await this.knex(CHANNELS).where({ id }).first()
    return row === undefined ? undefined : toChannel(row)
  }

  /** Adds a channel, or throws DuplicateAlertObjectError when the id is taken. */
  async createChannel(id: string, input: ChannelInput): Promise<AlertChannel> {
    const now = Math.trunc(this.now())
    const row = { id, type: input.type, name: input.name, config: JSON.stringify(input.config) }
    try {
      await this.knex(CHANNELS).insert({ ...row, created_at: now, updated_at: now })
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateAlertObjectError('channel', id)
      throw err
    }
    return (await this.getChannel(id))!
  }

  /** Replaces a channel's name and config; undefined when there is no such channel. */
  async updateChannel(id: string, input: ChannelInput): Promise<AlertChannel | undefined> {
    const config = JSON.stringify(input.config)
    const columns = { name: input.name, config, updated_at: Math.trunc(this.now()) }
    const changed = await this.knex(CHANNELS).where({ id, type: input.type }).update(columns)
    return changed === 0 ? undefined : this.getChannel(id)
  }

  async deleteChannel(id: string): Promise<boolean> {
    return (await this.knex(CHANNELS).where({ id }).delete()) > 0
  }

  // Rules

  async listRules(): Promise<AlertRule[]> {
    const rows: Row[] = await this.knex(RULES).select('*').orderBy('id')
    return rows.map(toRule)
  }

  async getRule(id: string): Promise<AlertRule | undefined> {
    const row: Row | undefined = await this.knex(RULES).where({ id }).first()
    return row === undefined ? undefined : toRule(row)
  }

  /** Adds a rule, or throws DuplicateAlertObjectError when the id is taken. */
  async createRule(id: string, input: RuleInput): Promise<AlertRule> {
    const now = Math.trunc(this.now())
    try {
      await this.knex(RULES).insert({ id, ...ruleColumns(input), created_at: now, updated_at: now })
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateAlertObjectError('rule', id)
      throw err
    }
    return (await this.getRule(id))!
  }

  /** Replaces every field of a rule; undefined when there is no such rule. */
  async updateRule(id: string, input: RuleInput): Promise<AlertRule | undefined> {
    const changed = await this.knex(RULES)
      .where({ id })
      .update({ ...ruleColumns(input), updated_at: Math.trunc(this.now()) })
    return changed === 0 ? undefined : this.getRule(id)
  }

  async deleteRule(id: string): Promise<boolean> {
    return (await this.knex(RULES).where({ id }).delete()) > 0
  }

  /** Ids of the rules that send to the channel. */
  async rulesUsingChannel(channelId: string): Promise<string[]> {
    const rules = await this.listRules()
    return rules.filter((rule) => rule.channels.includes(channelId)).map((rule) => rule.id)
  }

  // Alerts and deliveries

  /** Stores a firing alert and returns it with its new id. */
  async insertAlert(input: NewAlert): Promise<Alert> {
    const row = {
      rule_id: input.rule_id,
      rule_name: input.rule_name,
      stream_id: input.stream_id,
      status: input.status,
      reason: input.reason,
      started_at: Math.trunc(input.startedAtMs),
      fired_at: Math.trunc(input.firedAtMs),
      resolved_at: null,
      resolution: null,
    }
    const [inserted] = await this.knex(ALERTS).insert(row)
    const id = Number(inserted)
    if (!Number.isSafeInteger(id) || id <= 0) {
      throw new RepositoryError('ALERT_INSERT_FAILED', 'alert insert returned no id')
    }
    return toAlert({ id, ...row })
  }

  /** Marks an open alert resolved. False when it was already resolved or does not exist. */
  async resolveAlert(id: number, atMs: number, resolution: Resolution): Promise<boolean> {
    const changed = await this.knex(ALERTS)
      .where({ id })
      .whereNull('resolved_at')
      .update({ resolved_at: Math.trunc(atMs), resolution })
    return changed > 0
  }

  /** Lists every alert not resolved yet, oldest first. */
  async listOpenAlerts(): Promise<Alert[]> {
    const rows: Row[] = await this.knex(ALERTS).whereNull('resolved_at').orderBy('id')
    return rows.map(toAlert)
  }

  /** For each alert id, the channels that a firing delivery was attempted on. */
  async firingChannels(alertIds: readonly number[]): Promise<Map<number, string[]>> {
    const result = new Map<number, string[]>()
    if (alertIds.length === 0) return result
    const rows: Row[] = await this.knex(DELIVERIES)
      .distinct('alert_id', 'channel_id')
      .whereIn('alert_id', [...alertIds])
      .where({ event: 'firing' })
      .orderBy(['alert_id', 'channel_id'])
    for (const row of rows) {
      const id = Number(row.alert_id)
      result.set(id, [...(result.get(id) ?? []), String(row.channel_id)])
    }
    return result
  }

  async recordDelivery(input: NewDelivery): Promise<void> {
    const { atMs, ...columns } = input
    await this.knex(DELIVERIES).insert({ ...columns, at: Math.trunc(atMs) })
  }

  /** Alerts that overlap the range, newest first, each with its delivery attempts in order. */
  async queryAlerts(query: AlertQuery): Promise<AlertWithDeliveries[]> {
    const select = this.knex(ALERTS)
      .where('started_at', '<', query.toMs)
      .where((open) => void open.whereNull('resolved_at').orWhere('resolved_at', '>=', query.fromMs))
    const streamIds = query.streamIds ?? []
    if (streamIds.length > 0) void select.whereIn('stream_id', [...streamIds])
    if (query.ruleId !== undefined) void select.where('rule_id', query.ruleId)
    if (query.state === 'open') void select.whereNull('resolved_at')
    if (query.state === 'resolved') void select.whereNotNull('resolved_at')
    const newestFirst = [
      { column: 'started_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ]
    const rows: Row[] = await select.orderBy(newestFirst).limit(query.limit)

    const alerts = rows.map(toAlert)
    const deliveries = await this.deliveriesOf(alerts.map((alert) => alert.id))
    return alerts.map((alert) => ({ ...alert, deliveries: deliveries.get(alert.id) ?? [] }))
  }

  async getAlert(id: number): Promise<AlertWithDeliveries | undefined> {
    const row: Row | undefined = await this.knex(ALERTS).where({ id }).first()
    if (row === undefined) return undefined
    const alert = toAlert(row)
    return { ...alert, deliveries: (await this.deliveriesOf([alert.id])).get(alert.id) ?? [] }
  }

  private async deliveriesOf(alertIds: readonly number[]): Promise<Map<number, AlertDelivery[]>> {
    const result = new Map<number, AlertDelivery[]>()
    if (alertIds.length === 0) return result
    const rows: Row[] = await this.knex(DELIVERIES).whereIn('alert_id', [...alertIds]).orderBy('id')
    for (const delivery of rows.map(toDelivery)) {
      const list = result.get(delivery.alert_id)
      if (list === undefined) result.set(delivery.alert_id, [delivery])
      else list.push(delivery)
    }
    return result
  }
}
