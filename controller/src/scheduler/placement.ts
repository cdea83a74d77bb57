// Placement decisions with no I/O: given the streams and the agents, decide
// which agents run each stream, and why. The scheduler applies the result.
import { AgentPool, compareText, filterKey, missingLabel, type Labels, type PoolAgent } from './agent-pool.ts'
import { Cause, Explainer, moved, placedWithValue, rebalanced, Reason, revoked } from './reasons.ts'
import { rebalance, type MovableAssignment } from './rebalance.ts'

export { Reason } from './reasons.ts'
export type { Labels }

/** Default of `--rebalance-threshold`: the load share gap that triggers rebalancing. */
export const DEFAULT_REBALANCE_THRESHOLD = 0.25

/** Run the stream on `count` agents that have distinct values of `label`. */
export interface Vantage {
  count: number
  label: string
}

export interface PlacementAgent {
  id: string
  /** Weight units the agent takes; 0 means no streams. */
  capacity: number
  /** True while connected, or disconnected for less than the grace period. */
  available: boolean
  /** Labels from the agent's hello; default none. */
  labels?: Labels
  /** A draining agent takes no new streams and gives up the ones it has. */
  draining?: boolean
}

/** An assignment the stream has before this run. */
export interface CurrentAssignment {
  agentId: string
  /** The vantage label value it covers, or '' for a single-agent stream. */
  slot: string
}

export interface PlacementStream {
  id: string
  /** Only streams whose desired state is `up` are placed. */
  up: boolean
  assignments: readonly CurrentAssignment[]
  /** Load the stream puts on its agent, in weight units; default 1, must be above 0. */
  weight?: number
  /** Labels an agent needs to run the stream. */
  requiredLabels?: Labels
  /** The only agent that may run the stream. A pinned stream ignores `vantage`. */
  pinnedAgentId?: string | null
  vantage?: Vantage | null
}

/** A change of one assignment: from null adds one, to null removes one. */
export interface Move {
  streamId: string
  slot: string
  from: string | null
  to: string | null
  reason: string
}

export interface Placement {
  moves: Move[]
  /** Streams that should run on more agents than they got, with the reason. */
  unassigned: Array<{ streamId: string; reason: string }>
  /**
   * Count of assignments that stay where they are. They produce no move, and
   * their stored reason stays the one they were made with.
   */
  keptCount: number
  /** Load of each available agent after the moves, in weight units. */
  loads: Map<string, number>
}

export interface PlacementOptions {
  /**
   * Max gap between the highest and lowest load share among the agents that
   * could run a stream before kept streams move; 0 disables rebalancing.
   */
  rebalanceThreshold?: number
  /**
   * Load, in weight units, that streams outside this run already put on each
   * agent. An incremental run places a few streams and passes the load of
   * all the others here, so they count without being placed again.
   */
  baseLoads?: ReadonlyMap<string, number>
}

/** A stream's placement settings with defaults applied. */
interface StreamSpec {
  id: string
  weight: number
  filter: Labels
  pinned: string | null
  vantage: Vantage | null
}

interface Displaced {
  slot: string
  agentId: string
  cause: string
}

/** A stream that kept fewer assignments than it needs. */
interface Need {
  spec: StreamSpec
  keptSlots: Set<string>
  displaced: Displaced[]
}

/**
 * Places each `up` stream on available agents that have its required labels.
 * A stream keeps its agents while they stay available, undrained, matching
 * and within capacity. The others go to the least-loaded eligible agent by
 * load share (ties broken by agent id, so the result does not depend on input
 * order). Then, when the gap between load shares exceeds the rebalance
 * threshold, a few kept streams move to less loaded agents. `down` streams
 * lose their agents.
 */
export function placeStreams(
  streams: readonly PlacementStream[],
  agents: readonly PlacementAgent[],
  options: PlacementOptions = {},
): Placement {
  const pool = new AgentPool(agents.filter((agent) => agent.available).map(toPoolAgent))
  for (const [agentId, load] of options.baseLoads ?? []) {
    const index = pool.indexOf(agentId)
    if (index !== undefined) pool.addLoad(index, load)
  }
  const run = new PlacementRun(pool)
  const needs: Need[] = []
  for (const stream of [...streams].sort(byId)) {
    const need = run.claim(stream)
    if (need !== undefined) needs.push(need)
  }
  for (const need of needs) run.place(need)
  run.rebalance(options.rebalanceThreshold ?? DEFAULT_REBALANCE_THRESHOLD)
  return run.result()
}

function toPoolAgent(agent: PlacementAgent): PoolAgent {
  return { id: agent.id, capacity: agent.capacity, labels: agent.labels ?? {}, draining: agent.draining ?? false }
}

