import type { Logger } from 'pino'
import { PROTOCOL_VERSION, type ControllerMessage, type Status } from '@monit/protocol'
import type { AgentConfig } from './config.ts'
import { ControllerConnection } from './connection/connection.ts'
import { Outbox } from './spool/outbox.ts'
import { MonitorSet } from './monitor/index.ts'
import { AGENT_VERSION } from './version.ts'

/** One edge agent: the controller connection, the stream monitors and the outbox. */
export class Agent {
  private readonly monitors: MonitorSet
  private readonly outbox: Outbox
  private readonly connection: ControllerConnection
  /** Latest status per stream not yet delivered. */
  private readonly unsentStatuses = new Map<string, Status>()
  private fatalReason: string | undefined
  private readonly fatalListeners: Array<(reason: string) => void> = []

  constructor(private readonly config: AgentConfig, private readonly log: Logger) {
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
      onWelcome: () => this.flush(),
      onMessage: (message) => this.handle(message),
      onFatal: (reason) => {
        this.fatalReason = reason
        for (const listener of this.fatalListeners) listener(reason)
      },
    })
    this.outbox = new Outbox({
      send: (message) => this.connection.send(message),
      logger: log.child({ component: 'outbox' }),
    })
    this.monitors = new MonitorSet({
      logger: log.child({ component: 'monitor' }),
      onMetrics: (row) => this.outbox.add(row),
      onStatus: (status) => this.sendStatus(status),
    })
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
    this.outbox.pump()
    this.outbox.close()
    await this.connection.stop()
    this.log.info({ agent_id: this.config.id, unsent_batches: this.outbox.pendingBatches }, 'agent stopped')
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
    const message: Status = { type: 'status', ...status }
    if (!this.connection.send(message)) this.unsentStatuses.set(status.stream_id, message)
  }

  /** Sends what waited for a connection: statuses first, then metric batches. */
  private flush(): void {
    this.outbox.connectionLost()
    for (const [streamId, status] of this.unsentStatuses) {
      if (!this.connection.send(status)) return
      this.unsentStatuses.delete(streamId)
    }
    this.outbox.pump()
  }
}
