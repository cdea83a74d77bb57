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

/** Largest error output a status message carries, in characters (the tail is kept). */
export const MAX_ERROR_OUTPUT_CHARS = 2048

export const StreamStatusValue = Type.Union([
  Type.Literal('up'),
  Type.Literal('degraded'),
  Type.Literal('down'),
])

export const ProbeSettings = Type.Object({
  interval_s: Type.Number({ minimum: 1, maximum: 3600 }),
  sample_s: Type.Number({ minimum: 1, maximum: 60 }),
  timeout_s: Type.Number({ minimum: 1, maximum: 120 }),
  // The fields below are optional so that performs of older controllers stay
  // valid; an agent uses its own defaults for the ones left out.
  /** Seconds between picture and sound checks; 0 turns them off. */
  av_interval_s: Type.Optional(Type.Number({ minimum: 0, maximum: 86400 })),
  /** Seconds of media each picture and sound check decodes. */
  av_sample_s: Type.Optional(Type.Number({ minimum: 1, maximum: 120 })),
  /** Seconds between screenshots; 0 turns them off. */
  screenshot_interval_s: Type.Optional(Type.Number({ minimum: 0, maximum: 86400 })),
  /** Web player page that the agent loads in headless Chromium; no page check without it. */
  page_url: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, pattern: '^https?://' })),
  /** Seconds between page checks; 0 turns them off. */
  page_interval_s: Type.Optional(Type.Number({ minimum: 0, maximum: 86400 })),
  /** Bit/s below which the stream is degraded as `low bitrate`; no floor without it. */
  min_bitrate: Type.Optional(Type.Number({ minimum: 0, maximum: 100_000_000_000 })),
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
  /** True when the controller acknowledges statuses that carry a status_id; older controllers leave it out. */
  status_acks: Type.Optional(Type.Boolean()),
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

const TsCount = Type.Integer({ minimum: 0 })

/** One elementary stream that a PMT lists. */
export const TsStream = Type.Object({
  pid: Type.Integer({ minimum: 0, maximum: 0x1fff }),
  stream_type: Type.Integer({ minimum: 0, maximum: 255 }),
  /** video, audio, subtitle, scte35, data or unknown; only video and audio count for stream health. */
  kind: Type.String({ maxLength: 16 }),
  /** FFmpeg's codec name where it has one, such as h264, aac or scte_35. */
  codec: Type.String({ maxLength: 32 }),
})

/** One programme of the PAT, with the streams of its PMT (none when the PMT lists none or has not arrived). */
export const TsProgram = Type.Object({
  program_number: Type.Integer({ minimum: 0, maximum: 0xffff }),
  pmt_pid: Type.Integer({ minimum: 0, maximum: 0x1fff }),
  /** PCR_PID of the PMT; null without a PMT or when it gives 0x1FFF. */
  pcr_pid: Type.Union([Type.Integer({ minimum: 0, maximum: 0x1fff }), Type.Null()]),
  streams: Type.Array(TsStream, { maxItems: 32 }),
})

/**
 * MPEG-TS analysis of the bytes a probe received: the first-priority error
 * counts of ETSI TR 101 290 (5.2.1) over the probe's window, and the tables.
 */
export const TsSummary = Type.Object({
  sync_loss: TsCount,
  /** PAT missing for more than 0.5 s, or another table on PID 0. */
  pat_error: TsCount,
  /** A PMT missing for more than 0.5 s. */
  pmt_error: TsCount,
  continuity_count_error: TsCount,
  /** An audio or video PID without packets for longer than the PID timeout. */
  pid_error: TsCount,
  /** Some programme's PCR_PID carried a PCR in the window. */
  pcr: Type.Boolean(),
  programs: Type.Array(TsProgram, { maxItems: 32 }),
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
  /** Present when the agent analysed the stream's MPEG-TS itself; older agents leave it out. */
  ts: Type.Optional(TsSummary),
})

export const Metrics = Type.Object({
  type: Type.Literal('metrics'),
  batch_id: Type.String({ minLength: 8, maxLength: 128 }),
  rows: Type.Array(MetricsRow, { minItems: 1, maxItems: 5000 }),
  /**
   * True when the agent sent the batch before (no ack in time, or found in
   * its spool at start), so that it may be stored already. Older agents leave it out.
   */
  resent: Type.Optional(Type.Boolean()),
})