function specOf(stream: PlacementStream): StreamSpec {
  const pinned = stream.pinnedAgentId ?? null
  return {
    id: stream.id,
    weight: stream.weight ?? 1,
    filter: stream.requiredLabels ?? {},
    pinned,
    vantage: pinned === null ? stream.vantage ?? null : null,
  }
}

/** Returns the labels an agent needs to hold the assignment of this slot. */
function slotFilter(spec: StreamSpec, slot: string): Labels {
  return spec.vantage === null ? spec.filter : { ...spec.filter, [spec.vantage.label]: slot }
}

function byId(a: { id: string }, b: { id: string }): number {
  return compareText(a.id, b.id)
}

function bySlotThenAgent(a: CurrentAssignment, b: CurrentAssignment): number {
  return compareText(a.slot, b.slot) || compareText(a.agentId, b.agentId)
}

/** The state of one placeStreams call. */
class PlacementRun {
  private readonly explainer: Explainer
  private readonly moves: Move[] = []
  private readonly unassigned: Placement['unassigned'] = []
  private readonly movable: MovableAssignment[] = []
  /**
   * filter key → smallest weight that found no agent with room. Loads only
   * grow while streams are placed, so a stream of that filter and at least
   * that weight finds none either, and its search is skipped. Without this,
   * every stream left over once all agents are full scans the whole heap.
   */
  private readonly noRoom = new Map<string, number>()
  private keptCount = 0

  constructor(private readonly pool: AgentPool) {
    this.explainer = new Explainer(pool)
  }

  /**
   * Keeps the stream's current assignments that may stay, adding their
   * load, and returns what is still missing (undefined when nothing is).
   */
  claim(stream: PlacementStream): Need | undefined {
    const current = [...stream.assignments].sort(bySlotThenAgent)
    if (!stream.up) {
      for (const { agentId, slot } of current) this.revoke(stream.id, { slot, agentId, cause: Cause.streamDown })
      return undefined
    }

    const spec = specOf(stream)
    const requested = spec.vantage?.count ?? 1
    const keptSlots = new Set<string>()
    const displaced: Displaced[] = []
    for (const assignment of current) {
      const cause = this.checkCurrent(spec, assignment, keptSlots, requested)
      if (cause !== undefined) {
        displaced.push({ ...assignment, cause })
        continue
      }
      this.keep(spec, assignment)
      keptSlots.add(assignment.slot)
    }

    if (keptSlots.size >= requested) {
      for (const entry of displaced) this.revoke(spec.id, entry)
      return undefined
    }
    return { spec, keptSlots, displaced }
  }

  /** Finds agents for what the stream still misses. */
  place(need: Need): void {
    if (need.spec.pinned !== null) this.placePinned(need, need.spec.pinned)
    else if (need.spec.vantage !== null) this.placeVantage(need, need.spec.vantage)
    else this.placeSingle(need)
  }

  rebalance(threshold: number): void {
    for (const move of rebalance(this.pool, this.movable, threshold)) {
      const { streamId, slot, agent } = move.assignment
      this.moves.push({
        streamId,
        slot,
        from: this.pool.agent(agent).id,
        to: this.pool.agent(move.to).id,
        reason: rebalanced(move.fromShare, move.toShare),
      })
    }
  }

  result(): Placement {
    const loads = new Map(this.pool.agents.map((agent, index) => [agent.id, this.pool.load[index]!]))
    return { moves: this.moves, unassigned: this.unassigned, keptCount: this.keptCount, loads }
  }

  /** Returns why the assignment cannot stay, or undefined when it can. */
  private checkCurrent(spec: StreamSpec, assignment: CurrentAssignment, keptSlots: Set<string>, requested: number): string | undefined {
    const index = this.pool.indexOf(assignment.agentId)
    if (index === undefined) return Cause.disconnected
    const agent = this.pool.agent(index)
    if (agent.draining) return Cause.drained
    if (spec.pinned !== null && spec.pinned !== assignment.agentId) return Cause.pinnedElsewhere(spec.pinned)
    const lacking = missingLabel(agent.labels, spec.filter)
    if (lacking !== undefined) return Cause.lacks(lacking)
    const slotCause = this.checkSlot(spec, assignment.slot, agent.labels)
    if (slotCause !== undefined) return slotCause
    if (keptSlots.has(assignment.slot) || keptSlots.size >= requested) return Cause.notNeeded
    if (!this.pool.fits(index, spec.weight)) return Cause.overCapacity
    return undefined
  }

