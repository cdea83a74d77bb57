import knexFactory, { type Knex } from 'knex'
import { raw } from 'objection'
import { describeDatabase, knexConfig, parseDatabaseUrl, type DatabaseConfig } from './config.ts'
import { DuplicateStreamError, isUniqueViolation, RepositoryError, StreamNotFoundError } from './errors.ts'
import { migrationSource } from './migrations/index.ts'
import { AgentModel, AgentTokenModel, AssignmentModel, StreamModel } from './models.ts'
import { aggregateStatus } from './status.ts'
import { generateAgentToken, hashAgentTokenSecret, hashesEqual, parseAgentToken } from './tokens.ts'
import { UserStore } from './users.ts'
import { AlertStore } from './alerts.ts'
import { ASSIGNMENTS_COUNTER, ClusterStore, STREAMS_COUNTER } from './cluster.ts'
import type {
  Agent,
  AgentAssignment,
  AgentHello,
  AgentToken,
  AssignmentChange,
  AssignmentResult,
  DesiredState,
  EpochFence,
  NewAgentToken,
  NewStream,
  OptionalProbeSetting,
  ProbePatch,
  ProbeSettings,
  RepositoryLogger,
  RepositoryOptions,
  Stream,
  StreamAssignment,
  StreamPatch,
  StreamStatusValue,
  Timestamp,
  Vantage,
} from './types.ts'

const DEFAULT_PROBE: ProbeSettings = { interval_s: 10, sample_s: 5, timeout_s: 10 }
/** Streams per transaction in changeAssignments; keeps statements under SQLite's bound-parameter limit. */
const ASSIGNMENT_CHUNK = 100
/** Ids per `where in` list; SQLite binds at most 999 parameters per statement. */
const ID_CHUNK = 500
/** Probe times per statement in recordProbes: 6 bound parameters each, under SQLite's 999. */
const PROBE_CHUNK = 150
const MYSQL_UNKNOWN_DATABASE = 1049
const DUMMY_HASH = hashAgentTokenSecret('monit-dummy-secret')

function iso(ms: number): string
function iso(ms: number | null): string | null
function iso(ms: number | null): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString()
}

function toMs(at: Timestamp): number {
  const ms = at instanceof Date ? at.getTime() : at
  if (!Number.isFinite(ms)) throw new RangeError(`invalid timestamp ${String(at)}`)
  return Math.trunc(ms)
}

function toAssignment(row: AssignmentModel): StreamAssignment {
  return {
    agent_id: row.agent_id,
    epoch: row.epoch,
    slot: row.slot,
    reason: row.reason,
    assigned_at: iso(row.assigned_at),
    status: row.status ?? null,
    status_reason: row.status_reason ?? null,
    status_at: iso(row.status_at ?? null),
    last_probe_at: iso(row.last_probe_at ?? null),
  }
}

function toVantage(value: unknown): Vantage | null {
  if (value === null || typeof value !== 'object') return null
  const { count, label } = value as Partial<Vantage>
  return typeof count === 'number' && typeof label === 'string' ? { count, label } : null
}

/** The API shape of a stream row; `assignments` must be ordered by slot. */
function toStream(row: StreamModel, assignments: readonly AssignmentModel[]): Stream {
  const first = assignments[0]
  return {
    id: row.id,
    url: row.url,
    desired_state: row.desired_state,
    probe: toProbe(row),
    labels: { ...row.labels },
    required_labels: { ...row.required_labels },
    weight: row.weight,
    pinned_agent_id: row.pinned_agent_id ?? null,
    vantage: toVantage(row.vantage),
    agent_id: first?.agent_id ?? null,
    epoch: row.epoch,
    assigned_at: iso(first?.assigned_at ?? null),
    assignments: assignments.map(toAssignment),
    status: row.status ?? null,
    status_reason: row.status_reason ?? null,
    status_at: iso(row.status_at ?? null),
    last_probe_at: iso(row.last_probe_at ?? null),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  }
}

