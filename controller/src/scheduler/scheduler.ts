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
import { PassQueue, type PassRequest } from './pass-queue.ts'

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
  /** Returns the streams with these ids that exist; when absent, the scheduler filters listStreams. */
  listStreamsById?(ids: readonly string[]): Promise<ScheduledStream[]>
  listAgents(): Promise<ScheduledAgent[]>
  /** Applies the changes and returns each stream's new epoch (undefined for a deleted stream). */
  changeAssignments(changes: readonly AssignmentChange[]): Promise<Array<{ streamId: string; epoch: number | undefined }>>
}

/** The agents placement may use, and a way to reach the ones connected to this controller. */
export interface AgentDirectory {
  connected(): Array<{ agentId: string; capacity: number; labels: Labels }>
  /** Sends to an agent connected to this controller; returns false when it is not. */
  send(agentId: string, message: ControllerMessage): boolean
}

export interface Assignment {
  agentId: string
  epoch: number
  /** The vantage label value, or '' for a single-agent stream. */
  slot: string
}

export interface SchedulerOptions {
  /** Milliseconds that triggers are collected before a pass runs; default 50. */
  debounceMs?: number
  /**
   * False on a controller that does not hold the scheduler lease: it keeps
   * and serves the assignments but runs no pass. Default true.
   */
  leader?: boolean
}

/** The moves of one stream, grouped so that they share one epoch. */
interface StreamMoves {
  stream: ScheduledStream
  moves: Move[]
}

const DEFAULT_DEBOUNCE_MS = 50

/**
 * Keeps every `up` stream on the agents it needs. Decisions come from
 * placeStreams; this class loads the inputs, stores the result and sends
 * perform and revoke orders, one per assignment.
 *
 * Passes are debounced and coalesced by a PassQueue. A full pass places
 * every stream and rebalances; it follows hellos, drains and reconcile().
 * An incremental pass places only the streams that changed (a created or
 * updated stream, the streams of an agent whose grace ended), with the
 * load of all other streams counted but not moved.
 */
export class Scheduler {
  private readonly assignments = new Map<string, Assignment[]>()
  /** agent id → stream id → assignment, for the per-agent views. */
  private readonly byAgent = new Map<string, Map<string, Assignment>>()
  /** Weight of each stream seen in a pass, for the loads of incremental passes. */
  private readonly weights = new Map<string, number>()
  /** agent id → sum of the weights of its assignments, kept up to date with byAgent. */
  private readonly loads = new Map<string, number>()
  /** agent id → stream id → weight counted in `loads` for that assignment. */
  private readonly countedWeights = new Map<string, Map<string, number>>()
  private readonly unassignedReasons = new Map<string, string>()
  /**
   * The streams as last read from the store, for full passes that follow
   * hellos. Undefined until the first pass that reads every stream.
   */
  private streams: Map<string, ScheduledStream> | undefined
  /** Agents that disconnected and keep their streams until the grace ends. */
  private readonly departed = new Map<string, { capacity: number; timer: NodeJS.Timeout }>()
  private readonly passes: PassQueue
  private leader: boolean
  private stopped = false
  /** Serializes passes with replaceAssignments, so that neither reads the maps while the other is half done. */
  private lock: Promise<void> = Promise.resolve()

  constructor(
    private readonly store: SchedulerStore,
    private readonly agents: AgentDirectory,
    private readonly log: Logger,
    private readonly graceS: number,
    private readonly rebalanceThreshold = DEFAULT_REBALANCE_THRESHOLD,
    options: SchedulerOptions = {},
  ) {
    this.leader = options.leader ?? true
    this.passes = new PassQueue(options.debounceMs ?? DEFAULT_DEBOUNCE_MS, (request) => this.runPass(request), log)
  }

  /**
   * Loads the stored assignments; call once before the first reconcile.
   * Agents that hold assignments but are not connected get the grace period,
   * as if they had just disconnected.
   */
  async start(): Promise<void> {
    const [streams, agents] = await Promise.all([this.store.listStreams(), this.store.listAgents()])
    this.loadAssignments(streams)
    if (this.leader) this.graceForAbsent(agents)
    this.log.info({ assigned: this.assignments.size, awaiting_agents: this.departed.size, grace_s: this.graceS }, 'scheduler started')
  }

  stop(): void {
    this.stopped = true
    this.passes.stop()
    for (const { timer } of this.departed.values()) clearTimeout(timer)
    this.departed.clear()
  }

  get isLeader(): boolean {
    return this.leader
  }

