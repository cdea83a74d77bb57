import type { ProbeSettings, StreamStatusValue } from '@monit/protocol'

export type { ProbeSettings, StreamStatusValue }

/** Object of string to string, stored as JSON text. */
export type Labels = Record<string, string>

/** Whether the operator wants the stream monitored. */
export type DesiredState = 'up' | 'down'

/** A point in time given to the repository: a Date or milliseconds since the Unix epoch. */
export type Timestamp = Date | number

/** Stream settings and runtime state, shaped like the REST API JSON. Times are ISO 8601 strings. */
export interface Stream {
  id: string
  url: string
  desired_state: DesiredState
  probe: ProbeSettings
  labels: Labels
  /** Agent the stream is assigned to, or null. */
  agent_id: string | null
  /** Assignment fencing number; grows by one on every assignStream. */
  epoch: number
  assigned_at: string | null
  status: StreamStatusValue | null
  status_reason: string | null
  status_at: string | null
  last_probe_at: string | null
  created_at: string
  /** Last change of the settings (url, desired_state, probe, labels). */
  updated_at: string
}

export interface NewStream {
  id: string
  url: string
  /** Default 'up'. */
  desired_state?: DesiredState
  /** Defaults: interval_s 10, sample_s 5, timeout_s 10. */
  probe?: Partial<ProbeSettings>
  /** Default {}. */
  labels?: Labels
}

/** Fields to change; absent fields keep their value. labels replaces the whole object. */
export interface StreamPatch {
  url?: string
  desired_state?: DesiredState
  probe?: Partial<ProbeSettings>
  labels?: Labels
}

export interface Agent {
  id: string
  name: string
  version: string
  protocol: number
  labels: Labels
  capacity: number
  connected: boolean
  connected_at: string | null
  last_seen_at: string | null
  /** Set when the agent went away; null again once it says hello. */
  disconnected_at: string | null
  remote_address: string | null
  created_at: string
  updated_at: string
}

/** What an agent says about itself at hello, plus where it connected from. */
export interface AgentHello {
  id: string
  name: string
  version: string
  protocol: number
  labels: Labels
  capacity: number
  remoteAddress?: string | null
}

/** An agent token as listed: never the secret nor its hash. */
export interface AgentToken {
  id: string
  name: string
  created_at: string
  last_used_at: string | null
  revoked_at: string | null
}

/** A token just created; `token` is the only time the plaintext is available. */
export interface NewAgentToken extends AgentToken {
  token: string
}

/** Where the repository reports what it did; a pino logger fits. */
export interface RepositoryLogger {
  info(obj: object, msg?: string): void
  /** Driver and pool warnings (such as failed connection attempts) go here, or to info. */
  warn?(obj: object, msg?: string): void
}

export interface RepositoryOptions {
  /** Clock used when a method is not given a time; milliseconds since the Unix epoch. */
  now?: () => number
}

/** Condition for runtime updates sent by an agent: apply only while the stream has this epoch. */
export interface EpochFence {
  epoch?: number
}
