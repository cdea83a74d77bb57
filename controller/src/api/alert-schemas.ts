// Request and response schemas of the alert routes under /api/config/alerts
// and /api/query/alerts. Channel configs are checked per type in
// ../alerts/channels.ts, so here they are any object.
import Type from 'typebox'
import { ALERT_STATUSES, CHANNEL_TYPES } from '../alerts/types.ts'

/** Most alerts one query returns. */
export const MAX_ALERT_LIMIT = 1000
export const DEFAULT_ALERT_LIMIT = 100
/** Span of an alert query without `from`: one day. */
export const DEFAULT_ALERT_SPAN_MS = 86_400_000

const ObjectId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' })
const NullableString = Type.Union([Type.String(), Type.Null()])
const AnyObject = Type.Object({}, { additionalProperties: true })

export const IdParams = Type.Object({ id: ObjectId })
export const AlertIdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) })

const Name = Type.String({ maxLength: 256 })
const ChannelTypeField = Type.Enum([...CHANNEL_TYPES])

export const ChannelCreateBody = Type.Object(
  { type: ChannelTypeField, name: Type.Optional(Name), config: AnyObject },
  { additionalProperties: false },
)

export const ChannelUpdateBody = Type.Object(
  { name: Type.Optional(Name), config: Type.Optional(AnyObject) },
  { additionalProperties: false },
)

export const ChannelView = Type.Object({
  id: Type.String(),
  type: ChannelTypeField,
  name: Type.String(),
  /** Secret fields are masked. */
  config: AnyObject,
  created_at: Type.String(),
  updated_at: Type.String(),
})

export const ChannelList = Type.Object({ channels: Type.Array(ChannelView) })

export const ChannelTestResult = Type.Object({
  id: Type.String(),
  ok: Type.Boolean(),
  http_status: Type.Union([Type.Integer(), Type.Null()]),
  response: NullableString,
})

const StreamIds = Type.Array(ObjectId, { minItems: 1, maxItems: 1000, uniqueItems: true })
const LabelSelector = Type.Record(
  Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._/-]+$' }),
  Type.String({ maxLength: 256 }),
  { minProperties: 1 },
)
const Statuses = Type.Array(Type.Enum([...ALERT_STATUSES]), { minItems: 1, maxItems: 2, uniqueItems: true })
const ReasonPattern = Type.String({ minLength: 1, maxLength: 256 })
/** Up to one day. */
const ForSeconds = Type.Integer({ minimum: 0, maximum: 86_400 })
const ChannelIds = Type.Array(ObjectId, { minItems: 1, maxItems: 20, uniqueItems: true })

export const RuleCreateBody = Type.Object(
  {
    name: Type.Optional(Name),
    enabled: Type.Optional(Type.Boolean()),
    stream_ids: Type.Optional(StreamIds),
    labels: Type.Optional(LabelSelector),
    statuses: Type.Optional(Statuses),
    reason_pattern: Type.Optional(ReasonPattern),
    for_s: Type.Optional(ForSeconds),
    channels: ChannelIds,
  },
  { additionalProperties: false },
)

/** Fields left out keep their value; null clears stream_ids, labels or reason_pattern. */
export const RuleUpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    enabled: Type.Optional(Type.Boolean()),
    stream_ids: Type.Optional(Type.Union([StreamIds, Type.Null()])),
    labels: Type.Optional(Type.Union([LabelSelector, Type.Null()])),
    statuses: Type.Optional(Statuses),
    reason_pattern: Type.Optional(Type.Union([ReasonPattern, Type.Null()])),
    for_s: Type.Optional(ForSeconds),
    channels: Type.Optional(ChannelIds),
  },
  { additionalProperties: false },
)

export const RuleView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  enabled: Type.Boolean(),
  stream_ids: Type.Union([Type.Array(Type.String()), Type.Null()]),
  labels: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()]),
  statuses: Type.Array(Type.String()),
  reason_pattern: NullableString,
  for_s: Type.Integer(),
  channels: Type.Array(Type.String()),
  created_at: Type.String(),
  updated_at: Type.String(),
})

export const RuleList = Type.Object({ rules: Type.Array(RuleView) })

export const DeletedView = Type.Object({ id: Type.String(), deleted: Type.Boolean() })

const DeliveryView = Type.Object({
  id: Type.Integer(),
  channel_id: Type.String(),
  event: Type.String(),
  attempt: Type.Integer(),
  outcome: Type.String(),
  http_status: Type.Union([Type.Integer(), Type.Null()]),
  response: NullableString,
  error: NullableString,
  at: Type.String(),
})

export const AlertView = Type.Object({
  id: Type.Integer(),
  rule_id: Type.String(),
  rule_name: Type.String(),
  stream_id: Type.String(),
  status: Type.String(),
  reason: Type.String(),
  started_at: Type.String(),
  fired_at: Type.String(),
  resolved_at: NullableString,
  resolution: NullableString,
  deliveries: Type.Array(DeliveryView),
})

const TimeParam = (description: string) =>
  Type.Optional(Type.String({ minLength: 1, maxLength: 40, description }))

export const AlertsQuery = Type.Object(
  {
    stream_id: Type.Optional(
      Type.Array(ObjectId, {
        minItems: 1,
        maxItems: 100,
        description:
          'Stream ids: repeat the parameter or separate the ids with commas. Default: every stream.',
      }),
    ),
    rule_id: Type.Optional(ObjectId),
    from: TimeParam('Start of the range: ISO 8601 or Unix seconds. Default: one day before `to`.'),
    to: TimeParam('End of the range, excluded: ISO 8601 or Unix seconds. Default: now.'),
    state: Type.Optional(
      Type.Enum(['open', 'resolved'], { description: 'Only open or only resolved alerts.' }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_ALERT_LIMIT,
        description: `Most alerts returned. Default ${DEFAULT_ALERT_LIMIT}.`,
      }),
    ),
  },
  { additionalProperties: false },
)

export const AlertsResponse = Type.Object({
  from: Type.String(),
  to: Type.String(),
  alerts: Type.Array(AlertView),
  /** True when more alerts matched than `limit`. */
  truncated: Type.Boolean(),
})
