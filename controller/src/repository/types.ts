import type { ProbeSettings, StreamStatusValue } from '@monit/protocol'

export type { ProbeSettings, StreamStatusValue }

/** Object of string to string, stored as JSON text. */
export type Labels = Record<string, string>

/** Whether the operator wants the stream monitored. */
export type DesiredState = 'up' | 'down'

/** A point in time given to the repository: a Date or milliseconds since the Unix epoch. */
export type Timestamp = Date | number

/** Run a stream on `count` agents that have distinct values of the agent label `label`. */
export interface Vantage {
  count: number
  label: string
}

/** One agent running a stream, with what that agent last reported. */
export interface StreamAssignment {
  agent_id: string
  /**
   * The stream's epoch when this assignment was made. Each assignment of a
   * stream has its own, and agent results count only with that epoch.
   */
  epoch: number
  /** The vantage label value this assignment covers, or '' for a single-agent stream. */
  slot: string
  /** Reason the scheduler made this assignment, such as `placed on least-loaded agent`. */
  reason: string
  assigned_at: string
  status: StreamStatusValue | null
  status_reason: string | null
  status_at: string | null
  last_probe_at: string | null
}

/** Stream settings and runtime state, shaped like the REST API JSON. Times are ISO 8601 strings. */
export interface Stream {
  id: string
  url: string
  desired_state: DesiredState
  /** The perform's probe settings; an optional setting left unset is absent. */
  probe: ProbeSettings
  labels: Labels
  /** Agent labels a stream needs; {} places it anywhere. */
  required_labels: Labels
  /** Load units the stream puts on an agent's capacity. */
  weight: number
  /** The only agent that may run the stream, or null. */
  pinned_agent_id: string | null
  vantage: Vantage | null
  /** Agent of the first assignment (by slot), or null; kept for clients of one agent per stream. */
  agent_id: string | null
  /**
   * Fencing counter of the stream's assignments: grows by one on every
   * change of any of them, and a new assignment takes the new value.
   */
  epoch: number
  /** When the first assignment was made, or null. */
  assigned_at: string | null
  assignments: StreamAssignment[]
  /** Status over all assignments: up, degraded (some vantage points fail) or down. */
  status: StreamStatusValue | null
  status_reason: string | null
  status_at: string | null
  last_probe_at: string | null
  created_at: string
  /** Last change of the settings (url, desired_state, probe, labels, scheduling fields). */
  updated_at: string
}

/** The probe settings that a stream may leave unset, so that the agent's defaults apply. */
export type OptionalProbeSetting = Exclude<keyof ProbeSettings, 'interval_s' | 'sample_s' | 'timeout_s'>

/** Probe settings to store; null clears an optional setting. */
export type ProbePatch = Partial<Pick<ProbeSettings, 'interval_s' | 'sample_s' | 'timeout_s'>> & {
  [K in OptionalProbeSetting]?: ProbeSettings[K] | null
}

export interface NewStream {
  id: string
  url: string
  /** Default 'up'. */
  desired_state?: DesiredState
  /** Defaults: interval_s 10, sample_s 5, timeout_s 10; the optional settings unset. */
  probe?: ProbePatch
  /** Default {}. */
  labels?: Labels
  /** Default {}. */
  required_labels?: Labels
  /** Default 1. */
  weight?: number
  /** Default null. */
  pinned_agent_id?: string | null
  /** Default null. */
  vantage?: Vantage | null
}

/**
 * Fields to change; absent fields keep their value. labels and
 * required_labels replace the whole object, and null clears
 * pinned_agent_id or vantage.
 */
export interface StreamPatch {
  url?: string
  desired_state?: DesiredState
  /** Fields to change; null clears an optional setting. */
  probe?: ProbePatch
  labels?: Labels
  required_labels?: Labels
  weight?: number
  pinned_agent_id?: string | null
  vantage?: Vantage | null
}

/** One stream's assignment changes, applied together under one new epoch. */
export interface AssignmentChange {
  streamId: string
  /** Slots whose assignments end. */
  remove: string[]
  /** Assignments to make; a slot may be removed and added again in one change. */
  add: Array<{ slot: string; agentId: string; reason: string }>
}

/** Result of changeAssignments for one change. */
export interface AssignmentResult {
  streamId: string
  /** The stream's new epoch, or undefined when the stream no longer exists. */
  epoch: number | undefined
}

/** An assignment listed for its agent, with the stream's weight. */
export interface AgentAssignment extends StreamAssignment {
  stream_id: string
  weight: number
}

export interface Agent {
  id: string
  name: string
  version: string
  protocol: number
  labels: Labels
  capacity: number
  connected: boolean
  /** True while an operator drains the agent: it takes no streams and gives its own away. */
  draining: boolean
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

/**
 * Condition for runtime updates sent by an agent: apply only to the
 * stream's assignment with this epoch (and agent, when given).
 */
export interface EpochFence {
  epoch?: number
  agentId?: string
}
