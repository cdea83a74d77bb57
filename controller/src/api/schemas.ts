import Type from 'typebox'

// Request and response schemas of the REST API. Fastify validates requests
// against them and serializes responses with them.

export const StreamIdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' }),
})

const Labels = Type.Record(
  Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._/-]+$' }),
  Type.String({ maxLength: 256 }),
)

export const DesiredState = Type.Union([Type.Literal('up'), Type.Literal('down')])

const ProbeInput = Type.Object(
  {
    interval_s: Type.Optional(Type.Integer({ minimum: 2, maximum: 3600 })),
    sample_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 60 })),
    timeout_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 120 })),
  },
  { additionalProperties: false },
)

export const StreamCreateBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 4096 }),
    desired_state: Type.Optional(DesiredState),
    probe: Type.Optional(ProbeInput),
    labels: Type.Optional(Labels),
  },
  { additionalProperties: false },
)

export const StreamUpdateBody = Type.Object(
  {
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    desired_state: Type.Optional(DesiredState),
    probe: Type.Optional(ProbeInput),
    labels: Type.Optional(Labels),
  },
  { additionalProperties: false },
)

const NullableString = Type.Union([Type.String(), Type.Null()])

export const StreamView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  desired_state: DesiredState,
  probe: Type.Object({ interval_s: Type.Number(), sample_s: Type.Number(), timeout_s: Type.Number() }),
  labels: Type.Record(Type.String(), Type.String()),
  agent_id: NullableString,
  epoch: Type.Number(),
  assigned_at: NullableString,
  /** Why an `up` stream has no agent, or null. */
  unassigned_reason: NullableString,
  status: NullableString,
  status_reason: NullableString,
  status_at: NullableString,
  last_probe_at: NullableString,
  created_at: Type.String(),
  updated_at: Type.String(),
})

export const StreamList = Type.Object({ streams: Type.Array(StreamView) })

export const AgentView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  version: Type.String(),
  labels: Type.Record(Type.String(), Type.String()),
  capacity: Type.Number(),
  connected: Type.Boolean(),
  last_seen_at: NullableString,
  connected_at: NullableString,
  remote_address: NullableString,
  streams: Type.Array(Type.String()),
})

export const AgentList = Type.Object({ agents: Type.Array(AgentView) })

/** A time as ISO 8601 text or as Unix seconds. */
const TimeParam = Type.String({ minLength: 1, maxLength: 40 })

export const MetricsQuery = Type.Object(
  {
    stream_id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' }),
    from: Type.Optional(TimeParam),
    to: Type.Optional(TimeParam),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
  },
  { additionalProperties: false },
)

export const MetricsPoint = Type.Object({
  ts: Type.String(),
  agent_id: Type.String(),
  bitrate: Type.Number(),
  frames: Type.Number(),
  width: Type.Number(),
  height: Type.Number(),
  fps: Type.Number(),
  bytes: Type.Number(),
  seconds: Type.Number(),
  keyframe_interval: Type.Number(),
  codecs: Type.String(),
  probe_duration_ms: Type.Number(),
})

export const MetricsSeries = Type.Object({
  stream_id: Type.String(),
  from: Type.String(),
  to: Type.String(),
  rows: Type.Array(MetricsPoint),
})

export const ErrorBody = Type.Object({
  statusCode: Type.Number(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
})