function toAgent(row: AgentModel): Agent {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    protocol: row.protocol,
    labels: { ...row.labels },
    capacity: row.capacity,
    connected: row.connected,
    draining: row.draining,
    connected_at: iso(row.connected_at ?? null),
    last_seen_at: iso(row.last_seen_at ?? null),
    disconnected_at: iso(row.disconnected_at ?? null),
    remote_address: row.remote_address ?? null,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  }
}

function toAgentToken(row: AgentTokenModel): AgentToken {
  return {
    id: row.id,
    name: row.name,
    created_at: iso(row.created_at),
    last_used_at: iso(row.last_used_at ?? null),
    revoked_at: iso(row.revoked_at ?? null),
  }
}

/** Optional probe settings stored in streams columns of the same name. */
const OPTIONAL_PROBE_SETTINGS: readonly OptionalProbeSetting[] = [
  'av_interval_s',
  'av_sample_s',
  'screenshot_interval_s',
  'page_url',
  'page_interval_s',
  'min_bitrate',
]

/** Returns a row's probe settings, leaving out the optional ones that are unset. */
function toProbe(row: StreamModel): ProbeSettings {
  const probe: ProbeSettings = { interval_s: row.probe_interval_s, sample_s: row.sample_s, timeout_s: row.timeout_s }
  const target = probe as Record<OptionalProbeSetting, unknown>
  for (const setting of OPTIONAL_PROBE_SETTINGS) {
    const value = row[setting]
    if (value !== null && value !== undefined) target[setting] = value
  }
  return probe
}

function probeColumns(probe: ProbePatch | undefined): Partial<StreamModel> {
  const columns: Partial<StreamModel> = {}
  if (probe?.interval_s !== undefined) columns.probe_interval_s = probe.interval_s
  if (probe?.sample_s !== undefined) columns.sample_s = probe.sample_s
  if (probe?.timeout_s !== undefined) columns.timeout_s = probe.timeout_s
  const target = columns as Record<OptionalProbeSetting, unknown>
  for (const setting of OPTIONAL_PROBE_SETTINGS) {
    const value = probe?.[setting]
    if (value !== undefined) target[setting] = value
  }
  return columns
}

function schedulingColumns(patch: StreamPatch): Partial<StreamModel> {
  const columns: Partial<StreamModel> = {}
  if (patch.required_labels !== undefined) columns.required_labels = patch.required_labels
  if (patch.weight !== undefined) columns.weight = patch.weight
  if (patch.pinned_agent_id !== undefined) columns.pinned_agent_id = patch.pinned_agent_id
  if (patch.vantage !== undefined) columns.vantage = patch.vantage
  return columns
}

function groupByStream(rows: readonly AssignmentModel[]): Map<string, AssignmentModel[]> {
  const groups = new Map<string, AssignmentModel[]>()
  for (const row of rows) {
    const list = groups.get(row.stream_id)
    if (list === undefined) groups.set(row.stream_id, [row])
    else list.push(row)
  }
  return groups
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = []
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size))
  return result
}

/**
 * The controller's settings store: streams, agents, agent tokens and users, on
 * SQLite or MariaDB/MySQL. Get one from openRepository.
 */
export class Repository {
  readonly knex: Knex
  readonly client: DatabaseConfig['client']
  private readonly now: () => number
  private readonly Streams: typeof StreamModel
  private readonly Agents: typeof AgentModel
  private readonly Tokens: typeof AgentTokenModel
  private readonly Assignments: typeof AssignmentModel
  /** API users and their password hashes. */
  readonly users: UserStore
  /** Alert rules, channels, alerts and their deliveries. */
  readonly alerts: AlertStore
  /** The scheduler lease, agent presence and change counters of several controllers on one database. */
  readonly cluster: ClusterStore
  /**
   * When set, changeAssignments writes only while this controller holds the
   * named lease, checked in the same transaction.
   */
  assignmentLease: { name: string; holder: string } | undefined