export const Status = Type.Object({
  type: Type.Literal('status'),
  stream_id: Id,
  epoch: Type.Integer({ minimum: 0 }),
  status: StreamStatusValue,
  reason: Type.String({ maxLength: 2048 }),
  ts_ms: Type.Integer({ minimum: 0 }),
  /**
   * Evidence of the change: the tail of the failed probe's ffprobe stderr,
   * or the player page's errors. Credentials in URLs are replaced by `***`.
   */
  error_output: Type.Optional(Type.String({ maxLength: MAX_ERROR_OUTPUT_CHARS })),
  /**
   * Id the controller acknowledges the status by, once stored, as it does a
   * metrics batch by its batch_id. Older agents leave it out.
   */
  status_id: Type.Optional(Type.String({ minLength: 8, maxLength: 128 })),
  /** True when the agent sent this status before, so that it may be stored already. */
  resent: Type.Optional(Type.Boolean()),
})

/** A stretch of black picture, frozen picture or silence inside a check's window. */
export const AvPeriod = Type.Object({
  /** Seconds from the start of the decoded window. */
  start_s: Type.Number({ minimum: 0 }),
  end_s: Type.Number({ minimum: 0 }),
  duration_s: Type.Number({ minimum: 0 }),
  /** The period lasted to the end of the decoded window, so it may go on. */
  open: Type.Boolean(),
})

const AvPeriods = Type.Array(AvPeriod, { maxItems: 1000 })
const Level = Type.Union([Type.Number(), Type.Null()])

/**
 * EBU R128 loudness of a check's window. A value is null when ffmpeg could
 * not measure it, such as integrated loudness of silence below the -70 LUFS gate.
 */
export const Loudness = Type.Object({
  integrated_lufs: Level,
  true_peak_dbtp: Level,
  lra_lu: Level,
})

/** Result of one picture and sound check (a decode pass over a sample window). */
export const Av = Type.Object({
  type: Type.Literal('av'),
  stream_id: Id,
  epoch: Type.Integer({ minimum: 0 }),
  /** Check end time, milliseconds since the Unix epoch. */
  ts_ms: Type.Integer({ minimum: 0 }),
  /** Seconds of media the check asked for. */
  sample_s: Type.Number({ minimum: 0 }),
  /** Seconds of media decoded; less than sample_s when the source ended early. */
  decoded_s: Type.Number({ minimum: 0 }),
  video: Type.Boolean(),
  audio: Type.Boolean(),
  black: AvPeriods,
  freeze: AvPeriods,
  silence: AvPeriods,
  /** Null without an audio stream. */
  loudness: Type.Union([Loudness, Type.Null()]),
  /** Reason the check failed. The other fields are then empty. */
  error: Type.Optional(Type.String({ maxLength: 2048 })),
})

const Count = Type.Integer({ minimum: 0 })

/** Summary of one playlist analysis pass of an HLS or DASH stream. */
export const Playlist = Type.Object({
  type: Type.Literal('playlist'),
  stream_id: Id,
  epoch: Type.Integer({ minimum: 0 }),
  /** Pass start, milliseconds since the Unix epoch. */
  ts_ms: Type.Integer({ minimum: 0 }),
  /** The manifest at the stream URL loaded and parsed. */
  ok: Type.Boolean(),
  /** Variants or representations checked, and those whose playlist and a segment loaded. */
  variants_total: Count,
  variants_ok: Count,
  /** Some checked media playlist has had no new segment for 2 target durations. */
  stale: Type.Boolean(),
  /** Highest media sequence of the checked playlists; null when none loaded. */
  media_sequence: Type.Union([Type.Integer(), Type.Null()]),
  /** HTTP requests of the pass and those that failed. */
  requests: Count,
  errors: Count,
  error_share: Type.Number({ minimum: 0, maximum: 1 }),
  /** Highest segment download time / segment duration; 0 without a downloaded segment. */
  max_download_ratio: Type.Number({ minimum: 0 }),
  /** Discontinuities found since the previous pass. */
  discontinuities: Count,
  /** Media sequence resets or rewinds found in this pass. */
  resets: Count,
  /** Reason the pass failed. */
  error: Type.Optional(Type.String({ maxLength: 2048 })),
})

