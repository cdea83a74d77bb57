// Runs one controller among several that share one MySQL database. One of
// them holds the scheduler lease and places streams; every controller
// publishes which agents are connected to it, follows the stored
// assignments and sends its own agents the perform and revoke orders that
// changed.
import type { Logger } from 'pino'
import type { AssignmentRow, ClusterStore, PresentAgent } from '../repository/cluster.ts'
import { ASSIGNMENTS_COUNTER, STREAMS_COUNTER } from '../repository/cluster.ts'
import type { Labels } from './placement.ts'
import { performFor, type AgentDirectory, type ScheduledStream, type Scheduler } from './scheduler.ts'

/** Name of the lease row that makes its holder the scheduler leader. */
export const SCHEDULER_LEASE = 'scheduler'

export interface ClusterOptions {
  controllerId: string
  /** Milliseconds a lease lasts without renewal; renewed every third of it. */
  leaseTtlMs: number
  /** Milliseconds between reads of the presence and of the assignments counter. */
  pollMs: number
  /** An agent whose controller did not refresh it for this long counts as gone. */
  presenceTtlMs: number
}

/** The agents connected to this controller, from the hub. */
export interface LocalAgents {
  all(): Array<{ agentId: string; capacity: number; labels: Labels }>
  send: AgentDirectory['send']
}

export interface ClusterStreams {
  listStreamsById(ids: readonly string[]): Promise<ScheduledStream[]>
}

export class ClusterCoordinator {
  /** Agents connected to any controller, by id, as of the last presence read. */
  private present = new Map<string, { capacity: number; labels: Labels }>()
  private leaseTimer: NodeJS.Timeout | undefined
  private pollTimer: NodeJS.Timeout | undefined
  private lastRenewedAt = 0
  private lastCounter: number | undefined
  private lastStreamsCounter: number | undefined
  /** stream id → updated_at seen at the last sync, to find streams whose perform must be sent again. */
  private streamVersions = new Map<string, number>()
  private leaseRound: Promise<void> = Promise.resolve()
  private pollRound: Promise<void> = Promise.resolve()
  private stopped = false

  constructor(
    private readonly store: ClusterStore,
    private readonly streams: ClusterStreams,
    private readonly scheduler: Scheduler,
    private readonly local: LocalAgents,
    private readonly log: Logger,
    private readonly options: ClusterOptions,
  ) {}

  get controllerId(): string {
    return this.options.controllerId
  }

  /** Agents placement may use: those connected here and those other controllers reported recently. */
  connected(): Array<{ agentId: string; capacity: number; labels: Labels }> {
    const merged = new Map(this.present)
    for (const agent of this.local.all()) merged.set(agent.agentId, { capacity: agent.capacity, labels: agent.labels })
    return [...merged].map(([agentId, agent]) => ({ agentId, ...agent }))
  }

  /** Reads the assignments once, tries for the lease once, then keeps doing both on timers. */
  async start(): Promise<void> {
    await this.poll()
    await this.renewLease()
    this.leaseTimer = setInterval(() => {
      this.leaseRound = this.leaseRound.then(() => this.renewLease())
    }, Math.max(100, Math.floor(this.options.leaseTtlMs / 3)))
    this.leaseTimer.unref()
    this.pollTimer = setInterval(() => {
      this.pollRound = this.pollRound.then(() => this.poll())
    }, this.options.pollMs)
    this.pollTimer.unref()
    this.log.info({ controller_id: this.controllerId, lease_ttl_ms: this.options.leaseTtlMs, poll_ms: this.options.pollMs }, 'cluster coordinator started')
  }

  /** Stops the timers and, when this controller leads, ends its lease so another one takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.leaseTimer)
    clearInterval(this.pollTimer)
    await Promise.all([this.leaseRound, this.pollRound])
    if (!this.scheduler.isLeader) return
    await this.scheduler.setLeader(false)
    try {
      await this.store.releaseLease(SCHEDULER_LEASE, this.controllerId)
      this.log.info({ controller_id: this.controllerId }, 'released the scheduler lease')
    } catch (error) {
      this.log.warn({ err: error, controller_id: this.controllerId }, 'releasing the scheduler lease failed; it expires on its own')
    }
  }

  /** Records that an agent connected here; call after its hello was stored. */
  async agentConnected(agentId: string): Promise<void> {
    await this.store.claimAgent(agentId, this.controllerId)
  }

  /** Marks an agent that left this controller disconnected, unless it already connected to another one. */
  async agentDisconnected(agentId: string): Promise<void> {
    await this.store.releaseAgent(agentId, this.controllerId)
  }

