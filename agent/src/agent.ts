import { join } from 'node:path'
import type { Logger } from 'pino'
import { PROTOCOL_VERSION, screenshotFrames, type ControllerMessage, type Status } from '@monit/protocol'
import type { AgentConfig } from './config.ts'
import { ControllerConnection } from './connection/connection.ts'
import { Outbox, type SpoolStats } from './spool/outbox.ts'
import {
  MonitorSet,
  probeStream,
  summarisePlaylist,
  type AvResult,
  type GrabbedScreenshot,
  type PageResult,
} from './monitor/index.ts'
import { checkPage } from './browser/page-check.ts'
import { PagePool } from './browser/page-pool.ts'
import type { PlaylistReport } from './analysis/playlist/report.ts'
import { activeChildren } from './media/runner.ts'
import { AgentMetrics, type AgentSnapshot } from './metrics/registry.ts'
import { AGENT_VERSION } from './version.ts'

/** One edge agent: the controller connection, the stream monitors and the outbox. */
export class Agent {
  private readonly monitors: MonitorSet
  /** Chromium tabs of the player page checks; Chromium starts at the first check. */
  private readonly pages: PagePool
  private readonly outbox: Outbox
  private readonly connection: ControllerConnection
  /** Prometheus metrics of this agent, read by the metrics server. */
  readonly metrics: AgentMetrics
  private fatalReason: string | undefined
  private readonly fatalListeners: Array<(reason: string) => void> = []

  constructor(private readonly config: AgentConfig, private readonly log: Logger) {
    const identity = { agentId: config.id, version: AGENT_VERSION, protocolVersion: PROTOCOL_VERSION }
    this.metrics = new AgentMetrics(identity, () => this.snapshot())
    this.connection = new ControllerConnection({
      urls: config.controllers,
      token: config.token,
      logger: log.child({ component: 'connection' }),
      hello: () => ({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        agent_id: config.id,
        name: config.name,
        version: AGENT_VERSION,
        labels: config.labels,
        capacity: config.capacity,
        streams: this.monitors.running(),
      }),
      onWelcome: (welcome) => {
        this.outbox.setStatusAcks(welcome.status_acks === true)
        this.flush()
      },
      onMessage: (message) => this.handle(message),
      onFatal: (reason) => {
        this.fatalReason = reason
        for (const listener of this.fatalListeners) listener(reason)
      },
    })
    this.outbox = new Outbox({
      // One folder per agent id: spooled rows belong to that id's assignments.
      dir: join(config.dataDir, 'spool', config.id),
      maxBytes: config.spoolMaxBytes,
      maxBatches: config.spoolMaxBatches,
      send: (message) => this.connection.send(message),
      logger: log.child({ component: 'outbox' }),
    })
    this.pages = new PagePool({ executablePath: config.chromium, logger: log.child({ component: 'browser' }) })
    this.monitors = new MonitorSet({
      logger: log.child({ component: 'monitor' }),
      onMetrics: (row) => this.outbox.add(row),
      onStatus: (status) => this.sendStatus(status),
      probe: this.metrics.timeProbes(probeStream),
      onAv: (result) => this.sendAv(result),
      onScreenshot: (shot) => this.sendScreenshot(shot),
      checkDefaults: config.checks,
      playlistChecks: true,
      // The `low bitrate` floor comes from each perform's min_bitrate; no agent flag sets a default.
      onPlaylist: (report, epoch) => this.sendPlaylist(report, epoch),
      pageCheck: (url, settings, options) => checkPage(this.pages, url, settings, options),
      onPage: (result) => this.sendPage(result),
    })
  }

  /** Sizes and drop counters of the on-disk spool of unsent metrics. */
  get spool(): SpoolStats {
    return this.outbox.stats
  }

  /** True while the controller has accepted this agent. */
  get controllerConnected(): boolean {
    return this.connection.connected
  }

  start(): void {
    this.log.info({ agent_id: this.config.id, version: AGENT_VERSION, controllers: this.config.controllers }, 'agent starting')
    this.connection.start()
  }

  /** Calls back when the controller rejects this agent for good. */
  onFatal(listener: (reason: string) => void): void {
    if (this.fatalReason !== undefined) listener(this.fatalReason)
    else this.fatalListeners.push(listener)
  }

  /** Stops every monitor and child process, then closes the connection. */
  async stop(): Promise<void> {
    await this.monitors.stopAll()
    await this.pages.close()
    this.outbox.pump()
    this.outbox.close()
    await this.connection.stop()
    this.log.info({ agent_id: this.config.id, unsent_batches: this.outbox.pendingBatches }, 'agent stopped')
  }

  private snapshot(): AgentSnapshot {
    return {
      controllerConnected: this.connection.connected,
      streamsRunning: this.monitors.size,
      probes: this.monitors.probeTotals,
      spool: this.outbox.stats,
      childProcesses: activeChildren(),
    }
  }

  private handle(message: ControllerMessage): void {
    switch (message.type) {
      case 'perform':
        this.monitors.perform(message)
        return

      case 'revoke':
        void this.monitors.revoke(message.stream_id, message.epoch)
        return

      case 'ack':
        this.outbox.acknowledge(message.batch_id)
        return

      case 'error':
        if (message.batch_id !== undefined) this.outbox.retryLater(message.batch_id)
        return

      default:
        return
    }
  }

  private sendStatus(status: Omit<Status, 'type'>): void {
    this.outbox.addStatus({ type: 'status', ...status })
  }

  // NOTE: av results, playlist summaries and screenshots are sent only while
  // connected. They are not kept for a later connection, because the next
  // check replaces them.
  private sendAv(result: AvResult): void {
    if (!this.connection.send({ type: 'av', ...result })) {
      this.log.debug({ stream_id: result.stream_id }, 'not connected; av result dropped')
    }
  }

  private sendPlaylist(report: PlaylistReport, epoch: number): void {
    if (!this.connection.send({ type: 'playlist', ...summarisePlaylist(report, epoch) })) {
      this.log.debug({ stream_id: report.streamId }, 'not connected; playlist summary dropped')
    }
  }

  private sendPage(result: PageResult): void {
    if (!this.connection.send({ type: 'page', ...result })) {
      this.log.debug({ stream_id: result.stream_id }, 'not connected; page check result dropped')
    }
  }

  private sendScreenshot(shot: GrabbedScreenshot): void {
    const frames = screenshotFrames(shot, shot.jpeg)
    for (const frame of frames) {
      if (this.connection.send(frame)) continue
      this.log.debug({ stream_id: shot.stream_id }, 'not connected; screenshot dropped')
      return
    }
  }

  /** Sends what waited for a connection: statuses first, then metric batches. */
  private flush(): void {
    this.outbox.connectionLost()
    this.outbox.pump()
  }
}
