// Placement decisions with no I/O: given the streams and the agents, decide
// which agent runs each stream. The scheduler applies the result.

export interface PlacementStream {
  id: string
  /** Only streams whose desired state is `up` are placed. */
  up: boolean
  /** Agent currently assigned, or null. */
  agentId: string | null
}

export interface PlacementAgent {
  id: string
  /** Maximum streams the agent takes; 0 means no streams. */
  capacity: number
  /** True while connected, or disconnected for less than the grace period. */
  available: boolean
}

export interface Move {
  streamId: string
  from: string | null
  to: string | null
}

export interface Placement {
  moves: Move[]
  /** Streams that should run but have no agent, with the reason. */
  unassigned: Array<{ streamId: string; reason: string }>
}

/**
 * Places each `up` stream on an available agent. A stream keeps its agent
 * while that agent is available and within capacity; the others go to the
 * least-loaded available agent (ties broken by agent id, so the result does
 * not depend on input order). `down` streams lose their agent.
 */
export function placeStreams(streams: readonly PlacementStream[], agents: readonly PlacementAgent[]): Placement {
  const available = new Map(agents.filter((agent) => agent.available).map((agent) => [agent.id, agent]))
  const load = new Map<string, number>([...available.keys()].map((id) => [id, 0]))
  const moves: Move[] = []
  const unassigned: Placement['unassigned'] = []
  const homeless: PlacementStream[] = []

  // Sticky first: every stream that may stay where it is claims its slot.
  for (const stream of [...streams].sort(byId)) {
    if (!stream.up) {
      if (stream.agentId !== null) moves.push({ streamId: stream.id, from: stream.agentId, to: null })
      continue
    }
    const current = stream.agentId === null ? undefined : available.get(stream.agentId)
    if (current !== undefined && load.get(current.id)! < current.capacity) {
      load.set(current.id, load.get(current.id)! + 1)
      continue
    }
    homeless.push(stream)
  }

  const candidates = [...available.values()].sort(byId)
  for (const stream of homeless) {
    const target = leastLoaded(candidates, load)
    if (target === undefined) {
      unassigned.push({ streamId: stream.id, reason: describeNoAgent(candidates) })
      if (stream.agentId !== null) moves.push({ streamId: stream.id, from: stream.agentId, to: null })
      continue
    }
    load.set(target.id, load.get(target.id)! + 1)
    moves.push({ streamId: stream.id, from: stream.agentId, to: target.id })
  }

  return { moves, unassigned }
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** Picks the agent with the lowest load share that still has room. */
function leastLoaded(agents: readonly PlacementAgent[], load: Map<string, number>): PlacementAgent | undefined {
  let best: PlacementAgent | undefined
  let bestShare = Infinity
  for (const agent of agents) {
    const used = load.get(agent.id)!
    if (used >= agent.capacity) continue
    const share = used / agent.capacity
    if (share < bestShare) {
      best = agent
      bestShare = share
    }
  }
  return best
}

function describeNoAgent(agents: readonly PlacementAgent[]): string {
  if (agents.length === 0) return 'no agent connected'
  return `all ${agents.length} connected agents are at capacity`
}