  constructor(knex: Knex, client: DatabaseConfig['client'], options: RepositoryOptions = {}) {
    this.knex = knex
    this.client = client
    this.now = options.now ?? Date.now
    this.Streams = StreamModel.bindKnex(knex)
    this.Agents = AgentModel.bindKnex(knex)
    this.Tokens = AgentTokenModel.bindKnex(knex)
    this.Assignments = AssignmentModel.bindKnex(knex)
    this.users = new UserStore(knex, this.now)
    this.alerts = new AlertStore(knex, this.now)
    this.cluster = new ClusterStore(knex, this.now)
  }

  private ms(at: Timestamp | undefined): number {
    return at === undefined ? Math.trunc(this.now()) : toMs(at)
  }

  // Streams

  /** Returns every stream with its assignments, ordered by id. */
  async listStreams(): Promise<Stream[]> {
    const rows = await this.Streams.query().orderBy('id')
    const assignments = groupByStream(await this.Assignments.query().orderBy(['stream_id', 'slot']))
    return rows.map((row) => toStream(row, assignments.get(row.id) ?? []))
  }

  /** Returns the streams with these ids that exist, with their assignments, ordered by id. */
  async listStreamsById(ids: readonly string[]): Promise<Stream[]> {
    const streams: Stream[] = []
    for (const chunk of chunks([...new Set(ids)], ID_CHUNK)) {
      const rows = await this.Streams.query().whereIn('id', chunk)
      const assignments = groupByStream(await this.Assignments.query().whereIn('stream_id', chunk).orderBy(['stream_id', 'slot']))
      streams.push(...rows.map((row) => toStream(row, assignments.get(row.id) ?? [])))
    }
    return streams.sort((a, b) => compareIds(a.id, b.id))
  }

  async getStream(id: string): Promise<Stream | undefined> {
    const row = await this.Streams.query().findById(id)
    if (!row) return undefined
    return toStream(row, await this.Assignments.query().where('stream_id', id).orderBy('slot'))
  }

  /** Adds a stream; throws DuplicateStreamError (code STREAM_EXISTS) when the id is taken. */
  async createStream(input: NewStream): Promise<Stream> {
    const now = this.ms(undefined)
    const probe = { ...DEFAULT_PROBE, ...input.probe }
    // A short interval given without a sample window gets a window that fits in it, not the default 5 s.
    if (input.probe?.sample_s === undefined && probe.sample_s >= probe.interval_s) probe.sample_s = Math.max(1, probe.interval_s - 1)
    try {
      await this.Streams.query().insert({
        id: input.id,
        url: input.url,
        desired_state: input.desired_state ?? 'up',
        ...probeColumns(probe),
        labels: input.labels ?? {},
        required_labels: input.required_labels ?? {},
        weight: input.weight ?? 1,
        pinned_agent_id: input.pinned_agent_id ?? null,
        vantage: input.vantage ?? null,
        epoch: 0,
        created_at: now,
        updated_at: now,
      })
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateStreamError(input.id)
      throw err
    }
    // The scheduler leader, maybe another controller, reads the streams again when this counter grows.
    await this.cluster.bumpCounter(this.knex, STREAMS_COUNTER)
    const created = await this.getStream(input.id)
    if (!created) throw new StreamNotFoundError(input.id)
    return created
  }

