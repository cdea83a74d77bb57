// The agent's Prometheus metrics. Gauges and counters are set from one
// snapshot of the agent per scrape; probe durations are observed as probes
// finish.
import { performance } from 'node:perf_hooks'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { ProbeFn } from '../monitor/probe.ts'
import type { ProbeTotals } from '../monitor/monitor-set.ts'

/** Sizes and counters of the spool of unacknowledged metric batches (the outbox's stats). */
export interface SpoolCounters {
  /** Batches waiting for the controller's ack. */
  readonly batches: number
  /** Bytes of those batches. */
  readonly bytes: number
  /** Batches and rows dropped because the spool was full, since the agent started. */
  readonly droppedBatches: number
  readonly droppedRows: number
  /** Spool files set aside as unreadable, since the agent started. */
  readonly corruptFiles: number
}

/** The agent's state at one scrape. */
export interface AgentSnapshot {
  controllerConnected: boolean
  streamsRunning: number
  probes: ProbeTotals
  spool: SpoolCounters
  /** Running ffprobe and ffmpeg processes. */
  childProcesses: number
}

export interface AgentIdentity {
  agentId: string
  version: string
  protocolVersion: number
}

/**
 * Upper bounds in seconds: a probe lasts about sample_s (default 5 s) and
 * ends at timeout_s (default 10 s).
 */
const PROBE_DURATION_BUCKETS = [0.5, 1, 2, 5, 7.5, 10, 15, 20, 30, 60, 120]

export class AgentMetrics {
  readonly registry = new Registry()
  private readonly connected = this.gauge(
    'monit_agent_controller_connected',
    '1 while the controller has accepted the agent, else 0',
  )
  private readonly streams = this.gauge('monit_agent_streams_running', 'Streams this agent monitors')
  private readonly probes = new Counter({
    name: 'monit_agent_probes_total',
    help: 'Completed probe runs (a retried run counts once) by result: ok, or failed (stream reported down)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  })
  private readonly retries = this.counter(
    'monit_agent_probe_retries_total',
    'Probe runs retried after a failed first attempt',
  )
  private readonly late = this.counter(
    'monit_agent_probes_late_total',
    'Probe runs started late because the previous run overran its interval',
  )
  private readonly skipped = this.counter(
    'monit_agent_probe_slots_skipped_total',
    'Probe slots skipped because a run overran more than one interval',
  )
  private readonly probeDuration = new Histogram({
    name: 'monit_agent_probe_duration_seconds',
    help: 'Duration of each probe attempt (ffprobe run), by result: ok or failed',
    labelNames: ['result'] as const,
    buckets: PROBE_DURATION_BUCKETS,
    registers: [this.registry],
  })
  private readonly spoolBatches = this.gauge(
    'monit_agent_spool_pending_batches',
    'Metric batches waiting for the controller to acknowledge them',
  )
  private readonly spoolBytes = this.gauge(
    'monit_agent_spool_bytes',
    'Bytes of the metric batches waiting for an acknowledgement',
  )
  private readonly spoolDroppedBatches = this.counter(
    'monit_agent_spool_dropped_batches_total',
    'Metric batches dropped because the spool was full',
  )
  private readonly spoolDroppedRows = this.counter(
    'monit_agent_spool_dropped_rows_total',
    'Metric rows in the batches dropped because the spool was full',
  )
  private readonly spoolCorruptFiles = this.counter(
    'monit_agent_spool_corrupt_files_total',
    'Spool files set aside because they could not be read',
  )
  private readonly children = this.gauge('monit_agent_child_processes', 'Running ffprobe and ffmpeg processes')

  constructor(identity: AgentIdentity, private readonly snapshot: () => AgentSnapshot) {
    collectDefaultMetrics({ register: this.registry })
    const info = new Gauge({
      name: 'monit_agent_info',
      help: 'Agent id, version and protocol version; the value is always 1',
      labelNames: ['agent_id', 'version', 'protocol_version'] as const,
      registers: [this.registry],
    })
    info.set({
      agent_id: identity.agentId,
      version: identity.version,
      protocol_version: String(identity.protocolVersion),
    }, 1)
  }

  /** Reads the agent's state and renders every metric in the Prometheus text format. */
  async render(): Promise<string> {
    this.update(this.snapshot())
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** Wraps a probe function to observe the duration of each attempt; aborted attempts are left out. */
  timeProbes(probe: ProbeFn): ProbeFn {
    return async (url, settings, options) => {
      const started = performance.now()
      const result = await probe(url, settings, options)
      if (options.signal?.aborted) return result
      const seconds = (performance.now() - started) / 1000
      this.probeDuration.observe({ result: result.ok ? 'ok' : 'failed' }, seconds)
      return result
    }
  }

  private update(state: AgentSnapshot): void {
    this.connected.set(state.controllerConnected ? 1 : 0)
    this.streams.set(state.streamsRunning)
    setCounter(this.probes, state.probes.runs - state.probes.failures, { result: 'ok' })
    setCounter(this.probes, state.probes.failures, { result: 'failed' })
    setCounter(this.retries, state.probes.retries)
    setCounter(this.late, state.probes.late)
    setCounter(this.skipped, state.probes.skipped)
    this.spoolBatches.set(state.spool.batches)
    this.spoolBytes.set(state.spool.bytes)
    setCounter(this.spoolDroppedBatches, state.spool.droppedBatches)
    setCounter(this.spoolDroppedRows, state.spool.droppedRows)
    setCounter(this.spoolCorruptFiles, state.spool.corruptFiles)
    this.children.set(state.childProcesses)
  }

  private gauge(name: string, help: string): Gauge {
    return new Gauge({ name, help, registers: [this.registry] })
  }

  private counter(name: string, help: string): Counter {
    return new Counter({ name, help, registers: [this.registry] })
  }
}

/**
 * Sets a counter to a total kept elsewhere. prom-client counters only go up
 * by inc(), so the series is reset first; the totals never decrease.
 */
function setCounter<T extends string>(
  counter: Counter<T>,
  total: number,
  labels?: Partial<Record<T, string>>,
): void {
  if (labels === undefined) {
    counter.reset()
    counter.inc(total)
    return
  }
  counter.remove(labels)
  counter.inc(labels, total)
}
