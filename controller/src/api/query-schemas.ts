// Query string and response schemas of the /api/query routes.
import Type from 'typebox'
import { EVENT_TYPES } from '../beacons/schemas.ts'
import { MAX_INTERVAL_S, MIN_INTERVAL_S } from '../query/window.ts'

/** Most streams one query may name. */
export const MAX_QUERY_STREAMS = 100
/** Default and maximum row count of the raw-row queries. */
export const DEFAULT_ROW_LIMIT = 10_000
export const MAX_ROW_LIMIT = 100_000
/** Default and maximum number of values per column in the platform breakdown. */
export const DEFAULT_VALUE_LIMIT = 100
export const MAX_VALUE_LIMIT = 1000

const StreamIds = Type.Array(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' }), {
  minItems: 1,
  maxItems: MAX_QUERY_STREAMS,
  description: 'One or more stream ids: repeat the parameter or separate the ids with commas.',
})

const TimeParam = (description: string) =>
  Type.Optional(Type.String({ minLength: 1, maxLength: 40, description }))

const rangeProperties = {
  stream_id: StreamIds,
  from: TimeParam('Start of the range, included: ISO 8601 or Unix seconds. Default: one hour before `to`.'),
  to: TimeParam('End of the range, excluded: ISO 8601 or Unix seconds. Default: now.'),
}

const windowProperties = {
  ...rangeProperties,
  interval: Type.Optional(
    Type.Integer({
      minimum: MIN_INTERVAL_S,
      maximum: MAX_INTERVAL_S,
      description:
        'Bucket width in seconds; buckets start at multiples of it since the Unix epoch. ' +
        'Default: the smallest round width that gives at most 1000 buckets.',
    }),
  ),
}

const Limit = (fallback: number, maximum: number, description: string) =>
  Type.Optional(Type.Integer({ minimum: 1, maximum, description: `${description} Default ${fallback}.` }))

export const RangeQuery = Type.Object(rangeProperties, { additionalProperties: false })

export const WindowQuery = Type.Object(windowProperties, { additionalProperties: false })

export const MetricsQuery = Type.Object(
  {
    ...windowProperties,
    interval: Type.Optional(
      Type.Integer({
        minimum: MIN_INTERVAL_S,
        maximum: MAX_INTERVAL_S,
        description: 'Bucket width in seconds for per-bucket averages. Without it the raw probe rows are returned.',
      }),
    ),
    limit: Limit(DEFAULT_ROW_LIMIT, MAX_ROW_LIMIT, 'Most raw rows returned.'),
  },
  { additionalProperties: false },
)

export const PlatformQuery = Type.Object(
  { ...rangeProperties, limit: Limit(DEFAULT_VALUE_LIMIT, MAX_VALUE_LIMIT, 'Most values per column.') },
  { additionalProperties: false },
)

export const EventTypes = Type.Array(Type.Union(Object.values(EVENT_TYPES).map((type) => Type.Literal(type))), {
  minItems: 1,
  description: 'Only these event types: repeat the parameter or separate the types with commas. Default: all.',
})

export const EventsQuery = Type.Object(
  {
    ...windowProperties,
    type: Type.Optional(EventTypes),
    raw: Type.Optional(Type.Boolean({ description: 'Return the event rows instead of counts per bucket.' })),
    limit: Limit(DEFAULT_ROW_LIMIT, MAX_ROW_LIMIT, 'Most raw rows returned.'),
  },
  { additionalProperties: false },
)

export const StatusesQuery = Type.Object(
  { ...rangeProperties, limit: Limit(DEFAULT_ROW_LIMIT, MAX_ROW_LIMIT, 'Most rows returned.') },
  { additionalProperties: false },
)

// Responses. Every one starts with the window it covers.

const NullableString = Type.Union([Type.String(), Type.Null()])
const NullableNumber = Type.Union([Type.Number(), Type.Null()])

const windowFields = {
  stream_ids: Type.Array(Type.String()),
  from: Type.String(),
  to: Type.String(),
}
const bucketWindowFields = { ...windowFields, interval: Type.Integer({ description: 'Bucket width in seconds.' }) }
const rawWindowFields = {
  ...windowFields,
  interval: Type.Union([Type.Integer(), Type.Null()], { description: 'Bucket width in seconds; null for raw rows.' }),
}
const Truncated = Type.Optional(Type.Boolean({ description: 'More rows matched than `limit`.' }))

