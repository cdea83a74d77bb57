// The available agents of one placement run: their loads, an index by label
// value, and per-filter heaps that return the least-loaded agent quickly.
// Pure data structures with no I/O.

export type Labels = Readonly<Record<string, string>>

/** An available agent, with the fields placement uses. */
export interface PoolAgent {
  id: string
  /** Weight units the agent takes; 0 means no streams. */
  capacity: number
  labels: Labels
  draining: boolean
}

/** Orders strings by UTF-16 code units, the same on every machine (unlike localeCompare). */
export function compareText(a: string, b: string): number {
  if (a === b) return 0
  return a < b ? -1 : 1
}

/** Stable text key of a label filter, such as `{"region":"eu"}` with sorted keys. */
export function filterKey(filter: Labels): string {
  const keys = Object.keys(filter).sort()
  return JSON.stringify(keys.map((key) => [key, filter[key]]))
}

/** Returns the first `key=value` of the filter that the labels lack, or undefined when they have all. */
export function missingLabel(labels: Labels, filter: Labels): string | undefined {
  for (const key of Object.keys(filter).sort()) {
    if (labels[key] !== filter[key]) return `${key}=${filter[key]}`
  }
  return undefined
}

/**
 * Agents sorted by id (so an index order is an id order), with their loads
 * in weight units. Loads only grow while heaps are in use, which is what
 * lets LoadHeap refresh its entries lazily.
 */
export class AgentPool {
  readonly agents: readonly PoolAgent[]
  readonly load: number[]
  private readonly byId = new Map<string, number>()
  /** label key → label value → indexes of the agents with that value. */
  private readonly labelIndex = new Map<string, Map<string, number[]>>()
  private readonly matchingCache = new Map<string, readonly number[]>()
  private readonly heapCache = new Map<string, LoadHeap>()
  private readonly valueHeapCache = new Map<string, ReadonlyMap<string, LoadHeap>>()

  constructor(agents: readonly PoolAgent[]) {
    this.agents = [...agents].sort((a, b) => compareText(a.id, b.id))
    this.load = this.agents.map(() => 0)
    this.agents.forEach((agent, index) => {
      this.byId.set(agent.id, index)
      this.indexLabels(agent, index)
    })
  }

  get size(): number {
    return this.agents.length
  }

  indexOf(agentId: string): number | undefined {
    return this.byId.get(agentId)
  }

  agent(index: number): PoolAgent {
    return this.agents[index]!
  }

  /** Returns the load divided by the capacity, or Infinity for an agent with no capacity. */
  share(index: number): number {
    const capacity = this.agent(index).capacity
    return capacity > 0 ? this.load[index]! / capacity : Infinity
  }

  fits(index: number, weight: number): boolean {
    return this.load[index]! + weight <= this.agent(index).capacity
  }

  /** Returns whether the agent may take new streams: not draining, with some capacity. */
  takesStreams(index: number): boolean {
    const agent = this.agent(index)
    return !agent.draining && agent.capacity > 0
  }

  addLoad(index: number, weight: number): void {
    this.load[index] = this.load[index]! + weight
  }

  /** Returns the indexes of every agent (draining or not) whose labels include the filter. */
  matching(filter: Labels): readonly number[] {
    const key = filterKey(filter)
    let found = this.matchingCache.get(key)
    if (found === undefined) {
      found = this.computeMatching(filter)
      this.matchingCache.set(key, found)
    }
    return found
  }

  /** Returns the indexes of the agents that match the filter and take streams. */
  eligible(filter: Labels): number[] {
    return this.matching(filter).filter((index) => this.takesStreams(index))
  }

  /** Returns the heap over the eligible agents of the filter, made on first use. */
  heap(filter: Labels): LoadHeap {
    const key = filterKey(filter)
    let heap = this.heapCache.get(key)
    if (heap === undefined) {
      heap = new LoadHeap(this, this.eligible(filter))
      this.heapCache.set(key, heap)
    }
    return heap
  }

  /** Returns one heap per value of `label` among the eligible agents of the filter, values sorted. */
  heapsByValue(filter: Labels, label: string): ReadonlyMap<string, LoadHeap> {
    const key = `${filterKey(filter)}\n${label}`
    let heaps = this.valueHeapCache.get(key)
    if (heaps === undefined) {
      heaps = this.buildValueHeaps(this.eligible(filter), label)
      this.valueHeapCache.set(key, heaps)
    }
    return heaps
  }

