import type { Logger } from 'pino'
import type { ControllerMessage, Perform } from '@monit/protocol'
import { compareText } from './agent-pool.ts'
import {
  DEFAULT_REBALANCE_THRESHOLD,
  placeStreams,
  type Labels,
  type Move,
  type PlacementAgent,
  type PlacementStream,
  type Vantage,
} from './placement.ts'

/** The stream fields the scheduler reads. */
export interface ScheduledStream {
  id: string
  url: string
  desired_state: 'up' | 'down'
  probe: Perform['probe']
  required_labels: Labels
  weight: number
  pinned_agent_id: string | null
  vantage: Vantage | null
  assignments: ReadonlyArray<{ agent_id: string; epoch: number; slot: string }>
}

/** The stored agent fields the scheduler reads. */
export interface ScheduledAgent {
  id: string
  labels: Labels
  capacity: number
  draining: boolean
}

/** One stream's assignment changes, applied under one new epoch. */
export interface AssignmentChange {
  streamId: string
  remove: string[]
  add: Array<{ slot: string; agentId: string; reason: string }>
}

export interface SchedulerStore {
  listStreams(): Promise<ScheduledStream[]>
  listAgents(): Promise<ScheduledAgent[]>
  /** Applies the changes and returns each stream's new epoch (undefined for a deleted stream). */
  changeAssignments(changes: readonly AssignmentChange[]): Promise<Array<{ streamId: string; epoch: number | undefined }>>
}

/** The connected agents, from the hub. */
export interface AgentDirectory {
  connected(): Array<{ agentId: string; capacity: number; labels: Labels }>
  send(agentId: string, message: ControllerMessage): boolean
}

export interface Assignment {
  agentId: string
  epoch: number
  /** The vantage label value, or '' for a single-agent stream. */
  slot: string
}

/** The moves of one stream, grouped so that they share one epoch. */
interface StreamMoves {
  stream: ScheduledStream
  moves: Move[]
}

/**
 * Keeps every `up` stream on the agents it needs. Decisions come from
 * placeStreams; this class loads the inputs, stores the result and sends
 * perform and revoke orders, one per assignment. Runs are serialized and
 * coalesced.
 */