/** Returns the schema of a TR 101 290 first-priority count over the probe window, null when the agent did not read the MPEG-TS itself. */
function TsCount(counted: string) {
  return Type.Union([Type.Integer(), Type.Null()], { description: `${counted} (ETSI TR 101 290); null without MPEG-TS analysis` })
}

const MetricsRow = Type.Object({
  stream_id: Type.String(),
  ts: Type.String(),
  agent_id: Type.String(),
  bitrate: Type.Number({ description: 'bit/s' }),
  frames: Type.Number(),
  width: Type.Number(),
  height: Type.Number(),
  fps: Type.Number(),
  bytes: Type.Number(),
  seconds: Type.Number(),
  keyframe_interval: Type.Number({ description: 'frames between keyframes' }),
  codecs: Type.String(),
  probe_duration_ms: Type.Number(),
  ts_sync_loss: TsCount('sync losses'),
  ts_pat_error: TsCount('PAT errors'),
  ts_pmt_error: TsCount('PMT errors'),
  ts_cc_error: TsCount('continuity counter errors'),
  ts_pid_error: TsCount('PID errors'),
  ts_pcr: Type.Union([Type.Integer(), Type.Null()], { description: '1 when a programme PCR arrived; null without MPEG-TS analysis' }),
  ts_programs: Type.Union([Type.Array(Type.Any()), Type.Null()], {
    description: 'Programmes and their streams, as [{program_number, pmt_pid, pcr_pid, streams: [{pid, stream_type, kind, codec}]}]; null without MPEG-TS analysis',
  }),
})

const MetricsBucket = Type.Object({
  stream_id: Type.String(),
  ts: Type.String({ description: 'Bucket start.' }),
  samples: Type.Integer({ description: 'Probe rows in the bucket.' }),
  bitrate: Type.Number({ description: 'Average bit/s.' }),
  bitrate_min: Type.Number(),
  bitrate_max: Type.Number(),
  fps: Type.Number(),
  frames: Type.Number(),
  width: Type.Number(),
  height: Type.Number(),
  bytes: Type.Number(),
  seconds: Type.Number(),
  keyframe_interval: Type.Number(),
  probe_duration_ms: Type.Number(),
})

export const MetricsResponse = Type.Object({
  ...rawWindowFields,
  rows: Type.Optional(Type.Array(MetricsRow, { description: 'Without `interval`: probe rows in time order.' })),
  buckets: Type.Optional(Type.Array(MetricsBucket, { description: 'With `interval`: averages by stream, then time.' })),
  truncated: Truncated,
})

const ViewerBucket = Type.Object({
  stream_id: Type.String(),
  ts: Type.String({ description: 'Bucket start.' }),
  viewers: Type.Integer(),
})

export const UniqueResponse = Type.Object({
  ...bucketWindowFields,
  streams: Type.Array(Type.Object({ stream_id: Type.String(), unique_viewers: Type.Integer() })),
  buckets: Type.Array(ViewerBucket),
})

export const ConcurrentResponse = Type.Object({
  ...bucketWindowFields,
  streams: Type.Array(
    Type.Object({ stream_id: Type.String(), peak_viewers: Type.Integer(), peak_ts: NullableString }),
  ),
  buckets: Type.Array(ViewerBucket),
})

const ValueCounts = Type.Array(Type.Object({ value: Type.String(), viewers: Type.Integer() }))

export const PlatformResponse = Type.Object({
  ...windowFields,
  streams: Type.Array(
    Type.Object({
      stream_id: Type.String(),
      platform: ValueCounts,
      os: ValueCounts,
      browser: ValueCounts,
      app: ValueCounts,
    }),
  ),
})

export const GeoResponse = Type.Object({
  ...windowFields,
  streams: Type.Array(
    Type.Object({
      stream_id: Type.String(),
      countries: Type.Array(
        Type.Object({
          country: Type.String({ description: 'ISO 3166-1 code; empty when unknown.' }),
          viewers: Type.Integer(),
          regions: Type.Array(Type.Object({ region: Type.String(), viewers: Type.Integer() })),
        }),
      ),
    }),
  ),
})

