// Rebalancing step of placement: moves kept assignments from the most
// loaded agents to the least loaded ones until, within each set of agents
// that could run them, the gap between load shares is within a bound.
// Pure; changes only the loads of the pool it is given.
import { compareText, filterKey, type AgentPool, type Labels } from './agent-pool.ts'

/** An assignment that placement kept and that may move to balance loads. */
export interface MovableAssignment {
  streamId: string
  slot: string
  /** Pool index of the agent that runs it. */
  agent: number
  weight: number
  /** Labels an agent needs to run this assignment, the vantage slot included. */
  filter: Labels
}

export interface RebalanceMove {
  assignment: MovableAssignment
  /** Pool index of the new agent. */
  to: number
  /** Load shares of the old and the new agent just before the move. */
  fromShare: number
  toShare: number
}

/**
 * Passes over all groups while the previous pass moved something. A move in
 * one group changes loads that another group also uses, so one pass may not
 * settle every group. Every move lowers the sum of load² / capacity, so the
 * passes end; the cap only bounds the work of one run.
 */
const MAX_PASSES = 8

interface Group {
  filter: Labels
  assignments: MovableAssignment[]
}

/**
 * Moves assignments greedily, most loaded agent first, each to the least
 * loaded agent of its group, until every group's gap between the max and
 * min load share is at most `threshold`. Each move takes the heaviest
 * assignment that still narrows the gap, so few streams move. A threshold of
 * 0 or less disables rebalancing.
 */
export function rebalance(pool: AgentPool, movable: readonly MovableAssignment[], threshold: number): RebalanceMove[] {
  if (threshold <= 0) return []
  const groups = groupByFilter(movable.filter((assignment) => assignment.weight > 0))
  const moves: RebalanceMove[] = []
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const before = moves.length
    for (const group of groups) moves.push(...balanceGroup(pool, group, threshold))
    if (moves.length === before) break
  }
  return moves
}

function groupByFilter(movable: readonly MovableAssignment[]): Group[] {
  const groups = new Map<string, Group>()
  for (const assignment of movable) {
    const key = filterKey(assignment.filter)
    let group = groups.get(key)
    if (group === undefined) {
      group = { filter: assignment.filter, assignments: [] }
      groups.set(key, group)
    }
    group.assignments.push(assignment)
  }
  const sorted = [...groups.entries()].sort(([a], [b]) => compareText(a, b))
  return sorted.map(([, group]) => group)
}

/** Balances one group and removes the moved assignments from it. */
function balanceGroup(pool: AgentPool, group: Group, threshold: number): RebalanceMove[] {
  const members = pool.eligible(group.filter)
  if (members.length < 2) return []
  const byAgent = assignmentsByAgent(group.assignments)
  const exhausted = new Set<number>()
  const moves: RebalanceMove[] = []

  for (;;) {
    const { source, target } = extremes(pool, members, byAgent, exhausted)
    if (source === undefined || target === undefined) break
    const fromShare = pool.share(source)
    const toShare = pool.share(target)
    if (fromShare - toShare <= threshold) break

    const list = byAgent.get(source)!
    const chosen = list.findIndex((assignment) => narrowsGap(pool, source, target, assignment.weight))
    if (chosen < 0) {
      exhausted.add(source)
      continue
    }
    const [assignment] = list.splice(chosen, 1) as [MovableAssignment]
    pool.addLoad(source, -assignment.weight)
    pool.addLoad(target, assignment.weight)
    moves.push({ assignment, to: target, fromShare, toShare })
  }

  const moved = new Set(moves.map((move) => move.assignment))
  group.assignments = group.assignments.filter((assignment) => !moved.has(assignment))
  return moves
}

/** Lists per agent, heaviest first, then by stream id. */
function assignmentsByAgent(assignments: readonly MovableAssignment[]): Map<number, MovableAssignment[]> {
  const byAgent = new Map<number, MovableAssignment[]>()
  for (const assignment of assignments) {
    const list = byAgent.get(assignment.agent)
    if (list === undefined) byAgent.set(assignment.agent, [assignment])
    else list.push(assignment)
  }
  for (const list of byAgent.values()) {
    list.sort((a, b) => b.weight - a.weight || compareText(a.streamId, b.streamId))
  }
  return byAgent
}

/**
 * Finds the most loaded member that still has assignments to give, and the
 * least loaded member. Members are in id order and only a strictly larger or
 * smaller share replaces a pick, so ties go to the lower id.
 */
function extremes(
  pool: AgentPool,
  members: readonly number[],
  byAgent: ReadonlyMap<number, MovableAssignment[]>,
  exhausted: ReadonlySet<number>,
): { source: number | undefined; target: number | undefined } {
  let source: number | undefined
  let target: number | undefined
  for (const member of members) {
    const share = pool.share(member)
    const gives = !exhausted.has(member) && (byAgent.get(member)?.length ?? 0) > 0
    if (gives && (source === undefined || share > pool.share(source))) source = member
    if (target === undefined || share < pool.share(target)) target = member
  }
  return { source, target }
}

/**
 * Returns whether moving `weight` from source to target fits the target and lowers
 * the sum of load² / capacity. That holds when 2 × (source share − target
 * share) > weight × (1 / source capacity + 1 / target capacity), so a move
 * never just swaps which of the two agents is overloaded.
 */
function narrowsGap(pool: AgentPool, source: number, target: number, weight: number): boolean {
  if (!pool.fits(target, weight)) return false
  const gap = pool.share(source) - pool.share(target)
  const cost = weight * (1 / pool.agent(source).capacity + 1 / pool.agent(target).capacity)
  return 2 * gap > cost
}
