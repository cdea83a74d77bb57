// Messages of the live feed, GET /api/live/v1/ws. The controller sends JSON
// text frames of the server message types below, and a client may send a
// `subscribe` message. Times are ISO 8601 strings in UTC, such as
// 2025-01-31T12:00:00.000Z.
import Type from 'typebox'
import { StreamStatusValue } from '@monit/protocol'

/** Stream ids a subscribe message may list. */
export const MAX_SUBSCRIBED_STREAMS = 1000

const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' })
const Time = Type.String({ description: 'ISO 8601 time in UTC' })

/** First message on every connection. */
export const LiveHello = Type.Object({
  type: Type.Literal('hello'),
  server_time: Time,
  user_id: Type.String(),
  /** Seconds between two viewers messages. */
  viewers_interval_s: Type.Number(),
  /** Seconds a heatmap beacon keeps its viewer counted. */
  viewer_window_s: Type.Number(),
})

/** A status that an agent reported for a stream it runs. */
export const LiveStatus = Type.Object({
  type: Type.Literal('status'),
  stream_id: Id,
  agent_id: Id,
  status: StreamStatusValue,
  reason: Type.String(),
  /** When the agent saw the status. */
  at: Time,
  /** Tail of the failed probe's stderr or the player page's errors, when the agent sent one. */
  error_output: Type.Optional(Type.String()),
  /** Route of the stored screenshot closest to the change, when one lies within 5 minutes of it. */
  screenshot_url: Type.Optional(Type.String()),
})

/** An agent connected to or disconnected from this controller. */
export const LiveAgent = Type.Object({
  type: Type.Literal('agent'),
  agent_id: Id,
  connected: Type.Boolean(),
  at: Time,
})

export const StreamViewers = Type.Object({
  stream_id: Id,
  /** Distinct `unique_id` values among the stream's heatmap beacons in the window. */
  viewers: Type.Integer({ minimum: 0 }),
})

/**
 * Viewer counts of the streams that have viewers, plus a count of 0 once
 * for each stream that had viewers in the previous message and has none now.
 */
export const LiveViewers = Type.Object({
  type: Type.Literal('viewers'),
  at: Time,
  window_s: Type.Number(),
  streams: Type.Array(StreamViewers),
})

/** Confirms a subscribe message; null means every stream. */
export const LiveSubscribed = Type.Object({
  type: Type.Literal('subscribed'),
  stream_ids: Type.Union([Type.Array(Id), Type.Null()]),
})

/** The reply to an invalid client message. */
export const LiveError = Type.Object({
  type: Type.Literal('error'),
  message: Type.String(),
})

/**
 * Limits the status and viewers messages to the listed streams, or with
 * null to every stream (the default). Agent messages are always sent.
 */
export const LiveSubscribe = Type.Object(
  {
    type: Type.Literal('subscribe'),
    stream_ids: Type.Union([Type.Array(Id, { maxItems: MAX_SUBSCRIBED_STREAMS }), Type.Null()]),
  },
  { additionalProperties: false },
)

export const liveServerMessageSchemas = {
  hello: LiveHello,
  status: LiveStatus,
  agent: LiveAgent,
  viewers: LiveViewers,
  subscribed: LiveSubscribed,
  error: LiveError,
} as const

export type LiveHello = Type.Static<typeof LiveHello>
export type LiveStatus = Type.Static<typeof LiveStatus>
export type LiveAgent = Type.Static<typeof LiveAgent>
export type StreamViewers = Type.Static<typeof StreamViewers>
export type LiveViewers = Type.Static<typeof LiveViewers>
export type LiveSubscribed = Type.Static<typeof LiveSubscribed>
export type LiveError = Type.Static<typeof LiveError>
export type LiveSubscribe = Type.Static<typeof LiveSubscribe>

/** Messages the controller sends on the live feed. */
export type LiveServerMessage = LiveHello | LiveStatus | LiveAgent | LiveViewers | LiveSubscribed | LiveError
