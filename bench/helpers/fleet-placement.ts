// In-process timings of the pure placement function for the fleet
// benchmark: placing every stream from scratch, and the incremental pass
// that moves only the streams of a lost agent.
import { placeStreams, type PlacementAgent, type PlacementStream } from '../../controller/src/scheduler/placement.ts'

/** Runs after one warm-up run; the median of this many runs is reported. */
const RUNS = 7
/** Largest stream count the fleet benchmark places; sets the agents' capacity. */
export const MAX_STREAMS = 20_000

function makeAgents(count: number, capacity: number): PlacementAgent[] {
  return Array.from({ length: count }, (_, index) => ({ id: `bench-agent-${String(index).padStart(5, '0')}`, capacity, available: true }))
}

function makeStreams(count: number): PlacementStream[] {
  return Array.from({ length: count }, (_, index) => ({ id: `bench-stream-${String(index).padStart(5, '0')}`, up: true, assignments: [] }))
}

/**
 * Capacity of each agent: room for twice the largest stream count the
 * benchmark places, so that no stream is refused for lack of room and the
 * capacity stays the same when only the stream count changes.
 */
function capacityFor(agents: number): number {
  return Math.ceil((2 * MAX_STREAMS) / agents)
}

/**
 * Returns the median CPU time (user + system) of `run`, in milliseconds.
 * CPU time, not wall time, because the benchmark machine may be shared and
 * placement is synchronous, so its CPU time is its duration on an idle core.
 */
function medianMs(run: () => void): number {
  run()
  const times: number[] = []
  for (let index = 0; index < RUNS; index++) {
    const started = process.cpuUsage()
    run()
    const used = process.cpuUsage(started)
    times.push((used.user + used.system) / 1000)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]!
}

/** Returns the median CPU milliseconds placeStreams takes to place `streams` unassigned streams on `agents` empty agents. */
export function placementMs(streams: number, agents: number): number {
  const streamList = makeStreams(streams)
  const agentList = makeAgents(agents, capacityFor(agents))
  return medianMs(() => {
    const placement = placeStreams(streamList, agentList)
    if (placement.unassigned.length > 0) throw new Error(`${placement.unassigned.length} streams left unassigned`)
  })
}

/**
 * Returns the median CPU milliseconds of the incremental pass after one
 * agent is lost, and how many streams that agent had. Every stream is
 * placed first. Then, as the scheduler does when the agent's grace ends,
 * only that agent's streams are placed again, with the load of every other
 * stream passed as base loads. The timed part copies the per-agent loads
 * and subtracts the moved streams, as the scheduler does, and places them.
 */
export function reassignmentMs(streams: number, agents: number): { ms: number; moved: number } {
  const agentList = makeAgents(agents, capacityFor(agents))
  const initial = placeStreams(makeStreams(streams), agentList)
  const assigned = new Map<string, string>()
  for (const move of initial.moves) if (move.to !== null) assigned.set(move.streamId, move.to)
  const lost = agentList[0]!.id
  const lostStreams: PlacementStream[] = makeStreams(streams)
    .filter((stream) => assigned.get(stream.id) === lost)
    .map((stream) => ({ ...stream, assignments: [{ agentId: lost, slot: '' }] }))
  const remaining = agentList.map((agent) => (agent.id === lost ? { ...agent, available: false } : agent))
  const loads = initial.loads
  const ms = medianMs(() => {
    const baseLoads = new Map(loads)
    for (const stream of lostStreams) baseLoads.set(lost, baseLoads.get(lost)! - 1)
    const placement = placeStreams(lostStreams, remaining, { rebalanceThreshold: 0, baseLoads })
    if (placement.unassigned.length > 0) throw new Error(`${placement.unassigned.length} streams left unassigned`)
    if (placement.moves.length !== lostStreams.length) throw new Error(`${placement.moves.length} moves for ${lostStreams.length} lost streams`)
  })
  return { ms, moved: lostStreams.length }
}
