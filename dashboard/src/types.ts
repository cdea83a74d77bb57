// Shapes of the REST API responses that the dashboard reads, as the
// controller's schemas in controller/src/api define them.

export type Role = 'admin' | 'operator' | 'viewer'
export type Status = 'up' | 'degraded' | 'down'

export interface User {
  id: string
  role: Role
  settings: { time_zone?: string; default_streams?: string[] }
  created_at: string
  updated_at: string
  last_login_at: string | null
}

export interface Assignment {
  agent_id: string
  epoch: number
  slot: string
  reason: string
  assigned_at: string
  status: string | null
  status_reason: string | null
  status_at: string | null
  last_probe_at: string | null
}

export interface Probe {
  interval_s: number
  sample_s: number
  timeout_s: number
}

export interface Stream {
  id: string
  url: string
  desired_state: 'up' | 'down'
  probe: Probe
  labels: Record<string, string>
  required_labels: Record<string, string>
  weight: number
  pinned_agent_id: string | null
  vantage: { count: number; label: string } | null
  agent_id: string | null
  epoch: number
  assigned_at: string | null
  assignments: Assignment[]
  unassigned_reason: string | null
  status: string | null
  status_reason: string | null
  status_at: string | null
  last_probe_at: string | null
  created_at: string
  updated_at: string
}

export interface Agent {
  id: string
  name: string
  version: string
  labels: Record<string, string>
  capacity: number
  load: number
  connected: boolean
  draining: boolean
  last_seen_at: string | null
  connected_at: string | null
  remote_address: string | null
  streams: string[]
}

export interface MetricsBucket {
  stream_id: string
  ts: string
  samples: number
  bitrate: number
  bitrate_min: number
  bitrate_max: number
  fps: number
  keyframe_interval: number
  width: number
  height: number
}

export interface AvRow {
  stream_id: string
  ts: string
  agent_id: string
  black_s: number
  freeze_s: number
  silence_s: number
  integrated_lufs: number | null
  true_peak_dbtp: number | null
  lra: number | null
  error: string
}

/** A stored screenshot that a status row names: the one closest to the change. */
export interface ScreenshotReference {
  /** Grab time, ISO 8601. */
  ts: string
  ts_ms: number
  url: string
}

export interface StatusRow {
  stream_id: string
  ts: string
  agent_id: string
  status: string
  reason: string
  /** Tail of the failed probe's output with credentials removed, or empty when the agent sent none. */
  error_output: string
  /** The stored screenshot closest to the change (within 5 minutes), or null. */
  screenshot: ScreenshotReference | null
}

export interface ViewerBucket {
  stream_id: string
  ts: string
  viewers: number
}

export interface ValueCount {
  value: string
  viewers: number
}

export interface PlatformStreams {
  stream_id: string
  platform: ValueCount[]
  os: ValueCount[]
  browser: ValueCount[]
  app: ValueCount[]
}

export interface GeoStreams {
  stream_id: string
  countries: { country: string; viewers: number; regions: { region: string; viewers: number }[] }[]
}

export interface Screenshot {
  ts: string
  ts_ms: number
  size: number
  url: string
}

export interface AgentToken {
  id: string
  name: string
  created_at: string
  last_used_at: string | null
  revoked_at: string | null
}

export interface AlertChannel {
  id: string
  type: string
  name: string
}

export interface AlertRule {
  id: string
  name: string
  enabled: boolean
  stream_ids: string[] | null
  labels: Record<string, string> | null
  statuses: string[]
  reason_pattern: string | null
  for_s: number
  channels: string[]
}

/** An alert from GET /api/query/alerts/v1. Its resolved_at is null while it is open. */
export interface Alert {
  id: number
  rule_id: string
  rule_name: string
  stream_id: string
  status: string
  reason: string
  started_at: string
  fired_at: string
  resolved_at: string | null
  resolution: string | null
}

/** Messages of the live feed, GET /api/live/v1/ws. */
export type LiveMessage =
  | { type: 'hello'; server_time: string; user_id: string }
  | { type: 'status'; stream_id: string; agent_id: string; status: Status; reason: string; at: string }
  | { type: 'agent'; agent_id: string; connected: boolean; at: string }
  | { type: 'viewers'; at: string; streams: { stream_id: string; viewers: number }[] }
  | { type: 'subscribed'; stream_ids: string[] | null }
  | { type: 'error'; message: string }