export class Scheduler {
  private readonly assignments = new Map<string, Assignment[]>()
  /** agent id → stream id → assignment, for the per-agent views. */
  private readonly byAgent = new Map<string, Map<string, Assignment>>()
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
    private readonly rebalanceThreshold = DEFAULT_REBALANCE_THRESHOLD,
  ) {}

  /**
   * Loads the stored assignments; call once before the first reconcile.
   * Agents that hold assignments but are not connected get the grace period,
   * as if they had just disconnected.
   */
  async start(): Promise<void> {
    const [streams, agents] = await Promise.all([this.store.listStreams(), this.store.listAgents()])
    for (const stream of streams) {
      for (const { agent_id, epoch, slot } of stream.assignments) this.setAssignment(stream.id, { agentId: agent_id, epoch, slot })
    }
    const connected = new Set(this.agents.connected().map((agent) => agent.agentId))
    for (const agent of agents) {
      if (this.byAgent.has(agent.id) && !connected.has(agent.id)) this.agentDisconnected(agent.id, agent.capacity)
    }
    this.log.info({ assigned: this.assignments.size, awaiting_agents: this.departed.size, grace_s: this.graceS }, 'scheduler started')
  }

  stop(): void {
    this.stopped = true
    for (const { timer } of this.departed.values()) clearTimeout(timer)
    this.departed.clear()
  }

  /** Returns the stream's assignments, ordered by slot. */
  assignmentsOf(streamId: string): readonly Assignment[] {
    return this.assignments.get(streamId) ?? []
  }

  unassignedReason(streamId: string): string | undefined {
    return this.unassignedReasons.get(streamId)
  }

  /** True when the agent runs the stream under one of the stream's current assignments. */
  isCurrent(streamId: string, agentId: string, epoch: number): boolean {
    const assignment = this.byAgent.get(agentId)?.get(streamId)
    return assignment !== undefined && assignment.epoch === epoch
  }

  /** Returns the streams assigned to an agent, ordered by id. */
  streamsOf(agentId: string): string[] {
    return [...(this.byAgent.get(agentId)?.keys() ?? [])].sort()
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
    if (this.byAgent.has(agentId)) await this.resendOrders(agentId)
    await this.reconcile()
  }

  /** Keeps a lost agent's streams for the grace period, then moves them. */
  agentDisconnected(agentId: string, capacity: number): void {
    if (this.stopped) return
    const previous = this.departed.get(agentId)
    if (previous !== undefined) clearTimeout(previous.timer)
    const timer = setTimeout(() => {
      this.departed.delete(agentId)
      this.log.info({ agent_id: agentId, grace_s: this.graceS }, 'agent did not return within grace; moving its streams')
      void this.reconcile()
    }, this.graceS * 1000)
    timer.unref()
    this.departed.set(agentId, { capacity, timer })
  }

  /** Revokes a deleted stream on all its agents and drops its assignments. */
  streamDeleted(streamId: string): void {
    for (const assignment of this.assignmentsOf(streamId)) {
      this.agents.send(assignment.agentId, { type: 'revoke', stream_id: streamId, epoch: assignment.epoch })
      this.log.info({ stream_id: streamId, agent_id: assignment.agentId, slot: assignment.slot }, 'stream deleted; revoked')
    }
    for (const assignment of [...this.assignmentsOf(streamId)]) this.deleteAssignment(streamId, assignment.slot)
    this.unassignedReasons.delete(streamId)
  }

  /** Re-sends perform for a stream whose URL or settings changed, then places streams. */
  async streamChanged(streamId: string): Promise<void> {
    for (const assignment of this.assignmentsOf(streamId)) await this.resendOrders(assignment.agentId, streamId)
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

  /** Connected agents and, until their grace ends, departed ones, with the stored draining flags. */
  private availableAgents(stored: readonly ScheduledAgent[]): PlacementAgent[] {
    const rows = new Map(stored.map((agent) => [agent.id, agent]))
    const agents: PlacementAgent[] = this.agents.connected().map((agent) => ({
      id: agent.agentId,
      capacity: agent.capacity,
      labels: agent.labels,
      available: true,
      draining: rows.get(agent.agentId)?.draining ?? false,
    }))
    const connected = new Set(agents.map((agent) => agent.id))
    for (const [id, { capacity }] of this.departed) {
      if (connected.has(id)) continue
      const row = rows.get(id)
      agents.push({ id, capacity, labels: row?.labels ?? {}, available: true, draining: row?.draining ?? false })
    }
    return agents
  }

  private async reconcileOnce(): Promise<void> {
    const [streams, stored] = await Promise.all([this.store.listStreams(), this.store.listAgents()])
    const placement = placeStreams(streams.map(toPlacementStream), this.availableAgents(stored), {
      rebalanceThreshold: this.rebalanceThreshold,
    })
    this.updateUnassigned(placement.unassigned)
    if (placement.moves.length === 0) return

    const grouped = groupMoves(streams, placement.moves)
    const results = await this.store.changeAssignments([...grouped.values()].map(({ moves }) => toChange(moves)))
    for (const { streamId, epoch } of results) {
      const entry = grouped.get(streamId)
      if (entry !== undefined && epoch !== undefined) this.applyMoves(entry, epoch)
    }
    this.log.info({ moves: placement.moves.length, kept: placement.keptCount, unassigned: placement.unassigned.length }, 'scheduling run changed assignments')
  }

  /** Keeps the reasons of streams without enough agents, logging each new or changed one. */
  private updateUnassigned(unassigned: ReadonlyArray<{ streamId: string; reason: string }>): void {
    const previous = new Map(this.unassignedReasons)
    this.unassignedReasons.clear()
    for (const { streamId, reason } of unassigned) {
      this.unassignedReasons.set(streamId, reason)
      if (previous.get(streamId) !== reason) this.log.info({ stream_id: streamId, reason }, 'stream lacks an agent')
    }
  }

  /** Updates the in-memory assignments and sends revokes first, then performs, so an agent never runs two epochs at once. */
  private applyMoves({ stream, moves }: StreamMoves, epoch: number): void {
    for (const move of moves) {
      if (move.from === null) continue
      const old = stream.assignments.find((assignment) => assignment.slot === move.slot)
      this.deleteAssignment(stream.id, move.slot)
      if (old !== undefined) this.agents.send(move.from, { type: 'revoke', stream_id: stream.id, epoch: old.epoch })
    }
    for (const move of moves) {
      if (move.to !== null) {
        this.setAssignment(stream.id, { agentId: move.to, epoch, slot: move.slot })
        if (stream.desired_state === 'up') this.agents.send(move.to, performFor(stream, epoch))
      }
      const fields = { stream_id: stream.id, slot: move.slot, from: move.from, to: move.to, epoch, reason: move.reason }
      this.log.info(fields, 'stream assignment changed')
    }
  }

  private setAssignment(streamId: string, assignment: Assignment): void {
    const list = (this.assignments.get(streamId) ?? []).filter((entry) => entry.slot !== assignment.slot)
    list.push(assignment)
    list.sort((a, b) => compareText(a.slot, b.slot))
    this.assignments.set(streamId, list)
    let streams = this.byAgent.get(assignment.agentId)
    if (streams === undefined) {
      streams = new Map()
      this.byAgent.set(assignment.agentId, streams)
    }
    streams.set(streamId, assignment)
  }

  private deleteAssignment(streamId: string, slot: string): void {
    const list = this.assignments.get(streamId) ?? []
    const removed = list.find((entry) => entry.slot === slot)
    if (removed === undefined) return
    const rest = list.filter((entry) => entry !== removed)
    if (rest.length === 0) this.assignments.delete(streamId)
    else this.assignments.set(streamId, rest)
    const streams = this.byAgent.get(removed.agentId)
    if (streams?.get(streamId) === removed) streams.delete(streamId)
    if (streams?.size === 0) this.byAgent.delete(removed.agentId)
  }

  private async resendOrders(agentId: string, onlyStreamId?: string): Promise<void> {
    const streams = await this.store.listStreams()
    for (const stream of streams) {
      if (onlyStreamId !== undefined && stream.id !== onlyStreamId) continue
      const assignment = this.byAgent.get(agentId)?.get(stream.id)
      if (assignment === undefined || stream.desired_state !== 'up') continue
      this.agents.send(agentId, performFor(stream, assignment.epoch))
    }
  }
}