  /** Changes a stream's settings and returns it; throws StreamNotFoundError. */
  async updateStream(id: string, patch: StreamPatch): Promise<Stream> {
    const columns: Partial<StreamModel> = {
      ...probeColumns(patch.probe),
      ...schedulingColumns(patch),
      updated_at: this.ms(undefined),
    }
    if (patch.url !== undefined) columns.url = patch.url
    if (patch.desired_state !== undefined) columns.desired_state = patch.desired_state
    if (patch.labels !== undefined) columns.labels = patch.labels
    return this.knex.transaction(async (trx) => {
      // Other controllers re-send the perform of a changed stream to their agents, and the leader places it again.
      await this.cluster.bumpCounter(trx, ASSIGNMENTS_COUNTER)
      await this.cluster.bumpCounter(trx, STREAMS_COUNTER)
      const changed = await this.Streams.query(trx).findById(id).patch(columns)
      const row = changed > 0 ? await this.Streams.query(trx).findById(id) : undefined
      if (!row) throw new StreamNotFoundError(id)
      return toStream(row, await this.Assignments.query(trx).where('stream_id', id).orderBy('slot'))
    })
  }

  /** Sets desired_state and returns the stream; throws StreamNotFoundError. */
  async setDesiredState(id: string, state: DesiredState): Promise<Stream> {
    return this.updateStream(id, { desired_state: state })
  }

  /** Removes a stream and its assignments; false when there was none. */
  async deleteStream(id: string): Promise<boolean> {
    return this.knex.transaction(async (trx) => {
      await this.cluster.bumpCounter(trx, ASSIGNMENTS_COUNTER)
      await this.cluster.bumpCounter(trx, STREAMS_COUNTER)
      await this.Assignments.query(trx).where('stream_id', id).delete()
      const deleted = await this.Streams.query(trx).deleteById(id)
      return deleted > 0
    })
  }

  /**
   * Applies assignment changes: for each stream, increments its epoch once,
   * ends the assignments of the removed slots and makes the added ones with
   * the new epoch. A removal brings the stream's status back in line with
   * the assignments left. Changes run in transactions of up to
   * ASSIGNMENT_CHUNK streams. A stream deleted meanwhile is skipped and gets
   * epoch undefined in the result.
   */
  async changeAssignments(changes: readonly AssignmentChange[], at?: Timestamp): Promise<AssignmentResult[]> {
    const assignedAt = this.ms(at)
    const results: AssignmentResult[] = []
    for (const chunk of chunks(changes, ASSIGNMENT_CHUNK)) {
      results.push(...(await this.knex.transaction((trx) => this.changeChunk(trx, chunk, assignedAt))))
      // better-sqlite3 runs statements synchronously, so let sockets be served between chunks of a large pass.
      await new Promise((done) => setImmediate(done))
    }
    return results
  }

  private async changeChunk(trx: Knex.Transaction, changes: readonly AssignmentChange[], assignedAt: number): Promise<AssignmentResult[]> {
    if (this.assignmentLease !== undefined) await this.cluster.checkLease(trx, this.assignmentLease.name, this.assignmentLease.holder)
    await this.cluster.bumpCounter(trx, ASSIGNMENTS_COUNTER)
    const ids = [...new Set(changes.map((change) => change.streamId))]
    await this.Streams.query(trx).whereIn('id', ids).patch({ epoch: raw('?? + 1', ['epoch']) })
    const rows = await this.Streams.query(trx).whereIn('id', ids).select('id', 'epoch', 'vantage')
    const streams = new Map(rows.map((row) => [row.id, row]))
    const live = changes.filter((change) => streams.has(change.streamId))

    const removals = live.flatMap((change) => change.remove.map((slot) => ({ stream_id: change.streamId, slot })))
    if (removals.length > 0) {
      await this.Assignments.query(trx)
        .where((query) => {
          for (const key of removals) void query.orWhere(key)
        })
        .delete()
    }
    const additions = live.flatMap((change) =>
      change.add.map(({ slot, agentId, reason }) => ({
        stream_id: change.streamId,
        slot,
        agent_id: agentId,
        epoch: streams.get(change.streamId)!.epoch,
        reason: reason.slice(0, 512),
        assigned_at: assignedAt,
      })),
    )
    if (additions.length > 0) await trx('assignments').insert(additions)

    for (const change of live) {
      if (change.remove.length > 0) await this.refreshStatus(trx, streams.get(change.streamId)!)
    }
    return changes.map((change) => ({ streamId: change.streamId, epoch: streams.get(change.streamId)?.epoch }))
  }