  /** A vantage assignment must sit in the slot of its agent's label value; a single one in slot ''. */
  private checkSlot(spec: StreamSpec, slot: string, labels: Labels): string | undefined {
    if (spec.vantage === null) return slot === '' ? undefined : Cause.notNeeded
    const value = labels[spec.vantage.label]
    if (value === undefined) return Cause.lacks(`a ${spec.vantage.label} label`)
    if (slot === '') return Cause.vantageAsked
    return slot === value ? undefined : Cause.valueChanged(spec.vantage.label, value)
  }

  private keep(spec: StreamSpec, assignment: CurrentAssignment): void {
    const index = this.pool.indexOf(assignment.agentId)!
    this.pool.addLoad(index, spec.weight)
    this.keptCount += 1
    if (spec.pinned !== null) return
    this.movable.push({
      streamId: spec.id,
      slot: assignment.slot,
      agent: index,
      weight: spec.weight,
      filter: slotFilter(spec, assignment.slot),
    })
  }

  private placeSingle(need: Need): void {
    const { spec } = need
    const key = filterKey(spec.filter)
    const failedWeight = this.noRoom.get(key)
    const target = failedWeight !== undefined && spec.weight >= failedWeight ? undefined : this.pool.heap(spec.filter).best(spec.weight)
    if (target === undefined) {
      this.noRoom.set(key, Math.min(failedWeight ?? Infinity, spec.weight))
      this.unassign(spec.id, this.explainer.noAgent(spec.filter, spec.weight), need.displaced)
      return
    }
    this.assign(need, '', target, Reason.placed)
  }

  private placePinned(need: Need, agentId: string): void {
    const { spec } = need
    const index = this.pool.indexOf(agentId)
    const usable =
      index !== undefined &&
      this.pool.takesStreams(index) &&
      missingLabel(this.pool.agent(index).labels, spec.filter) === undefined &&
      this.pool.fits(index, spec.weight)
    if (!usable) {
      this.unassign(spec.id, this.explainer.pinned(agentId, spec.filter, spec.weight), need.displaced)
      return
    }
    this.assign(need, '', index, Reason.placedPinned)
  }

  /**
   * Picks, for each missing vantage point, the least-loaded agent of a label
   * value the stream does not cover yet. Values it just lost an agent in come
   * first, then values by their best agent's load share.
   */
  private placeVantage(need: Need, vantage: Vantage): void {
    const { spec, keptSlots, displaced } = need
    const lostSlots = new Set(displaced.map((entry) => entry.slot))
    const candidates: Array<{ value: string; agent: number; share: number; lost: boolean }> = []
    for (const [value, heap] of this.pool.heapsByValue(spec.filter, vantage.label)) {
      if (keptSlots.has(value)) continue
      const agent = heap.best(spec.weight)
      if (agent === undefined) continue
      candidates.push({ value, agent, share: this.pool.share(agent), lost: lostSlots.has(value) })
    }
    candidates.sort((a, b) => Number(b.lost) - Number(a.lost) || a.share - b.share || a.agent - b.agent)

    const needed = vantage.count - keptSlots.size
    const chosen = candidates.slice(0, needed)
    const chosenSlots = new Set(chosen.map((candidate) => candidate.value))
    for (const entry of displaced) if (!chosenSlots.has(entry.slot)) this.revoke(spec.id, entry)
    for (const { value, agent } of chosen) {
      this.assign({ ...need, displaced: displaced.filter((entry) => entry.slot === value) }, value, agent, placedWithValue(vantage.label, value))
    }
    if (chosen.length < needed) {
      const placed = keptSlots.size + chosen.length
      this.unassigned.push({ streamId: spec.id, reason: this.explainer.vantage(spec.filter, vantage.label, vantage.count, placed, spec.weight) })
    }
  }

  /**
   * Adds the assignment of `slot` on the agent. It replaces the displaced
   * assignment of the same slot, if any, whose cause becomes the reason;
   * the other displaced assignments are revoked.
   */
  private assign(need: Need, slot: string, agent: number, reason: string): void {
    const previous = need.displaced.find((entry) => entry.slot === slot)
    for (const entry of need.displaced) if (entry !== previous) this.revoke(need.spec.id, entry)
    this.pool.addLoad(agent, need.spec.weight)
    this.moves.push({
      streamId: need.spec.id,
      slot,
      from: previous?.agentId ?? null,
      to: this.pool.agent(agent).id,
      reason: previous === undefined ? reason : moved(previous.cause),
    })
  }

  private unassign(streamId: string, reason: string, displaced: readonly Displaced[]): void {
    for (const entry of displaced) this.revoke(streamId, entry)
    this.unassigned.push({ streamId, reason })
  }

  private revoke(streamId: string, entry: Displaced): void {
    this.moves.push({ streamId, slot: entry.slot, from: entry.agentId, to: null, reason: revoked(entry.cause) })
  }
}
