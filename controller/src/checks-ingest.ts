// Stores what the agents' checks send: av results as av_checks rows,
// playlist summaries as playlist_checks rows, player page results as
// page_checks rows, and screenshots as files once all their frames have arrived.
// Results of an assignment that is no longer current are dropped.
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { Av, Page, Playlist, Screenshot } from '@monit/protocol'
import type { ControllerConfig } from './config.ts'
import type { BatchWriter } from './storage/writer.ts'
import { avCheckRecord, pageCheckRecord, playlistCheckRecord } from './storage/rows.ts'
import type { Scheduler } from './scheduler/scheduler.ts'
import type { AgentSession } from './hub/session.ts'
import { ScreenshotAssembler } from './screenshots/assembler.ts'
import { ScreenshotStore } from './screenshots/store.ts'

/** Maximum time between two sweeps of the screenshot folders, ms. */
const MAX_SWEEP_INTERVAL_MS = 3_600_000

export class ChecksIngest {
  /** Screenshots stored. */
  screenshotsStored = 0
  /** Screenshots discarded: rejected parts, stale assignments or failed writes. */
  screenshotsDropped = 0

  constructor(
    private readonly avWriter: BatchWriter,
    readonly store: ScreenshotStore,
    private readonly assembler: ScreenshotAssembler,
    private readonly scheduler: Pick<Scheduler, 'isCurrent'>,
    private readonly log: Logger,
    /** Without it, playlist summaries are dropped. */
    private readonly playlistWriter?: BatchWriter,
    /** Without it, page check results are only logged. */
    private readonly pageWriter?: BatchWriter,
  ) {}

  av(session: AgentSession, message: Av): void {
    const { stream_id: streamId, epoch } = message
    if (!this.scheduler.isCurrent(streamId, session.agentId, epoch)) {
      session.log.info({ stream_id: streamId, epoch }, 'dropping av result of an assignment that is no longer current')
      return
    }
    if (!this.avWriter.add([avCheckRecord(session.agentId, message)])) {
      session.log.error({ stream_id: streamId }, 'av row not buffered: av_checks writer is full')
    }
  }

  playlist(session: AgentSession, message: Playlist): void {
    const { stream_id: streamId, epoch } = message
    if (this.playlistWriter === undefined) return
    if (!this.scheduler.isCurrent(streamId, session.agentId, epoch)) {
      session.log.info({ stream_id: streamId, epoch }, 'dropping playlist summary of an assignment that is no longer current')
      return
    }
    if (!this.playlistWriter.add([playlistCheckRecord(session.agentId, message)])) {
      session.log.error({ stream_id: streamId }, 'playlist row not buffered: playlist_checks writer is full')
    }
  }

  /**
   * Stores a player page check result. The page message has no batch id, so
   * the row goes through the writer's buffer like an av result.
   */
  page(session: AgentSession, message: Page): void {
    const { stream_id: streamId, epoch } = message
    const fields = { stream_id: streamId, epoch, ok: message.ok, playing: message.playing, errors: message.errors.length }
    if (message.ok) session.log.debug(fields, 'page check result')
    else session.log.info({ ...fields, first_error: message.errors[0]?.text }, 'page check failed')
    if (this.pageWriter === undefined) return
    if (!this.scheduler.isCurrent(streamId, session.agentId, epoch)) {
      session.log.info({ stream_id: streamId, epoch }, 'dropping page check result of an assignment that is no longer current')
      return
    }
    if (!this.pageWriter.add([pageCheckRecord(session.agentId, message)])) {
      session.log.error({ stream_id: streamId }, 'page row not buffered: page_checks writer is full')
    }
  }

  /** Takes one screenshot frame and stores the screenshot when it is complete. */
  async screenshot(session: AgentSession, frame: Screenshot): Promise<void> {
    const outcome = this.assembler.add(session.agentId, frame)
    if (outcome.status === 'pending') return
    if (outcome.status === 'rejected') {
      this.screenshotsDropped++
      session.log.warn({ stream_id: frame.stream_id, screenshot_id: frame.id, reason: outcome.reason }, 'screenshot rejected')
      return
    }
    const { stream_id: streamId, epoch, ts_ms: tsMs, jpeg } = outcome.screenshot
    if (!this.scheduler.isCurrent(streamId, session.agentId, epoch)) {
      this.screenshotsDropped++
      session.log.info({ stream_id: streamId, epoch }, 'dropping screenshot of an assignment that is no longer current')
      return
    }
    try {
      await this.store.save(streamId, tsMs, jpeg)
      this.screenshotsStored++
    } catch (error) {
      this.screenshotsDropped++
      this.log.error({ err: error, stream_id: streamId, agent_id: session.agentId }, 'storing screenshot failed')
    }
  }

  /** Forgets the partial screenshots of an agent that disconnected. */
  agentDisconnected(agentId: string): void {
    this.assembler.dropAgent(agentId)
  }

  close(): void {
    this.store.stopSweeping()
  }
}

/**
 * Creates the checks ingest with its screenshot store under
 * DATA_DIR/screenshots, and starts sweeping old screenshots.
 */
export function createChecksIngest(
  config: Pick<ControllerConfig, 'dataDir' | 'screenshotKeep' | 'screenshotMaxAgeS'>,
  avWriter: BatchWriter,
  scheduler: Pick<Scheduler, 'isCurrent'>,
  log: Logger,
  playlistWriter?: BatchWriter,
  pageWriter?: BatchWriter,
): ChecksIngest {
  const maxAgeMs = config.screenshotMaxAgeS * 1000
  const store = new ScreenshotStore({
    dir: join(config.dataDir, 'screenshots'),
    keep: config.screenshotKeep,
    maxAgeMs,
    logger: log,
  })
  store.startSweeping(Math.min(maxAgeMs, MAX_SWEEP_INTERVAL_MS))
  return new ChecksIngest(avWriter, store, new ScreenshotAssembler(), scheduler, log, playlistWriter, pageWriter)
}