  /**
   * Recomputes the stream's status from its assignments, and sets status_at
   * when given. Leaves the status alone while no current assignment has
   * reported, so a stream that moves keeps its last status until the new
   * agent reports. A stream left without assignments (stopped, or no agent
   * for it) loses its status, so that it does not show an old one when it runs again.
   */
  private async refreshStatus(trx: Knex.Transaction, stream: Pick<StreamModel, 'id' | 'vantage'>, statusAt?: number): Promise<void> {
    const rows = await this.Assignments.query(trx).where('stream_id', stream.id).orderBy('slot')
    if (rows.length === 0) {
      await this.Streams.query(trx).findById(stream.id).patch({ status: null, status_reason: null, status_at: null })
      return
    }
    const entries = rows.map((row) => ({ agentId: row.agent_id, slot: row.slot, status: row.status ?? null, reason: row.status_reason ?? null }))
    const combined = aggregateStatus(entries, toVantage(stream.vantage)?.label ?? null)
    if (combined === undefined) return
    const columns: Partial<StreamModel> = { status: combined.status, status_reason: combined.reason }
    if (statusAt !== undefined) columns.status_at = statusAt
    await this.Streams.query(trx).findById(stream.id).patch(columns)
  }

  /**
   * Stores the latest status an agent reported. With fence.epoch, it goes to
   * the assignment with that epoch (and fence.agentId, when given), and the
   * stream's status becomes the combination over its assignments. Without a
   * fence, it is the stream's status directly. False when nothing was updated.
   */
  async recordStatus(
    id: string,
    status: StreamStatusValue,
    reason: string,
    at?: Timestamp,
    fence: EpochFence = {},
  ): Promise<boolean> {
    const statusAt = this.ms(at)
    if (fence.epoch === undefined) {
      const changed = await this.Streams.query().findById(id).patch({ status, status_reason: reason, status_at: statusAt })
      return changed > 0
    }
    const epoch = fence.epoch
    return this.knex.transaction(async (trx) => {
      // Locks the stream row on MariaDB so that two agents' reports combine in turn.
      const stream = await this.Streams.query(trx).findById(id).select('id', 'vantage').forUpdate()
      if (!stream) return false
      const changed = await this.fencedAssignment(trx, id, { epoch, agentId: fence.agentId }).patch({
        status,
        status_reason: reason,
        status_at: statusAt,
      })
      if (changed === 0) return false
      await this.refreshStatus(trx, stream, statusAt)
      return true
    })
  }

  /**
   * Stores when the stream was last probed, on the stream and, with
   * fence.epoch, on the matching assignment only. False when nothing was updated.
   */
  async recordProbe(id: string, at?: Timestamp, fence: EpochFence = {}): Promise<boolean> {
    const probedAt = this.ms(at)
    if (fence.epoch !== undefined) {
      const changed = await this.fencedAssignment(this.knex, id, { epoch: fence.epoch, agentId: fence.agentId }).patch({
        last_probe_at: probedAt,
      })
      if (changed === 0) return false
    }
    const changed = await this.Streams.query().findById(id).patch({ last_probe_at: probedAt })
    return changed > 0
  }

