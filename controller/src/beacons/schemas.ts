// Request schemas of the player beacon routes. A request body is a JSON array
// of 1 to MAX_ITEMS_PER_REQUEST items; one invalid item rejects the whole array.
import Type from 'typebox'

export const MAX_ITEMS_PER_REQUEST = 1000

/** Player event types accepted by the events route. */
export const EVENT_TYPES = {
  play: 'play',
  pause: 'pause',
  seek: 'seek',
  rebufferStart: 'rebuffer_start',
  rebufferEnd: 'rebuffer_end',
  /** Carries `code`, the player's error code. */
  error: 'error',
  /** Carries `value`, the new bitrate in bit/s. */
  bitrateSwitch: 'bitrate_switch',
  heartbeat: 'heartbeat',
} as const

export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES]

/** 2000-01-01T00:00:00Z: older event times are rejected as a broken player clock. */
const MIN_EVENT_TS_MS = 946_684_800_000
/** 2106-02-07: the last second a ClickHouse DateTime column can hold. */
const MAX_EVENT_TS_MS = 4_294_967_294_999

const viewerProperties = {
  stream_id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' }),
  /** The viewer's or playback session's id, chosen by the player. */
  unique_id: Type.String({ minLength: 1, maxLength: 128 }),
  app: Type.String({ minLength: 1, maxLength: 64 }),
  version: Type.String({ minLength: 1, maxLength: 64 }),
  /** The host the player serves the stream from. */
  host: Type.String({ minLength: 1, maxLength: 253 }),
  /** Overrides the platform found in the User-Agent, such as `android-tv`. */
  platform: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
}

export const Beacon = Type.Object(viewerProperties, { additionalProperties: false })

export const BeaconBatch = Type.Array(Beacon, { minItems: 1, maxItems: MAX_ITEMS_PER_REQUEST })

export const PlayerEvent = Type.Object(
  {
    ...viewerProperties,
    type: Type.Union(Object.values(EVENT_TYPES).map((type) => Type.Literal(type))),
    /** Required for `error`. */
    code: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    /** Required for `bitrate_switch` (bit/s); other types may send a measure of their own. */
    value: Type.Optional(Type.Number({ minimum: 0 })),
    /**
     * Event time in Unix milliseconds, from 24 h before to 10 min after the
     * controller's clock (checked in rows.ts); default: the receive time.
     */
    ts: Type.Optional(Type.Integer({ minimum: MIN_EVENT_TS_MS, maximum: MAX_EVENT_TS_MS })),
  },
  { additionalProperties: false },
)

export const PlayerEventBatch = Type.Array(PlayerEvent, { minItems: 1, maxItems: MAX_ITEMS_PER_REQUEST })

export const BatchAccepted = Type.Object({
  /** Items buffered for storage; they reach ClickHouse within the writer's flush interval. */
  accepted: Type.Integer(),
})

export type Beacon = Type.Static<typeof Beacon>
export type PlayerEvent = Type.Static<typeof PlayerEvent>
