import Type from 'typebox'

/**
 * Protocol version spoken by this build. A peer with another version is
 * refused at hello with an `incompatible_version` error frame.
 */
export const PROTOCOL_VERSION = 1

/** Largest WebSocket frame either side accepts, in bytes. */
export const MAX_FRAME_BYTES = 1024 * 1024

/** Stream URL schemes that monit probes; the media tools get the same list. */
export const STREAM_SCHEMES = ['http', 'https', 'rtmp', 'rtmps', 'srt', 'udp', 'rtp'] as const

const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' })
const Labels = Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 256 }))

export const StreamStatusValue = Type.Union([
  Type.Literal('up'),
  Type.Literal('degraded'),
  Type.Literal('down'),
])

export const ProbeSettings = Type.Object({
  interval_s: Type.Number({ minimum: 1, maximum: 3600 }),
  sample_s: Type.Number({ minimum: 1, maximum: 60 }),
  timeout_s: Type.Number({ minimum: 1, maximum: 120 }),
})

export const RunningStream = Type.Object({
  stream_id: Id,
  epoch: Type.Integer({ minimum: 0 }),
})

export const Hello = Type.Object({
  type: Type.Literal('hello'),
  protocol: Type.Integer({ minimum: 0 }),
  agent_id: Id,
  name: Type.String({ maxLength: 256 }),
  version: Type.String({ maxLength: 64 }),
  labels: Labels,
  capacity: Type.Integer({ minimum: 0, maximum: 100000 }),
  streams: Type.Array(RunningStream, { maxItems: 100000 }),
})

export const Welcome = Type.Object({
  type: Type.Literal('welcome'),
  protocol: Type.Integer(),
  controller_version: Type.String(),
  heartbeat_interval_s: Type.Number({ minimum: 1 }),
})

export const Perform = Type.Object({
  type: Type.Literal('perform'),
  stream_id: Id,
  url: Type.String({ minLength: 1, maxLength: 4096 }),
  epoch: Type.Integer({ minimum: 0 }),
  probe: ProbeSettings,
})

export const Revoke = Type.Object({
  type: Type.Literal('revoke'),
  stream_id: Id,
  epoch: Type.Integer({ minimum: 0 }),
})

export const MetricsRow = Type.Object({
  stream_id: Id,
  epoch: Type.Integer({ minimum: 0 }),
  /** Probe end time, milliseconds since the Unix epoch. */
  ts_ms: Type.Integer({ minimum: 0 }),
  bitrate: Type.Number({ minimum: 0 }),
  frames: Type.Integer({ minimum: 0 }),
  width: Type.Integer({ minimum: 0 }),
  height: Type.Integer({ minimum: 0 }),
  fps: Type.Number({ minimum: 0 }),
  bytes: Type.Integer({ minimum: 0 }),
  seconds: Type.Number({ minimum: 0 }),
  keyframe_interval: Type.Number({ minimum: 0 }),
  codecs: Type.String({ maxLength: 256 }),
  probe_duration_ms: Type.Integer({ minimum: 0 }),
})

export const Metrics = Type.Object({
  type: Type.Literal('metrics'),
  batch_id: Type.String({ minLength: 8, maxLength: 128 }),
  rows: Type.Array(MetricsRow, { minItems: 1, maxItems: 5000 }),
})

export const Status = Type.Object({
  type: Type.Literal('status'),
  stream_id: Id,
  epoch: Type.Integer({ minimum: 0 }),
  status: StreamStatusValue,
  reason: Type.String({ maxLength: 2048 }),
  ts_ms: Type.Integer({ minimum: 0 }),
})

export const Heartbeat = Type.Object({
  type: Type.Literal('heartbeat'),
  ts_ms: Type.Integer({ minimum: 0 }),
})

export const Ack = Type.Object({
  type: Type.Literal('ack'),
  batch_id: Type.String({ minLength: 1, maxLength: 128 }),
})

export const ErrorCode = Type.Union([
  Type.Literal('invalid_json'),
  Type.Literal('invalid_message'),
  Type.Literal('unknown_type'),
  Type.Literal('frame_too_large'),
  Type.Literal('incompatible_version'),
  Type.Literal('unauthorized'),
  Type.Literal('not_ready'),
  Type.Literal('internal'),
])

export const ErrorFrame = Type.Object({
  type: Type.Literal('error'),
  code: ErrorCode,
  message: Type.String(),
  /** Batch whose rows were rejected, so the sender can drop or resend it. */
  batch_id: Type.Optional(Type.String()),
})

export type ProbeSettings = Type.Static<typeof ProbeSettings>
export type StreamStatusValue = Type.Static<typeof StreamStatusValue>
export type Hello = Type.Static<typeof Hello>
export type Welcome = Type.Static<typeof Welcome>
export type Perform = Type.Static<typeof Perform>
export type Revoke = Type.Static<typeof Revoke>
export type MetricsRow = Type.Static<typeof MetricsRow>
export type Metrics = Type.Static<typeof Metrics>
export type Status = Type.Static<typeof Status>
export type Heartbeat = Type.Static<typeof Heartbeat>
export type Ack = Type.Static<typeof Ack>
export type ErrorCode = Type.Static<typeof ErrorCode>
export type ErrorFrame = Type.Static<typeof ErrorFrame>

/** Messages an agent sends to the controller. */
export type AgentMessage = Hello | Metrics | Status | Heartbeat | ErrorFrame
/** Messages the controller sends to an agent. */
export type ControllerMessage = Welcome | Perform | Revoke | Ack | Heartbeat | ErrorFrame

export const agentMessageSchemas = {
  hello: Hello,
  metrics: Metrics,
  status: Status,
  heartbeat: Heartbeat,
  error: ErrorFrame,
} as const

export const controllerMessageSchemas = {
  welcome: Welcome,
  perform: Perform,
  revoke: Revoke,
  ack: Ack,
  heartbeat: Heartbeat,
  error: ErrorFrame,
} as const