  /**
   * Stores many probe times: each on its assignment, when the stream, agent
   * and epoch still match, and the latest one of each stream on the stream
   * (without the epoch check, as callers pass only current assignments).
   * Each chunk of PROBE_CHUNK entries takes two statements, using CASE, so
   * that thousands of streams cost tens of statements rather than thousands.
   */
  async recordProbes(entries: ReadonlyArray<{ streamId: string; agentId: string; epoch: number; at: Timestamp }>): Promise<void> {
    if (entries.length === 0) return
    const latest = new Map<string, number>()
    for (const entry of entries) latest.set(entry.streamId, Math.max(latest.get(entry.streamId) ?? 0, toMs(entry.at)))
    await this.knex.transaction(async (trx) => {
      for (const chunk of chunks(entries, PROBE_CHUNK)) {
        const cases = chunk.map(() => 'when stream_id = ? and agent_id = ? then ?').join(' ')
        const keys = chunk.map(() => '(?, ?, ?)').join(', ')
        await trx.raw(`update assignments set last_probe_at = case ${cases} else last_probe_at end where (stream_id, agent_id, epoch) in (${keys})`, [
          ...chunk.flatMap((entry) => [entry.streamId, entry.agentId, toMs(entry.at)]),
          ...chunk.flatMap((entry) => [entry.streamId, entry.agentId, entry.epoch]),
        ])
      }
      for (const chunk of chunks([...latest], PROBE_CHUNK)) {
        const cases = chunk.map(() => 'when ? then ?').join(' ')
        const ids = chunk.map(() => '?').join(', ')
        await trx.raw(`update streams set last_probe_at = case id ${cases} else last_probe_at end where id in (${ids})`, [
          ...chunk.flatMap(([id, at]) => [id, at]),
          ...chunk.map(([id]) => id),
        ])
      }
    })
  }

  private fencedAssignment(trx: Knex | Knex.Transaction, id: string, fence: { epoch: number; agentId: string | undefined }) {
    const query = this.Assignments.query(trx).where({ stream_id: id, epoch: fence.epoch })
    if (fence.agentId !== undefined) void query.where('agent_id', fence.agentId)
    return query
  }

  /** Returns the agent's assignments with their streams' weights, ordered by stream id and slot. */
  async listAgentAssignments(agentId: string): Promise<AgentAssignment[]> {
    return this.listAssignments(agentId)
  }

  /** Returns every assignment (or only the agent's) with its stream's weight, ordered by stream id and slot. */
  async listAssignments(agentId?: string): Promise<AgentAssignment[]> {
    const query = this.Assignments.query()
      .join('streams', 'streams.id', 'assignments.stream_id')
      .select('assignments.*', 'streams.weight as stream_weight')
      .orderBy([{ column: 'assignments.stream_id' }, { column: 'assignments.slot' }])
    if (agentId !== undefined) void query.where('assignments.agent_id', agentId)
    const rows = (await query) as Array<AssignmentModel & { stream_weight: number | string }>
    return rows.map((row) => ({ ...toAssignment(row), stream_id: row.stream_id, weight: Number(row.stream_weight) }))
  }

  // Agents

  /** Records an agent's hello: creates or refreshes it and marks it connected. */
  async upsertAgentOnHello(hello: AgentHello, at?: Timestamp): Promise<Agent> {
    const now = this.ms(at)
    const row = {
      id: hello.id,
      name: hello.name,
      version: hello.version,
      protocol: hello.protocol,
      labels: hello.labels ?? {},
      capacity: hello.capacity,
      connected: true,
      connected_at: now,
      last_seen_at: now,
      disconnected_at: null,
      remote_address: hello.remoteAddress ?? null,
      created_at: now,
      updated_at: now,
    }
    const { id: _id, created_at: _created, ...updated } = row
    await this.Agents.query()
      .insert(row)
      .onConflict('id')
      .merge(Object.keys(updated))
    const agent = await this.getAgent(hello.id)
    if (!agent) throw new RepositoryError('AGENT_NOT_FOUND', `agent "${hello.id}" vanished after hello`)
    return agent
  }

  /** Sets last_seen_at; false when the agent is unknown. */
  async touchAgent(id: string, at?: Timestamp): Promise<boolean> {
    const changed = await this.Agents.query().findById(id).patch({ last_seen_at: this.ms(at) })
    return changed > 0
  }