  private indexLabels(agent: PoolAgent, index: number): void {
    for (const [key, value] of Object.entries(agent.labels)) {
      let values = this.labelIndex.get(key)
      if (values === undefined) {
        values = new Map()
        this.labelIndex.set(key, values)
      }
      const list = values.get(value)
      if (list === undefined) values.set(value, [index])
      else list.push(index)
    }
  }

  /** Starts from the smallest posting list of the filter and checks the other labels. */
  private computeMatching(filter: Labels): readonly number[] {
    const keys = Object.keys(filter)
    if (keys.length === 0) return this.agents.map((_, index) => index)
    let smallest: readonly number[] | undefined
    for (const key of keys) {
      const list = this.labelIndex.get(key)?.get(filter[key]!) ?? []
      if (smallest === undefined || list.length < smallest.length) smallest = list
    }
    return (smallest ?? []).filter((index) => missingLabel(this.agent(index).labels, filter) === undefined)
  }

  private buildValueHeaps(members: readonly number[], label: string): ReadonlyMap<string, LoadHeap> {
    const byValue = new Map<string, number[]>()
    for (const index of members) {
      const value = this.agent(index).labels[label]
      if (value === undefined) continue
      const list = byValue.get(value)
      if (list === undefined) byValue.set(value, [index])
      else list.push(index)
    }
    const values = [...byValue.keys()].sort()
    return new Map(values.map((value) => [value, new LoadHeap(this, byValue.get(value)!)]))
  }
}

interface HeapEntry {
  agent: number
  /** The agent's load when the entry was pushed. */
  load: number
}

/**
 * Binary min-heap of agents ordered by load share, then id. Entries are
 * refreshed lazily: an entry whose recorded load differs from the agent's
 * current load is re-pushed with the current one when it reaches the top.
 * This is correct because loads only grow during placement, so a stale
 * entry never sorts later than it should.
 */
export class LoadHeap {
  private readonly entries: HeapEntry[] = []

  constructor(
    private readonly pool: AgentPool,
    members: readonly number[],
  ) {
    for (const agent of members) this.push({ agent, load: pool.load[agent]! })
  }

  get size(): number {
    return this.entries.length
  }

  /** Returns the least-loaded agent with room for `weight`, leaving it in the heap, or undefined. */
  best(weight: number): number | undefined {
    const setAside: HeapEntry[] = []
    let found: number | undefined
    while (this.entries.length > 0) {
      const top = this.pop()
      const current = this.pool.load[top.agent]!
      if (top.load !== current) {
        this.push({ agent: top.agent, load: current })
        continue
      }
      setAside.push(top)
      if (this.pool.fits(top.agent, weight)) {
        found = top.agent
        break
      }
    }
    for (const entry of setAside) this.push(entry)
    return found
  }

  private before(a: HeapEntry, b: HeapEntry): boolean {
    const shareA = a.load / this.pool.agent(a.agent).capacity
    const shareB = b.load / this.pool.agent(b.agent).capacity
    if (shareA !== shareB) return shareA < shareB
    return a.agent < b.agent
  }

  private push(entry: HeapEntry): void {
    const entries = this.entries
    entries.push(entry)
    let child = entries.length - 1
    while (child > 0) {
      const parent = (child - 1) >> 1
      if (!this.before(entries[child]!, entries[parent]!)) break
      ;[entries[child], entries[parent]] = [entries[parent]!, entries[child]!]
      child = parent
    }
  }

  private pop(): HeapEntry {
    const entries = this.entries
    const top = entries[0]!
    const last = entries.pop()!
    if (entries.length === 0) return top
    entries[0] = last
    let parent = 0
    for (;;) {
      const left = parent * 2 + 1
      const right = left + 1
      let smallest = parent
      if (left < entries.length && this.before(entries[left]!, entries[smallest]!)) smallest = left
      if (right < entries.length && this.before(entries[right]!, entries[smallest]!)) smallest = right
      if (smallest === parent) break
      ;[entries[smallest], entries[parent]] = [entries[parent]!, entries[smallest]!]
      parent = smallest
    }
    return top
  }
}