const LastStatus = Type.Union([
  Type.Object({ status: Type.String(), reason: Type.String(), ts: Type.String() }),
  Type.Null(),
])

export const SummaryResponse = Type.Object({
  ...bucketWindowFields,
  streams: Type.Array(
    Type.Object({
      stream_id: Type.String(),
      unique_viewers: Type.Integer(),
      peak_concurrent: Type.Integer({ description: 'Most distinct viewers in one bucket.' }),
      peak_ts: NullableString,
      avg_bitrate: NullableNumber,
      probes: Type.Integer({ description: 'Metrics rows behind avg_bitrate.' }),
      uptime_share: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], {
        description: 'up_seconds / known_seconds; null when no status is known.',
      }),
      up_seconds: Type.Number(),
      known_seconds: Type.Number({ description: 'Seconds of the range with a known status.' }),
      last_status: LastStatus,
    }),
  ),
})

const EventBucket = Type.Object({
  stream_id: Type.String(),
  ts: Type.String({ description: 'Bucket start.' }),
  type: Type.String(),
  events: Type.Integer(),
  viewers: Type.Integer({ description: 'Distinct viewers that sent this type in the bucket.' }),
})

const EventRow = Type.Object({
  stream_id: Type.String(),
  ts: Type.String(),
  unique_id: Type.String(),
  type: Type.String(),
  code: Type.String(),
  value: Type.Number(),
  platform: Type.String(),
  app: Type.String(),
  version: Type.String(),
  os: Type.String(),
  browser: Type.String(),
  country: Type.String(),
  region: Type.String(),
  host: Type.String(),
  user_agent: Type.String(),
})

export const EventsResponse = Type.Object({
  ...rawWindowFields,
  buckets: Type.Optional(Type.Array(EventBucket, { description: 'Without `raw`: counts by stream, bucket and type.' })),
  rows: Type.Optional(Type.Array(EventRow, { description: 'With `raw=true`: event rows in time order.' })),
  truncated: Truncated,
})

/** A stored screenshot, fetched with GET `url`. */
export const ScreenshotReference = Type.Object({
  ts: Type.String({ description: 'Grab time, ISO 8601.' }),
  ts_ms: Type.Number(),
  url: Type.String(),
})

export const StatusesResponse = Type.Object({
  ...windowFields,
  rows: Type.Array(
    Type.Object({
      stream_id: Type.String(),
      ts: Type.String(),
      agent_id: Type.String(),
      epoch: Type.Integer(),
      status: Type.String(),
      reason: Type.String(),
      error_output: Type.String({
        description: "Tail of the failed probe's ffprobe stderr, or the player page's errors, with credentials removed; empty when the agent sent none.",
      }),
      screenshot: Type.Union([ScreenshotReference, Type.Null()], {
        description: 'The stored screenshot closest in time to the change (within 5 minutes), or null.',
      }),
    }),
  ),
  truncated: Type.Boolean({ description: 'More rows matched than `limit`.' }),
})

export const PageChecksQuery = Type.Object(
  { ...rangeProperties, limit: Limit(DEFAULT_ROW_LIMIT, MAX_ROW_LIMIT, 'Most rows returned.') },
  { additionalProperties: false },
)

const PageError = Type.Object({
  kind: Type.String({ description: 'console, request, exception, load or no_video.' }),
  text: Type.String(),
})

export const PageChecksResponse = Type.Object({
  ...windowFields,
  rows: Type.Array(
    Type.Object({
      stream_id: Type.String(),
      ts: Type.String({ description: 'End of the check.' }),
      agent_id: Type.String(),
      epoch: Type.Integer(),
      ok: Type.Boolean({ description: 'The page loaded and its video played.' }),
      playing: Type.Boolean({ description: "A <video> element's currentTime advanced." }),
      load_ms: NullableNumber,
      time_to_play_ms: NullableNumber,
      errors: Type.Array(PageError),
    }),
  ),
  truncated: Type.Boolean({ description: 'More rows matched than `limit`.' }),
})
