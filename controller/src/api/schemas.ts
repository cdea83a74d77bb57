import Type from 'typebox'

// Request and response schemas of the REST API. Fastify validates requests
// against them and serializes responses with them.

export const StreamIdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' }),
})

const AgentId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' })

export const AgentIdParams = Type.Object({ id: AgentId })

const LabelKey = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._/-]+$' })

// A record key schema becomes a patternProperties pattern, which drops minLength
// and maxLength, so the pattern carries the length; other keys are rejected.
const Labels = Type.Record(Type.String({ pattern: '^[A-Za-z0-9._/-]{1,64}$' }), Type.String({ maxLength: 256 }), {
  additionalProperties: false,
})

/** Load units a stream puts on an agent, against the agent's capacity. */
const Weight = Type.Integer({ minimum: 1, maximum: 10000 })

const VantageInput = Type.Object(
  {
    count: Type.Integer({ minimum: 1, maximum: 16 }),
    label: LabelKey,
  },
  { additionalProperties: false },
)

// The non-null branch comes first so that a 400 names the field inside it. With
// coerceTypes, an empty pinned_agent_id becomes null, which clears the pin.
const SchedulingInput = {
  required_labels: Type.Optional(Labels),
  weight: Type.Optional(Weight),
  pinned_agent_id: Type.Optional(Type.Union([AgentId, Type.Null()])),
  vantage: Type.Optional(Type.Union([VantageInput, Type.Null()])),
}

export const DesiredState = Type.Union([Type.Literal('up'), Type.Literal('down')])

/** Maximum check interval, in seconds (one day). */
export const MAX_CHECK_INTERVAL_S = 86_400
/** Maximum min_bitrate, in bit/s (100 Gbit/s). */
export const MAX_MIN_BITRATE = 100_000_000_000

/**
 * The optional check settings, each one also sent in the perform's `probe`.
 * A stream without one gets the agent's default. Each non-null branch comes
 * first so that a 400 names the field, and null clears the setting on update.
 */
const CheckSettings = {
  av_interval_s: Type.Integer({ minimum: 0, maximum: MAX_CHECK_INTERVAL_S, description: 'Seconds between picture and sound checks; 0 turns them off.' }),
  av_sample_s: Type.Integer({ minimum: 1, maximum: 120, description: 'Seconds of media each picture and sound check decodes.' }),
  screenshot_interval_s: Type.Integer({ minimum: 0, maximum: MAX_CHECK_INTERVAL_S, description: 'Seconds between screenshots; 0 turns them off.' }),
  page_url: Type.String({ minLength: 1, maxLength: 4096, description: 'http(s) URL of a web player page that the agent loads in headless Chromium.' }),
  page_interval_s: Type.Integer({ minimum: 0, maximum: MAX_CHECK_INTERVAL_S, description: 'Seconds between player page checks; 0 turns them off.' }),
  min_bitrate: Type.Integer({ minimum: 1, maximum: MAX_MIN_BITRATE, description: 'Bit/s below which the stream is degraded as `low bitrate`.' }),
}

type CheckSettingName = keyof typeof CheckSettings

function nullableSettings() {
  const entries = Object.entries(CheckSettings).map(([name, schema]) => [name, Type.Optional(Type.Union([schema, Type.Null()]))])
  return Object.fromEntries(entries) as { [K in CheckSettingName]: Type.TOptional<Type.TUnion<[(typeof CheckSettings)[K], Type.TNull]>> }
}

function optionalSettings() {
  const entries = Object.entries(CheckSettings).map(([name, schema]) => [name, Type.Optional(schema)])
  return Object.fromEntries(entries) as { [K in CheckSettingName]: Type.TOptional<(typeof CheckSettings)[K]> }
}

const ProbeInput = Type.Object(
  {
    interval_s: Type.Optional(Type.Integer({ minimum: 2, maximum: 3600 })),
    sample_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 60 })),
    timeout_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 120 })),
    ...nullableSettings(),
  },
  { additionalProperties: false },
)

export const StreamCreateBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 4096 }),
    desired_state: Type.Optional(DesiredState),
    probe: Type.Optional(ProbeInput),
    labels: Type.Optional(Labels),
    ...SchedulingInput,
  },
  { additionalProperties: false },
)

export const StreamUpdateBody = Type.Object(
  {
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    desired_state: Type.Optional(DesiredState),
    probe: Type.Optional(ProbeInput),
    labels: Type.Optional(Labels),
    ...SchedulingInput,
  },
  { additionalProperties: false },
)

const NullableString = Type.Union([Type.String(), Type.Null()])

/** Fields of the latest report from an assignment's agent. */
const AssignmentState = {
  status: NullableString,
  status_reason: NullableString,
  status_at: NullableString,
  last_probe_at: NullableString,
}

export const AssignmentView = Type.Object({
  agent_id: Type.String(),
  epoch: Type.Number(),
  /** The vantage label value, or '' for a single-agent stream. */
  slot: Type.String(),
  reason: Type.String(),
  assigned_at: Type.String(),
  ...AssignmentState,
})

export const StreamView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  desired_state: DesiredState,
  /** Probe and check settings; an optional setting that is unset is left out. */
  probe: Type.Object({ interval_s: Type.Number(), sample_s: Type.Number(), timeout_s: Type.Number(), ...optionalSettings() }),
  labels: Type.Record(Type.String(), Type.String()),
  required_labels: Type.Record(Type.String(), Type.String()),
  weight: Type.Number(),
  pinned_agent_id: NullableString,
  vantage: Type.Union([Type.Object({ count: Type.Number(), label: Type.String() }), Type.Null()]),
  /** Agent of the first assignment, or null. */
  agent_id: NullableString,
  epoch: Type.Number(),
  assigned_at: NullableString,
  assignments: Type.Array(AssignmentView),
  /** Reason an `up` stream has fewer agents than it needs, or null. */
  unassigned_reason: NullableString,
  status: NullableString,
  status_reason: NullableString,
  status_at: NullableString,
  last_probe_at: NullableString,
  /**
   * The stored screenshot closest to status_at (within 5 minutes), or null.
   * Only GET of one stream gives it, so that a list reads no screenshot folders.
   */
  status_screenshot: Type.Optional(Type.Union([Type.Object({ ts: Type.String(), ts_ms: Type.Number(), url: Type.String() }), Type.Null()])),
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
  /** Sum of the weights of the agent's assignments. */
  load: Type.Number(),
  connected: Type.Boolean(),
  draining: Type.Boolean(),
  last_seen_at: NullableString,
  connected_at: NullableString,
  remote_address: NullableString,
  streams: Type.Array(Type.String()),
})

export const AgentList = Type.Object({ agents: Type.Array(AgentView) })

export const AgentAssignmentView = Type.Object({
  stream_id: Type.String(),
  slot: Type.String(),
  epoch: Type.Number(),
  weight: Type.Number(),
  reason: Type.String(),
  assigned_at: Type.String(),
  ...AssignmentState,
})

export const AgentDetail = Type.Object({
  ...AgentView.properties,
  assignments: Type.Array(AgentAssignmentView),
})

export const ErrorBody = Type.Object({
  statusCode: Type.Number(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
})
