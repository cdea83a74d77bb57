import type { Logger } from 'pino'
import type { Metrics, Status } from '@monit/protocol'
import type { Repository } from './repository/index.ts'
import type { BatchWriter } from './storage/writer.ts'
import { metricsRecords, statusRecord } from './storage/rows.ts'
import type { Scheduler } from './scheduler/scheduler.ts'
import type { AgentSession } from './hub/session.ts'
import { ProbeTimeWriter } from './probe-times.ts'

/** Milliseconds between writes of the latest probe times, which the API shows as last_probe_at. */
const PROBE_TIMES_FLUSH_MS = 1000

/**
 * Turns what agents send into ClickHouse rows and repository updates,
 * dropping results of an assignment that is no longer current.
 */
export class Ingest {
  private readonly probeTimes: ProbeTimeWriter

  constructor(
    private readonly metricsWriter: BatchWriter,
    private readonly statusWriter: BatchWriter,
    private readonly repository: Repository,
    private readonly scheduler: Scheduler,
    private readonly log: Logger,
    /** Called with each status stored for the stream's current assignment. */
    private readonly onStatus: (agentId: string, message: Status) => void = () => {},
  ) {
    this.probeTimes = new ProbeTimeWriter(repository, PROBE_TIMES_FLUSH_MS, log)
  }

  /** Stores the probe times still collected. */
  close(): Promise<void> {
    return this.probeTimes.close()
  }

  /**
   * Stores one agent batch under its batch id, the deduplication token, so a
   * batch sent again after a lost ack is stored once. A batch marked as
   * resent may have been stored by a controller that died before its ack.
   */
  async metrics(session: AgentSession, message: Metrics): Promise<void> {
    const current = message.rows.filter((row) => this.scheduler.isCurrent(row.stream_id, session.agentId, row.epoch))
    const stale = message.rows.length - current.length
    if (stale > 0) {
      session.log.info({ batch_id: message.batch_id, stale }, 'dropping rows of an assignment that is no longer current')
    }
    if (current.length === 0) return

    await this.metricsWriter.write(metricsRecords(session.agentId, current), message.batch_id, { mayBeStored: message.resent === true })

    const latest = new Map<string, { ts: number; epoch: number }>()
    for (const row of current) {
      if (row.ts_ms >= (latest.get(row.stream_id)?.ts ?? 0)) latest.set(row.stream_id, { ts: row.ts_ms, epoch: row.epoch })
    }
    for (const [streamId, { ts, epoch }] of latest) {
      this.probeTimes.record({ streamId, agentId: session.agentId, epoch, at: ts })
    }
  }

  async status(session: AgentSession, message: Status): Promise<void> {
    const { stream_id: streamId, epoch } = message
    if (!this.scheduler.isCurrent(streamId, session.agentId, epoch)) {
      session.log.info({ stream_id: streamId, epoch }, 'dropping status of an assignment that is no longer current')
      return
    }

    const record = statusRecord(session.agentId, message)
    if (message.status_id !== undefined) {
      // Durable before the hub acknowledges it; a rejection makes the agent send it again later.
      await this.statusWriter.write([record], message.status_id, { mayBeStored: message.resent === true })
    } else if (!this.statusWriter.add([record])) {
      session.log.error({ stream_id: streamId, status: message.status }, 'status row not buffered: statuses writer is full')
    }
    const fence = { epoch, agentId: session.agentId }
    const recorded = await this.repository.recordStatus(streamId, message.status, message.reason, message.ts_ms, fence)
    if (recorded) this.onStatus(session.agentId, message)
    this.log.info({ stream_id: streamId, agent_id: session.agentId, status: message.status, reason: message.reason }, 'stream status changed')
  }
}