  /** Sets last_seen_at of many agents in one statement per 500 ids; returns how many rows changed. */
  async touchAgents(ids: readonly string[], at?: Timestamp): Promise<number> {
    const seenAt = this.ms(at)
    let changed = 0
    for (const chunk of chunks(ids, ID_CHUNK)) changed += await this.Agents.query().whereIn('id', chunk).patch({ last_seen_at: seenAt })
    return changed
  }

  /** Sets or clears the agent's draining flag; false when the agent is unknown. */
  async setAgentDraining(id: string, draining: boolean): Promise<boolean> {
    const changed = await this.Agents.query().findById(id).patch({ draining, updated_at: this.ms(undefined) })
    // The scheduler leader, maybe another controller, places every stream again when this counter grows.
    if (changed > 0) await this.cluster.bumpCounter(this.knex, STREAMS_COUNTER)
    return changed > 0
  }

  /** Marks the agent disconnected at the given time; false when the agent is unknown. */
  async markAgentDisconnected(id: string, at?: Timestamp): Promise<boolean> {
    const changed = await this.Agents.query().findById(id).patch({ connected: false, disconnected_at: this.ms(at) })
    return changed > 0
  }

  /**
   * Removes a disconnected agent without assignments. Returns 'deleted',
   * 'not_found', or the reason it stays: 'connected' or 'assigned'. An
   * agent that sends a hello later is stored again.
   */
  async deleteAgent(id: string): Promise<'deleted' | 'not_found' | 'connected' | 'assigned'> {
    return this.knex.transaction(async (trx) => {
      const agent = await this.Agents.query(trx).findById(id).forUpdate()
      if (!agent) return 'not_found'
      if (agent.connected) return 'connected'
      const assigned = await this.Assignments.query(trx).where('agent_id', id).resultSize()
      if (assigned > 0) return 'assigned'
      await this.Agents.query(trx).deleteById(id)
      return 'deleted'
    })
  }

  /** Marks every connected agent disconnected (at controller start); returns how many. */
  async markAllAgentsDisconnected(at?: Timestamp): Promise<number> {
    return this.Agents.query().where('connected', true).patch({ connected: false, disconnected_at: this.ms(at) })
  }

  /** Every agent ever seen, ordered by id. */
  async listAgents(): Promise<Agent[]> {
    const rows = await this.Agents.query().orderBy('id')
    return rows.map(toAgent)
  }

  async getAgent(id: string): Promise<Agent | undefined> {
    const row = await this.Agents.query().findById(id)
    return row ? toAgent(row) : undefined
  }

  // Agent tokens

  /** Creates a token. The plaintext `token` is returned here only; the database keeps its hash. */
  async createAgentToken(name: string): Promise<NewAgentToken> {
    for (let attempt = 0; ; attempt++) {
      const { id, secret, token } = generateAgentToken()
      const now = this.ms(undefined)
      try {
        await this.Tokens.query().insert({ id, name, token_hash: hashAgentTokenSecret(secret), created_at: now })
      } catch (err) {
        if (isUniqueViolation(err) && attempt < 3) continue
        throw err
      }
      return { id, name, token, created_at: iso(now), last_used_at: null, revoked_at: null }
    }
  }

  /**
   * The token row when `token` is a valid, unrevoked agent token (and records
   * its use); undefined otherwise. Hashes are compared in constant time.
   */
  async verifyAgentToken(token: string, at?: Timestamp): Promise<AgentToken | undefined> {
    const parsed = parseAgentToken(token)
    if (!parsed) return undefined
    const hash = hashAgentTokenSecret(parsed.secret)
    const row = await this.Tokens.query().findById(parsed.id)
    const matches = hashesEqual(hash, row?.token_hash ?? DUMMY_HASH)
    if (!row || !matches || (row.revoked_at !== null && row.revoked_at !== undefined)) return undefined
    const usedAt = this.ms(at)
    const changed = await this.Tokens.query().findById(row.id).whereNull('revoked_at').patch({ last_used_at: usedAt })
    if (changed === 0) return undefined // revoked meanwhile
    return toAgentToken(Object.assign(row, { last_used_at: usedAt }))
  }