/** Characters of base64 in one screenshot frame, so a frame stays far below MAX_FRAME_BYTES. */
export const SCREENSHOT_CHUNK_CHARS = 256 * 1024
/** Largest screenshot, in bytes of JPEG, that either side handles. */
export const MAX_SCREENSHOT_BYTES = 4 * 1024 * 1024

/**
 * One part of a screenshot. The agent splits the JPEG into `count` frames
 * that share `id`; the controller joins them in `index` order.
 */
export const Screenshot = Type.Object({
  type: Type.Literal('screenshot'),
  id: Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
  stream_id: Id,
  epoch: Type.Integer({ minimum: 0 }),
  /** Grab time, milliseconds since the Unix epoch. */
  ts_ms: Type.Integer({ minimum: 0 }),
  content_type: Type.Literal('image/jpeg'),
  index: Type.Integer({ minimum: 0, maximum: 31 }),
  count: Type.Integer({ minimum: 1, maximum: 32 }),
  /** Base64 of this part's bytes. */
  data: Type.String({ minLength: 1, maxLength: SCREENSHOT_CHUNK_CHARS }),
  /** Capture source: a stream frame from ffmpeg (the default) or the player page from Chromium. */
  source: Type.Optional(Type.Union([Type.Literal('stream'), Type.Literal('page')])),
})

/** One problem a page check saw on the player page. */
export const PageError = Type.Object({
  kind: Type.Union([
    Type.Literal('console'),
    Type.Literal('request'),
    Type.Literal('exception'),
    Type.Literal('load'),
    Type.Literal('no_video'),
  ]),
  text: Type.String({ maxLength: 2048 }),
})

/** Result of one player page check: the page loaded in headless Chromium. */
export const Page = Type.Object({
  type: Type.Literal('page'),
  stream_id: Id,
  epoch: Type.Integer({ minimum: 0 }),
  /** Check end time, milliseconds since the Unix epoch. */
  ts_ms: Type.Integer({ minimum: 0 }),
  /** The page loaded and its video played; errors may still be listed. */
  ok: Type.Boolean(),
  /** A <video> element's currentTime advanced. */
  playing: Type.Boolean(),
  errors: Type.Array(PageError, { maxItems: 100 }),
  /** Milliseconds until the load event; null when the page did not load. */
  load_ms: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  /** Milliseconds from the load event until the video played; null when it did not. */
  time_to_play_ms: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
})

export const Heartbeat = Type.Object({
  type: Type.Literal('heartbeat'),
  ts_ms: Type.Integer({ minimum: 0 }),
})

export const Ack = Type.Object({
  type: Type.Literal('ack'),
  /** The metrics batch's batch_id, or the status's status_id. */
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
export type TsStream = Type.Static<typeof TsStream>
export type TsProgram = Type.Static<typeof TsProgram>
export type TsSummary = Type.Static<typeof TsSummary>
export type MetricsRow = Type.Static<typeof MetricsRow>
export type Metrics = Type.Static<typeof Metrics>
export type Status = Type.Static<typeof Status>
export type AvPeriod = Type.Static<typeof AvPeriod>
export type Loudness = Type.Static<typeof Loudness>
export type Av = Type.Static<typeof Av>
export type Playlist = Type.Static<typeof Playlist>
export type Screenshot = Type.Static<typeof Screenshot>
export type PageError = Type.Static<typeof PageError>
export type Page = Type.Static<typeof Page>
export type Heartbeat = Type.Static<typeof Heartbeat>
export type Ack = Type.Static<typeof Ack>
export type ErrorCode = Type.Static<typeof ErrorCode>
export type ErrorFrame = Type.Static<typeof ErrorFrame>

/** Messages an agent sends to the controller. */
export type AgentMessage = Hello | Metrics | Status | Av | Playlist | Screenshot | Page | Heartbeat | ErrorFrame
/** Messages the controller sends to an agent. */
export type ControllerMessage = Welcome | Perform | Revoke | Ack | Heartbeat | ErrorFrame

export const agentMessageSchemas = {
  hello: Hello,
  metrics: Metrics,
  status: Status,
  av: Av,
  playlist: Playlist,
  screenshot: Screenshot,
  page: Page,
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