  private async renewLease(): Promise<void> {
    if (this.stopped) return
    const now = Date.now()
    let held: boolean
    try {
      held = await this.store.acquireLease(SCHEDULER_LEASE, this.controllerId, this.options.leaseTtlMs)
      if (held) this.lastRenewedAt = now
    } catch (error) {
      // A leader that cannot reach the database steps down halfway to its lease's expiry, before another controller may take it.
      held = this.scheduler.isLeader && now - this.lastRenewedAt < this.options.leaseTtlMs / 2
      this.log.warn({ err: error, controller_id: this.controllerId, leader: held }, 'renewing the scheduler lease failed')
    }
    if (held && !this.scheduler.isLeader) {
      this.log.info({ controller_id: this.controllerId }, 'took the scheduler lease; this controller now places streams')
      this.present = new Map()
      await this.pollPresence()
      await this.scheduler.setLeader(true)
    } else if (!held && this.scheduler.isLeader) {
      this.log.warn({ controller_id: this.controllerId }, 'lost the scheduler lease; this controller stops placing streams')
      await this.scheduler.setLeader(false)
    }
  }

  private async poll(): Promise<void> {
    if (this.stopped) return
    try {
      await this.pollPresence()
      await this.syncAssignments()
    } catch (error) {
      this.log.warn({ err: error, controller_id: this.controllerId }, 'reading the cluster state failed; retrying')
    }
  }

  /**
   * Reads which agents are connected anywhere. The leader gives an agent
   * that vanished the grace period and takes in an agent that appeared.
   */
  private async pollPresence(): Promise<void> {
    const rows: PresentAgent[] = await this.store.listPresentAgents(Date.now() - this.options.presenceTtlMs)
    const previous = this.present
    const next = new Map<string, { capacity: number; labels: Labels }>(rows.map((row) => [row.id, { capacity: row.capacity, labels: row.labels }]))
    for (const agent of this.local.all()) next.set(agent.agentId, { capacity: agent.capacity, labels: agent.labels })
    this.present = next
    if (!this.scheduler.isLeader) return

    let appeared = false
    for (const id of next.keys()) {
      if (this.scheduler.agentReturned(id)) appeared = true
      if (!previous.has(id)) appeared = true
    }
    for (const [id, agent] of previous) {
      if (!next.has(id)) this.scheduler.agentDisconnected(id, agent.capacity)
    }
    if (appeared) void this.scheduler.reconcile()
  }

  /**
   * Loads the stored assignments when their counter changed, and sends each
   * agent connected here the revokes and performs that differ from what it
   * was sent before.
   */
  private async syncAssignments(): Promise<void> {
    const counters = await this.store.readCounters()
    const counter = counters.get(ASSIGNMENTS_COUNTER) ?? 0
    const streamsCounter = counters.get(STREAMS_COUNTER) ?? 0
    // Stream changes and drains made through another controller's API reach the leader here.
    if (this.scheduler.isLeader && this.lastStreamsCounter !== undefined && streamsCounter !== this.lastStreamsCounter) void this.scheduler.reconcile()
    this.lastStreamsCounter = streamsCounter
    if (counter === this.lastCounter) return
    const rows = await this.store.listAssignmentRows()
    await this.scheduler.exclusive(async () => {
      const local = new Set(this.local.all().map((agent) => agent.agentId))
      const resend = this.changedStreams(rows, local)
      const changes = this.scheduler.replaceAssignments(rows)
      const performs = new Map<string, Array<{ agentId: string; epoch: number }>>()
      for (const change of changes) {
        if (!local.has(change.agentId)) continue
        if (change.before !== undefined) this.local.send(change.agentId, { type: 'revoke', stream_id: change.streamId, epoch: change.before })
        if (change.after !== undefined) addTo(performs, change.streamId, { agentId: change.agentId, epoch: change.after })
      }
      for (const entry of resend) addTo(performs, entry.streamId, { agentId: entry.agentId, epoch: entry.epoch })
      if (performs.size > 0) await this.sendPerforms(performs)
      if (changes.length > 0) this.log.info({ changes: changes.length, local_orders: performs.size, counter }, 'followed stored assignment changes')
    })
    this.lastCounter = counter
  }

  /** Returns the local assignments whose epoch stays but whose stream settings changed since the last sync. */
  private changedStreams(rows: readonly AssignmentRow[], local: ReadonlySet<string>): Array<{ streamId: string; agentId: string; epoch: number }> {
    const changed: Array<{ streamId: string; agentId: string; epoch: number }> = []
    const versions = new Map<string, number>()
    for (const row of rows) {
      versions.set(row.stream_id, row.stream_updated_at)
      const seen = this.streamVersions.get(row.stream_id)
      if (seen === undefined || seen === row.stream_updated_at || !local.has(row.agent_id)) continue
      if (this.scheduler.isCurrent(row.stream_id, row.agent_id, row.epoch)) changed.push({ streamId: row.stream_id, agentId: row.agent_id, epoch: row.epoch })
    }
    this.streamVersions = versions
    return changed
  }

  private async sendPerforms(performs: ReadonlyMap<string, Array<{ agentId: string; epoch: number }>>): Promise<void> {
    const streams = await this.streams.listStreamsById([...performs.keys()])
    for (const stream of streams) {
      if (stream.desired_state !== 'up') continue
      for (const { agentId, epoch } of performs.get(stream.id) ?? []) this.local.send(agentId, performFor(stream, epoch))
    }
  }
}

function addTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list === undefined) map.set(key, [value])
  else list.push(value)
}
