// Storage for running several controllers on one database: the scheduler
// lease, the agents' presence (which controller each is connected to) and
// the counter that signals to controllers that the assignments changed.
import type { Knex } from 'knex'
import { isUniqueViolation } from './errors.ts'
import type { Labels } from './types.ts'

/** Name of the change counter that grows with every change of the assignments table and of a stream's settings. */
export const ASSIGNMENTS_COUNTER = 'assignments'
/** Name of the change counter that grows when a stream is created, changed or deleted, or an agent's draining flag changes. */
export const STREAMS_COUNTER = 'streams'

/** An agent connected to some controller, as the leader places streams on it. */
export interface PresentAgent {
  id: string
  capacity: number
  labels: Labels
  controllerId: string
  lastSeenAt: number
}

/** One stored assignment, with the time its stream's settings last changed. */
export interface AssignmentRow {
  stream_id: string
  slot: string
  agent_id: string
  epoch: number
  /** The stream's updated_at; a change means its perform must be sent again. */
  stream_updated_at: number
}

/** Raised when a write that needs the scheduler lease runs on a controller that no longer holds it. */
export class LeaseLostError extends Error {
  constructor(holder: string) {
    super(`controller ${holder} no longer holds the scheduler lease; assignments not changed`)
    this.name = 'LeaseLostError'
  }
}

export class ClusterStore {
  constructor(
    private readonly knex: Knex,
    private readonly now: () => number,
  ) {}

  /**
   * Takes or renews the lease `name` for `holder` until now + ttlMs, when it
   * is free, expired or already held by `holder`. One conditional UPDATE
   * decides, so two controllers cannot both win. Returns whether `holder`
   * holds the lease now.
   */
  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = Math.trunc(this.now())
    const renewed = await this.knex('leases').where({ name, holder }).andWhere('expires_at', '>=', now).update({ expires_at: now + ttlMs })
    if (renewed > 0) return true
    const taken = await this.knex('leases')
      .where('name', name)
      .andWhere((query) => void query.where('expires_at', '<', now).orWhere('holder', holder))
      .update({ holder, expires_at: now + ttlMs, acquired_at: now })
    if (taken > 0) return true
    try {
      await this.knex('leases').insert({ name, holder, expires_at: now + ttlMs, acquired_at: now })
      return true
    } catch (error) {
      if (isUniqueViolation(error)) return false
      throw error
    }
  }

  /** Ends the lease at once when `holder` holds it, so another controller takes over without waiting. */
  async releaseLease(name: string, holder: string): Promise<void> {
    await this.knex('leases').where({ name, holder }).update({ expires_at: 0 })
  }

  /** Returns the holder of the lease and when it expires, or undefined when it was never taken. */
  async readLease(name: string): Promise<{ holder: string; expiresAt: number } | undefined> {
    const row = (await this.knex('leases').where('name', name).first('holder', 'expires_at')) as { holder: string; expires_at: number | string } | undefined
    return row === undefined ? undefined : { holder: row.holder, expiresAt: Number(row.expires_at) }
  }

  /** Throws LeaseLostError unless `holder` holds the unexpired lease; locks the row until the transaction ends. */
  async checkLease(trx: Knex.Transaction, name: string, holder: string): Promise<void> {
    const row = (await trx('leases').where('name', name).forUpdate().first('holder', 'expires_at')) as
      | { holder: string; expires_at: number | string }
      | undefined
    if (row === undefined || row.holder !== holder || Number(row.expires_at) < this.now()) throw new LeaseLostError(holder)
  }

  /** Adds one to a change counter inside the caller's transaction. */
  async bumpCounter(trx: Knex | Knex.Transaction, name: string): Promise<void> {
    const changed = await trx('change_counters').where('name', name).increment('value', 1)
    if (changed === 0) await trx('change_counters').insert({ name, value: 1 })
  }

  /** Returns every change counter by name. */
  async readCounters(): Promise<Map<string, number>> {
    const rows = (await this.knex('change_counters').select('name', 'value')) as Array<{ name: string; value: number | string }>
    return new Map(rows.map((row) => [row.name, Number(row.value)]))
  }

  /** Records that the agent is connected to `controllerId`; call after its hello was stored. */
  async claimAgent(agentId: string, controllerId: string): Promise<void> {
    await this.knex('agents').where('id', agentId).update({ controller_id: controllerId, connected: true, last_seen_at: Math.trunc(this.now()) })
  }

  /**
   * Marks the agent disconnected, but only while `controllerId` is still its
   * controller: an agent that already reconnected elsewhere stays connected.
   * Returns whether the row changed.
   */
  async releaseAgent(agentId: string, controllerId: string): Promise<boolean> {
    const now = Math.trunc(this.now())
    const changed = await this.knex('agents')
      .where({ id: agentId, controller_id: controllerId })
      .update({ connected: false, controller_id: null, disconnected_at: now })
    return changed > 0
  }

  /** Returns the connected agents whose controller refreshed them at or after `seenSince`, ordered by id. */
  async listPresentAgents(seenSince: number): Promise<PresentAgent[]> {
    const rows = (await this.knex('agents')
      .where('connected', true)
      .whereNotNull('controller_id')
      .andWhere('last_seen_at', '>=', seenSince)
      .orderBy('id')
      .select('id', 'capacity', 'labels', 'controller_id', 'last_seen_at')) as Array<{
      id: string
      capacity: number | string
      labels: string | null
      controller_id: string
      last_seen_at: number | string
    }>
    return rows.map((row) => ({
      id: row.id,
      capacity: Number(row.capacity),
      labels: parseLabels(row.labels),
      controllerId: row.controller_id,
      lastSeenAt: Number(row.last_seen_at),
    }))
  }

  /** Returns every assignment with its stream's updated_at, ordered by stream id and slot. */
  async listAssignmentRows(): Promise<AssignmentRow[]> {
    const rows = (await this.knex('assignments')
      .join('streams', 'streams.id', 'assignments.stream_id')
      .orderBy([{ column: 'assignments.stream_id' }, { column: 'assignments.slot' }])
      .select(
        'assignments.stream_id',
        'assignments.slot',
        'assignments.agent_id',
        'assignments.epoch',
        'streams.updated_at as stream_updated_at',
      )) as Array<Record<keyof AssignmentRow, string | number>>
    return rows.map((row) => ({
      stream_id: String(row.stream_id),
      slot: String(row.slot),
      agent_id: String(row.agent_id),
      epoch: Number(row.epoch),
      stream_updated_at: Number(row.stream_updated_at),
    }))
  }
}

function parseLabels(text: string | null): Labels {
  if (text === null || text === '') return {}
  try {
    const value = JSON.parse(text) as unknown
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Labels) : {}
  } catch {
    return {}
  }
}
