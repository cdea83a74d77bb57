import type { Logger } from 'pino'
import type { ControllerMessage, Perform } from '@monit/protocol'
import { placeStreams, type PlacementAgent } from './placement.ts'

/** The stream fields the scheduler reads. */
export interface ScheduledStream {
  id: string
  url: string
  desired_state: 'up' | 'down'
  probe: Perform['probe']
  agent_id: string | null
  epoch: number
}

export interface SchedulerStore {
  listStreams(): Promise<ScheduledStream[]>
  /** Sets the stream's agent (or none) and returns the new, higher epoch. */
  assignStream(id: string, agentId: string | null): Promise<number>
}

/** The connected agents, as the hub sees them. */
export interface AgentDirectory {
  connected(): Array<{ agentId: string; capacity: number }>
  send(agentId: string, message: ControllerMessage): boolean
}

export interface Assignment {
  agentId: string
  epoch: number
}

/**
 * Keeps every `up` stream on one agent. Decisions come from placeStreams;
 * this class loads the inputs, stores the result and sends perform and
 * revoke orders. Runs are serialized and coalesced.
 */
export class Scheduler {
  private readonly assignments = new Map<string, Assignment>()
  private readonly unassignedReasons = new Map<string, string>()
  /** Agents that disconnected and keep their streams until the grace ends. */
  private readonly departed = new Map<string, { capacity: number; timer: NodeJS.Timeout }>()
  private running: Promise<void> | undefined
  private pending = false
  private stopped = false

  constructor(
    private readonly store: SchedulerStore,
    private readonly agents: AgentDirectory,
    private readonly log: Logger,
    private readonly graceS: number,
  ) {}

  /** Loads the stored assignments; call once before the first reconcile. */
  async start(): Promise<void> {
    for (const stream of await this.store.listStreams()) {
      if (stream.agent_id !== null) this.assignments.set(stream.id, { agentId: stream.agent_id, epoch: stream.epoch })
    }
    this.log.info({ assigned: this.assignments.size }, 'scheduler started')
  }

  stop(): void {
    this.stopped = true
    for (const { timer } of this.departed.values()) clearTimeout(timer)
    this.departed.clear()
  }

  assignment(streamId: string): Assignment | undefined {
    return this.assignments.get(streamId)
  }

  unassignedReason(streamId: string): string | undefined {
    return this.unassignedReasons.get(streamId)
  }

  /** True when the agent runs the stream under its current epoch. */
  isCurrent(streamId: string, agentId: string, epoch: number): boolean {
    const assignment = this.assignments.get(streamId)
    return assignment !== undefined && assignment.agentId === agentId && assignment.epoch === epoch
  }

  /** Streams assigned to an agent. */
  streamsOf(agentId: string): string[] {
    return [...this.assignments].filter(([, a]) => a.agentId === agentId).map(([id]) => id)
  }

  /**
   * Brings a (re)connected agent in line: revokes what it runs that is no
   * longer its own, re-sends its current orders, then places streams.
   */
  async agentConnected(agentId: string, running: ReadonlyArray<{ stream_id: string; epoch: number }>): Promise<void> {
    const departed = this.departed.get(agentId)
    if (departed !== undefined) {
      clearTimeout(departed.timer)
      this.departed.delete(agentId)
    }
    for (const { stream_id, epoch } of running) {
      if (!this.isCurrent(stream_id, agentId, epoch)) {
        this.log.info({ agent_id: agentId, stream_id, epoch }, 'revoking a stream the agent no longer owns')
        this.agents.send(agentId, { type: 'revoke', stream_id, epoch })
      }
    }
    if (this.streamsOf(agentId).length > 0) await this.resendOrders(agentId)
    await this.reconcile()
  }

  /** Keeps a lost agent's streams for the grace period, then moves them. */
  agentDisconnected(agentId: string, capacity: number): void {
    if (this.stopped) return
    const timer = setTimeout(() => {
      this.departed.delete(agentId)
      this.log.info({ agent_id: agentId, grace_s: this.graceS }, 'agent did not return within grace; moving its streams')
      void this.reconcile()
    }, this.graceS * 1000)
    timer.unref()
    this.departed.set(agentId, { capacity, timer })
  }

  /** Stops a deleted stream on its agent and forgets it. */
  streamDeleted(streamId: string): void {
    const assignment = this.assignments.get(streamId)
    this.assignments.delete(streamId)
    this.unassignedReasons.delete(streamId)
    if (assignment !== undefined) {
      this.agents.send(assignment.agentId, { type: 'revoke', stream_id: streamId, epoch: assignment.epoch })
    }
  }

  /** Re-sends perform for a stream whose URL or settings changed. */
  async streamChanged(streamId: string): Promise<void> {
    const assignment = this.assignments.get(streamId)
    if (assignment !== undefined) await this.resendOrders(assignment.agentId, streamId)
    await this.reconcile()
  }

  /** Runs placement now, or once more after the run in progress. */
  reconcile(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    if (this.running !== undefined) {
      this.pending = true
      return this.running
    }
    this.running = this.runUntilSettled().finally(() => {
      this.running = undefined
    })
    return this.running
  }

  private async runUntilSettled(): Promise<void> {
    do {
      this.pending = false
      try {
        await this.reconcileOnce()
      } catch (error) {
        this.log.error({ err: error }, 'scheduling run failed; retrying on the next change')
      }
    } while (this.pending && !this.stopped)
  }

  private availableAgents(): PlacementAgent[] {
    const agents: PlacementAgent[] = this.agents.connected().map((agent) => ({
      id: agent.agentId,
      capacity: agent.capacity,
      available: true,
    }))
    for (const [id, { capacity }] of this.departed) {
      if (!agents.some((agent) => agent.id === id)) agents.push({ id, capacity, available: true })
    }
    return agents
  }

  private async reconcileOnce(): Promise<void> {
    const streams = await this.store.listStreams()
    const byId = new Map(streams.map((stream) => [stream.id, stream]))
    const placement = placeStreams(
      streams.map((stream) => ({ id: stream.id, up: stream.desired_state === 'up', agentId: stream.agent_id })),
      this.availableAgents(),
    )

    this.unassignedReasons.clear()
    for (const { streamId, reason } of placement.unassigned) this.unassignedReasons.set(streamId, reason)

    for (const move of placement.moves) {
      const stream = byId.get(move.streamId)!
      const epoch = await this.store.assignStream(move.streamId, move.to)
      if (move.from !== null) {
        this.agents.send(move.from, { type: 'revoke', stream_id: move.streamId, epoch: stream.epoch })
      }
      if (move.to === null) {
        this.assignments.delete(move.streamId)
      } else {
        this.assignments.set(move.streamId, { agentId: move.to, epoch })
        this.agents.send(move.to, performFor(stream, epoch))
      }
      this.log.info({ stream_id: move.streamId, from: move.from, to: move.to, epoch }, 'stream assignment changed')
    }
  }

  private async resendOrders(agentId: string, onlyStreamId?: string): Promise<void> {
    const streams = await this.store.listStreams()
    for (const stream of streams) {
      if (onlyStreamId !== undefined && stream.id !== onlyStreamId) continue
      const assignment = this.assignments.get(stream.id)
      if (assignment?.agentId !== agentId || stream.desired_state !== 'up') continue
      this.agents.send(agentId, performFor(stream, assignment.epoch))
    }
  }
}

function performFor(stream: ScheduledStream, epoch: number): Perform {
  return { type: 'perform', stream_id: stream.id, url: stream.url, epoch, probe: stream.probe }
}
