// The reason texts of placement decisions, as the API shows them, and the
// explanations of why a stream has fewer agents than it requests.
import { filterKey, type AgentPool, type Labels } from './agent-pool.ts'

/** Reasons of decisions that need no details. */
export const Reason = {
  placed: 'placed on least-loaded agent',
  placedPinned: 'placed on pinned agent',
  noAgent: 'no agent connected',
} as const

/** Causes that end a current assignment, used in `moved: …` and `revoked: …` reasons. */
export const Cause = {
  disconnected: 'agent disconnected',
  drained: 'agent drained',
  overCapacity: 'agent over capacity',
  streamDown: 'stream is down',
  notNeeded: 'vantage point no longer needed',
  vantageAsked: 'stream now asks for vantage points',
  valueChanged: (label: string, value: string) => `agent's ${label} is now ${value}`,
  lacks: (label: string) => `agent lacks ${label}`,
  pinnedElsewhere: (agentId: string) => `stream pinned to ${agentId}`,
} as const

export function placedWithValue(label: string, value: string): string {
  return `placed on least-loaded agent with ${label}=${value}`
}

export function moved(cause: string): string {
  return `moved: ${cause}`
}

export function revoked(cause: string): string {
  return `revoked: ${cause}`
}

export function rebalanced(fromShare: number, toShare: number): string {
  return `moved: rebalanced from load share ${fromShare.toFixed(2)} to ${toShare.toFixed(2)}`
}

function formatFilter(filter: Labels): string {
  return Object.keys(filter)
    .sort()
    .map((key) => `${key}=${filter[key]}`)
    .join(', ')
}

function noRoom(count: number, kind: string, weight: number): string {
  const agents = count === 1 ? `the 1 ${kind} agent is` : `all ${count} ${kind} agents are`
  return weight === 1 ? `${agents} at capacity` : `${agents} too full for weight ${weight}`
}

/**
 * Explains why placement found no agent for a stream that needs the labels
 * of `filter` and `weight` units of room. Results are cached per filter and
 * weight, since many streams share them.
 */
export class Explainer {
  private readonly cache = new Map<string, string>()

  constructor(private readonly pool: AgentPool) {}

  noAgent(filter: Labels, weight: number): string {
    const key = `${filterKey(filter)}\n${weight}`
    let reason = this.cache.get(key)
    if (reason === undefined) {
      reason = this.explain(filter, weight)
      this.cache.set(key, reason)
    }
    return reason
  }

  /** Explains why a pinned stream cannot run on its agent. */
  pinned(agentId: string, filter: Labels, weight: number): string {
    const index = this.pool.indexOf(agentId)
    if (index === undefined) return `pinned agent ${agentId} is not connected`
    const agent = this.pool.agent(index)
    const lacking = Object.keys(filter).filter((key) => agent.labels[key] !== filter[key])
    if (lacking.length > 0) {
      return `pinned agent ${agentId} lacks ${formatFilter(Object.fromEntries(lacking.map((key) => [key, filter[key]!])))}`
    }
    if (agent.draining) return `pinned agent ${agentId} is draining`
    return weight === 1 ? `pinned agent ${agentId} is at capacity` : `pinned agent ${agentId} is too full for weight ${weight}`
  }

  /**
   * Explains why a stream that requests `count` agents with distinct values
   * of `label` got only `placed` of them.
   */
  vantage(filter: Labels, label: string, count: number, placed: number, weight: number): string {
    const matching = this.pool.matching(filter)
    if (matching.length === 0) return this.noAgent(filter, weight)
    const all = this.valuesOf(matching, label)
    if (all.length === 0) return `no connected agent${this.withFilter(filter)} has a ${label} label`

    const open = this.valuesOf(matching.filter((index) => this.pool.takesStreams(index)), label)
    const prefix = `only ${placed} of ${count} vantage points placed`
    if (open.length < count) {
      const drained = all.length > open.length ? `; agents with other values are draining` : ''
      const covered = open.length === 0 ? 'no agent takes streams' : `agents cover ${open.map((value) => `${label}=${value}`).join(', ')} only`
      return `${prefix}: ${covered}${drained}`
    }
    return `${prefix}: the other ${label} values have no agent with room for weight ${weight}`
  }

  private explain(filter: Labels, weight: number): string {
    if (this.pool.size === 0) return Reason.noAgent
    const matching = this.pool.matching(filter)
    const kind = Object.keys(filter).length === 0 ? 'connected' : 'matching'
    if (matching.length === 0) return this.missing(filter)
    const open = matching.filter((index) => this.pool.takesStreams(index))
    if (open.length === 0) return this.closed(matching, kind)
    return noRoom(open.length, kind, weight)
  }

  /** Explains why none of the matching agents takes streams: draining, or capacity 0. */
  private closed(matching: readonly number[], kind: string): string {
    const draining = matching.filter((index) => this.pool.agent(index).draining).length
    const all = matching.length === 1 ? `the 1 ${kind} agent` : `all ${matching.length} ${kind} agents`
    if (draining === matching.length) return `${all} ${matching.length === 1 ? 'is' : 'are'} draining`
    if (draining === 0) return `${all} ${matching.length === 1 ? 'has' : 'have'} capacity 0`
    return `${all} are draining or have capacity 0`
  }

  /** Names the required label no agent has, or the combination when each label exists alone. */
  private missing(filter: Labels): string {
    for (const key of Object.keys(filter).sort()) {
      const alone = { [key]: filter[key]! }
      if (this.pool.matching(alone).length === 0) return `no connected agent has ${formatFilter(alone)}`
    }
    return `no connected agent has ${formatFilter(filter)}`
  }

  private withFilter(filter: Labels): string {
    return Object.keys(filter).length === 0 ? '' : ` with ${formatFilter(filter)}`
  }

  private valuesOf(indexes: readonly number[], label: string): string[] {
    const values = new Set<string>()
    for (const index of indexes) {
      const value = this.pool.agent(index).labels[label]
      if (value !== undefined) values.add(value)
    }
    return [...values].sort()
  }
}
