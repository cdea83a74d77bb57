import type { Logger } from 'pino'
import type { ControllerConfig } from './config.ts'
import type { Repository, Stream } from './repository/index.ts'
import type { Storage, Writers } from './storage/index.ts'
import type { Scheduler } from './scheduler/scheduler.ts'
import type { AgentHub } from './hub/hub.ts'
import type { LiveFeed } from './live/feed.ts'

export type StoredStream = Stream

/** The parts of a running controller that routes and handlers share. */
export interface ControllerContext {
  config: ControllerConfig
  logger: Logger
  repository: Repository
  storage: Storage
  /** One batched writer per ClickHouse table. */
  writers: Writers
  scheduler: Scheduler
  hub: AgentHub
  /** The live feed's subscribers and viewer counts. */
  live: LiveFeed
  version: string
}