  /**
   * Starts or stops running passes. A new leader first takes the stored
   * assignments as its own, then runs one full pass.
   */
  async setLeader(leader: boolean): Promise<void> {
    if (leader === this.leader) return
    if (!leader) {
      this.leader = false
      for (const { timer } of this.departed.values()) clearTimeout(timer)
      this.departed.clear()
      return
    }
    await this.exclusive(async () => {
      const [streams, agents] = await Promise.all([this.store.listStreams(), this.store.listAgents()])
      this.loadAssignments(streams)
      this.leader = true
      this.graceForAbsent(agents)
    })
    void this.reconcile()
  }

  /** Runs fn after the pass or replacement in progress, and before the next one. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn)
    this.lock = run.then(
      () => undefined,
      () => undefined,
    )
    return run
  }

  /** Gives the grace period to every agent that has assignments but is not available now. */
  private graceForAbsent(agents: readonly ScheduledAgent[]): void {
    const connected = new Set(this.agents.connected().map((agent) => agent.agentId))
    for (const agent of agents) {
      if (this.byAgent.has(agent.id) && !connected.has(agent.id)) this.agentDisconnected(agent.id, agent.capacity)
    }
  }

  /** Ends the grace period of an agent that is back, possibly on another controller; returns whether it had one. */
  agentReturned(agentId: string): boolean {
    const departed = this.departed.get(agentId)
    if (departed === undefined) return false
    clearTimeout(departed.timer)
    this.departed.delete(agentId)
    return true
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
   * longer its own and re-sends its current orders. Then requests a full
   * pass, without waiting for it.
   */
  async agentConnected(agentId: string, running: ReadonlyArray<{ stream_id: string; epoch: number }>): Promise<void> {
    this.agentReturned(agentId)
    for (const { stream_id, epoch } of running) {
      if (!this.isCurrent(stream_id, agentId, epoch)) {
        this.log.info({ agent_id: agentId, stream_id, epoch }, 'revoking a stream the agent no longer owns')
        this.agents.send(agentId, { type: 'revoke', stream_id, epoch })
      }
    }
    if (this.byAgent.has(agentId)) await this.resendOrders(agentId, this.streamsOf(agentId))
    void this.passes.request({ full: true, streams: [] })
  }

  /** Keeps a lost agent's streams for the grace period, then moves only those streams. */
  agentDisconnected(agentId: string, capacity: number): void {
    if (this.stopped || !this.leader) return
    const previous = this.departed.get(agentId)
    if (previous !== undefined) clearTimeout(previous.timer)
    const timer = setTimeout(() => {
      this.departed.delete(agentId)
      const streams = this.streamsOf(agentId)
      this.log.info({ agent_id: agentId, grace_s: this.graceS, streams: streams.length }, 'agent did not return within grace; moving its streams')
      void this.passes.request({ full: false, streams })
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
    this.weights.delete(streamId)
    this.streams?.delete(streamId)
  }

  /** Places a new stream; resolves once the pass that places it has run. */
  streamCreated(streamId: string): Promise<void> {
    return this.passes.request({ full: false, streams: [streamId] })
  }

  /** Re-sends perform for a stream whose URL or settings changed, then places that stream again. */
  async streamChanged(streamId: string): Promise<void> {
    for (const assignment of this.assignmentsOf(streamId)) await this.resendOrders(assignment.agentId, [streamId])
    await this.passes.request({ full: false, streams: [streamId] })
  }

  /**
   * Asks for a full pass that reads every stream from the store again;
   * resolves once a pass that started after this call has run.
   */
  reconcile(): Promise<void> {
    return this.passes.request({ full: true, reload: true, streams: [] })
  }

  /**
   * Replaces the assignments kept in memory with the stored ones and returns
   * each (agent, stream) whose epoch changed, appeared or went away. The
   * cluster coordinator calls it after the stored assignments changed.
   */
  replaceAssignments(rows: ReadonlyArray<{ stream_id: string; slot: string; agent_id: string; epoch: number }>): Array<{ agentId: string; streamId: string; before: number | undefined; after: number | undefined }> {
    const changes: Array<{ agentId: string; streamId: string; before: number | undefined; after: number | undefined }> = []
    const next = new Map<string, Map<string, Assignment>>()
    for (const row of rows) {
      let streams = next.get(row.agent_id)
      if (streams === undefined) {
        streams = new Map()
        next.set(row.agent_id, streams)
      }
      streams.set(row.stream_id, { agentId: row.agent_id, epoch: row.epoch, slot: row.slot })
    }
    for (const [agentId, streams] of this.byAgent) {
      for (const [streamId, old] of streams) {
        const now = next.get(agentId)?.get(streamId)
        if (now === undefined || now.epoch !== old.epoch) changes.push({ agentId, streamId, before: old.epoch, after: now?.epoch })
      }
    }
    for (const [agentId, streams] of next) {
      for (const [streamId, now] of streams) {
        if (this.byAgent.get(agentId)?.get(streamId) === undefined) changes.push({ agentId, streamId, before: undefined, after: now.epoch })
      }
    }
    this.assignments.clear()
    this.byAgent.clear()
    this.loads.clear()
    this.countedWeights.clear()
    for (const row of rows) this.setAssignment(row.stream_id, { agentId: row.agent_id, epoch: row.epoch, slot: row.slot })
    return changes
  }

  private loadAssignments(streams: readonly ScheduledStream[]): void {
    this.assignments.clear()
    this.byAgent.clear()
    this.loads.clear()
    this.countedWeights.clear()
    for (const stream of streams) {
      this.weights.set(stream.id, stream.weight)
      for (const { agent_id, epoch, slot } of stream.assignments) this.setAssignment(stream.id, { agentId: agent_id, epoch, slot })
    }
  }

  private runPass(request: PassRequest): Promise<void> {
    return this.exclusive(async () => {
      if (!this.leader || this.stopped) return
      if (request.full) await this.fullPass(request.reload, request.streams)
      else await this.incrementalPass(request.streams)
    })
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

  /**
   * Places every stream. With `reload`, or before the first such read, the
   * streams and their assignments come from the store. Otherwise they come
   * from memory, after the `changed` streams are read again.
   */
  private async fullPass(reload: boolean, changed: ReadonlySet<string>): Promise<void> {
    let streams: ScheduledStream[]
    let stored: ScheduledAgent[]
    if (reload || this.streams === undefined) {
      ;[streams, stored] = await Promise.all([this.store.listStreams(), this.store.listAgents()])
      this.loadAssignments(streams)
      this.streams = new Map(streams.map((stream) => [stream.id, stream]))
    } else {
      if (changed.size > 0) this.cacheStreams(changed, await this.loadStreams([...changed]))
      streams = [...this.streams.values()]
      stored = await this.store.listAgents()
    }
    const placement = placeStreams(
      streams.map((stream) => toPlacementStream(stream, this.assignmentsOf(stream.id))),
      this.availableAgents(stored),
      { rebalanceThreshold: this.rebalanceThreshold },
    )
    this.replaceUnassigned(placement.unassigned)
    await this.applyPlacement(streams, placement.moves, { kept: placement.keptCount, unassigned: placement.unassigned.length, full: true })
  }

  /**
   * Places only the given streams. The other streams' assignments stay as
   * they are and count as load, taken from the assignments in memory.
   */
  private async incrementalPass(ids: ReadonlySet<string>): Promise<void> {
    if (ids.size === 0) return
    const wanted = [...ids]
    const [streams, stored] = await Promise.all([this.loadStreams(wanted), this.store.listAgents()])
    this.cacheStreams(ids, streams)
    const baseLoads = new Map(this.loads)
    for (const id of ids) {
      for (const assignment of this.assignmentsOf(id)) {
        const weight = this.countedWeights.get(assignment.agentId)?.get(id) ?? 0
        baseLoads.set(assignment.agentId, (baseLoads.get(assignment.agentId) ?? 0) - weight)
      }
    }
    const placement = placeStreams(
      streams.map((stream) => toPlacementStream(stream, this.assignmentsOf(stream.id))),
      this.availableAgents(stored),
      { rebalanceThreshold: 0, baseLoads },
    )
    for (const id of ids) this.unassignedReasons.delete(id)
    this.addUnassigned(placement.unassigned, new Map())
    await this.applyPlacement(streams, placement.moves, { kept: placement.keptCount, unassigned: placement.unassigned.length, full: false })
  }

  /** Replaces the kept copies of the streams `ids` with those read; an id not read was deleted. */
  private cacheStreams(ids: ReadonlySet<string>, streams: readonly ScheduledStream[]): void {
    for (const stream of streams) this.weights.set(stream.id, stream.weight)
    if (this.streams === undefined) return
    for (const id of ids) this.streams.delete(id)
    for (const stream of streams) this.streams.set(stream.id, stream)
  }

  private async loadStreams(ids: readonly string[]): Promise<ScheduledStream[]> {
    if (this.store.listStreamsById !== undefined) return this.store.listStreamsById(ids)
    const wanted = new Set(ids)
    return (await this.store.listStreams()).filter((stream) => wanted.has(stream.id))
  }

  private async applyPlacement(
    streams: readonly ScheduledStream[],
    moves: readonly Move[],
    counts: { kept: number; unassigned: number; full: boolean },
  ): Promise<void> {
    if (moves.length === 0) return
    const grouped = groupMoves(streams, moves)
    const results = await this.store.changeAssignments([...grouped.values()].map(({ moves: streamMoves }) => toChange(streamMoves)))
    for (const { streamId, epoch } of results) {
      const entry = grouped.get(streamId)
      if (entry !== undefined && epoch !== undefined) this.applyMoves(entry, epoch)
    }
    this.log.info({ moves: moves.length, ...counts }, 'scheduling pass changed assignments')
  }

  /** Keeps the reasons of streams without enough agents, logging each new or changed one. */
  private replaceUnassigned(unassigned: ReadonlyArray<{ streamId: string; reason: string }>): void {
    const previous = new Map(this.unassignedReasons)
    this.unassignedReasons.clear()
    this.addUnassigned(unassigned, previous)
  }

  private addUnassigned(unassigned: ReadonlyArray<{ streamId: string; reason: string }>, previous: ReadonlyMap<string, string>): void {
    for (const { streamId, reason } of unassigned) {
      this.unassignedReasons.set(streamId, reason)
      if (previous.get(streamId) !== reason) this.log.info({ stream_id: streamId, reason }, 'stream lacks an agent')
    }
  }

  /** Updates the in-memory assignments and sends revokes first, then performs, so an agent never runs two epochs at once. */
  private applyMoves({ stream, moves }: StreamMoves, epoch: number): void {
    for (const move of moves) {
      if (move.from === null) continue
      const old = this.assignmentsOf(stream.id).find((assignment) => assignment.slot === move.slot)
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
    if (streams.get(streamId) !== undefined) this.uncount(assignment.agentId, streamId)
    streams.set(streamId, assignment)
    const weight = this.weights.get(streamId) ?? 1
    let counted = this.countedWeights.get(assignment.agentId)
    if (counted === undefined) {
      counted = new Map()
      this.countedWeights.set(assignment.agentId, counted)
    }
    counted.set(streamId, weight)
    this.loads.set(assignment.agentId, (this.loads.get(assignment.agentId) ?? 0) + weight)
  }

  /** Removes the stream's weight from the agent's load. */
  private uncount(agentId: string, streamId: string): void {
    const counted = this.countedWeights.get(agentId)
    const weight = counted?.get(streamId)
    if (counted === undefined || weight === undefined) return
    counted.delete(streamId)
    const load = (this.loads.get(agentId) ?? 0) - weight
    if (counted.size === 0) {
      this.countedWeights.delete(agentId)
      this.loads.delete(agentId)
    } else {
      this.loads.set(agentId, load)
    }
  }

  private deleteAssignment(streamId: string, slot: string): void {
    const list = this.assignments.get(streamId) ?? []
    const removed = list.find((entry) => entry.slot === slot)
    if (removed === undefined) return
    const rest = list.filter((entry) => entry !== removed)
    if (rest.length === 0) this.assignments.delete(streamId)
    else this.assignments.set(streamId, rest)
    const streams = this.byAgent.get(removed.agentId)
    if (streams?.get(streamId) === removed) {
      streams.delete(streamId)
      this.uncount(removed.agentId, streamId)
    }
    if (streams?.size === 0) this.byAgent.delete(removed.agentId)
  }

  /** Sends perform again for the agent's current assignments of these streams. */
  async resendOrders(agentId: string, streamIds: readonly string[]): Promise<void> {
    if (streamIds.length === 0) return
    for (const stream of await this.loadStreams(streamIds)) {
      const assignment = this.byAgent.get(agentId)?.get(stream.id)
      if (assignment === undefined || stream.desired_state !== 'up') continue
      this.agents.send(agentId, performFor(stream, assignment.epoch))
    }
  }
}

/** The placement input of a stream, with its current assignments as the scheduler keeps them. */
function toPlacementStream(stream: ScheduledStream, assignments: readonly Assignment[]): PlacementStream {
  return {
    id: stream.id,
    up: stream.desired_state === 'up',
    assignments: assignments.map(({ agentId, slot }) => ({ agentId, slot })),
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

export function performFor(stream: Pick<ScheduledStream, 'id' | 'url' | 'probe'>, epoch: number): Perform {
  return { type: 'perform', stream_id: stream.id, url: stream.url, epoch, probe: stream.probe }
}