  /** Every token, oldest first, without hashes. */
  async listAgentTokens(): Promise<AgentToken[]> {
    const rows = await this.Tokens.query()
      .select('id', 'name', 'created_at', 'last_used_at', 'revoked_at')
      .orderBy([{ column: 'created_at' }, { column: 'id' }])
    return rows.map(toAgentToken)
  }

  /**
   * Revokes a token so it no longer verifies. True when the token exists
   * (an already revoked token keeps its first revoked_at); false otherwise.
   */
  async revokeAgentToken(id: string, at?: Timestamp): Promise<boolean> {
    const revokedAt = this.ms(at)
    const changed = await this.Tokens.query().findById(id).whereNull('revoked_at').patch({ revoked_at: revokedAt })
    if (changed > 0) return true
    const row = await this.Tokens.query().findById(id).select('id')
    return row !== undefined
  }

  /** Closes the connection pool. */
  async close(): Promise<void> {
    await this.knex.destroy()
  }
}

/** Sends knex's own messages (pool and driver warnings) to the logger rather than the console. */
function knexLog(logger: RepositoryLogger): Knex.Logger {
  const warn = (message: unknown): void => {
    const text = message instanceof Error ? message.message : String(message)
    if (logger.warn) logger.warn({ component: 'knex' }, text)
    else logger.info({ component: 'knex', level: 'warn' }, text)
  }
  return { warn, error: warn, deprecate: (method, alternative) => warn(`${method} is deprecated; use ${alternative}`), debug: () => undefined }
}

/** Creates the MySQL database named in config when the server says it does not exist. */
async function ensureMysqlDatabase(config: Extract<DatabaseConfig, { client: 'mysql' }>, logger: RepositoryLogger): Promise<void> {
  const log = knexLog(logger)
  const probe = knexFactory(knexConfig(config, { log }))
  try {
    await probe.raw('select 1')
    return
  } catch (err) {
    if ((err as { errno?: unknown }).errno !== MYSQL_UNKNOWN_DATABASE) throw err
  } finally {
    await probe.destroy()
  }
  const admin = knexFactory(knexConfig(config, { withoutDatabase: true, log }))
  try {
    await admin.raw('create database if not exists ?? character set utf8mb4 collate utf8mb4_bin', [config.database])
    logger.info({ database: describeDatabase(config) }, 'created settings database')
  } finally {
    await admin.destroy()
  }
}

/**
 * Opens the settings database at url (`sqlite:PATH`, a plain path,
 * `sqlite::memory:`, or `mysql://user:pass@host:port/db`), creating a
 * missing MySQL database, and brings its schema up to date.
 */
export async function openRepository(url: string, logger: RepositoryLogger, options: RepositoryOptions = {}): Promise<Repository> {
  const config = parseDatabaseUrl(url)
  const database = describeDatabase(config)
  logger.info({ database }, 'opening settings database')
  let knex: Knex | undefined
  try {
    if (config.client === 'mysql') await ensureMysqlDatabase(config, logger)
    knex = knexFactory(knexConfig(config, { log: knexLog(logger) }))
    const [batch, ran] = (await knex.migrate.latest({ migrationSource })) as [number, string[]]
    if (ran.length > 0) logger.info({ database, batch, migrations: ran }, `ran ${ran.length} settings migration(s)`)
    else logger.info({ database }, 'settings schema is up to date')
    return new Repository(knex, config.client, options)
  } catch (err) {
    await knex?.destroy().catch(() => undefined)
    const message = err instanceof Error ? err.message : String(err)
    throw new RepositoryError('DATABASE_OPEN_FAILED', `could not open settings database ${database}: ${message}`, { cause: err })
  }
}

/** Compares ids by their UTF-16 code units, the order of JavaScript's string comparison. */
function compareIds(a: string, b: string): number {
  if (a < b) return -1
  if (a > b) return 1
  return 0
}