function toPlacementStream(stream: ScheduledStream): PlacementStream {
  return {
    id: stream.id,
    up: stream.desired_state === 'up',
    assignments: stream.assignments.map(({ agent_id, slot }) => ({ agentId: agent_id, slot })),
    weight: stream.weight,
    requiredLabels: stream.required_labels,
    pinnedAgentId: stream.pinned_agent_id,
    vantage: stream.vantage,
  }
}

/** Groups moves by stream, keeping each stream's moves in placement order. */
function groupMoves(streams: readonly ScheduledStream[], moves: readonly Move[]): Map<string, StreamMoves> {
  const byId = new Map(streams.map((stream) => [stream.id, stream]))
  const grouped = new Map<string, StreamMoves>()
  for (const move of moves) {
    let entry = grouped.get(move.streamId)
    if (entry === undefined) {
      entry = { stream: byId.get(move.streamId)!, moves: [] }
      grouped.set(move.streamId, entry)
    }
    entry.moves.push(move)
  }
  return grouped
}

function toChange(moves: readonly Move[]): AssignmentChange {
  return {
    streamId: moves[0]!.streamId,
    remove: moves.filter((move) => move.from !== null).map((move) => move.slot),
    add: moves.filter((move) => move.to !== null).map((move) => ({ slot: move.slot, agentId: move.to!, reason: move.reason })),
  }
}

function performFor(stream: ScheduledStream, epoch: number): Perform {
  return { type: 'perform', stream_id: stream.id, url: stream.url, epoch, probe: stream.probe }
}
