// Stream metrics from one sample window of packets, as ffprobe prints them
// with `-show_packets -show_streams -of json`. Pure: no I/O, no clock.
//
// Timing comes from packet timestamps only (dts, else pts); stream headers
// such as avg_frame_rate 0/0 or r_frame_rate 90000/1 are never used. Each
// stream's timestamps are split into runs wherever they jump back more than
// a second or forward more than MAX_GAP_S (a wrap, a discontinuity, a new
// HLS period); spans and rates are summed over the runs, so a wrap or a
// missing timestamp costs at most one interval and never gives a negative
// or absurd figure.

/** One packet as ffprobe's JSON writer prints it (numbers may come as strings). */
export interface ProbePacket {
  stream_index?: number | string
  pts_time?: number | string
  dts_time?: number | string
  duration_time?: number | string
  size?: number | string
  /** ffprobe flags, e.g. "K__" for a keyframe. */
  flags?: string
}

/** One stream as ffprobe's JSON writer prints it. */
export interface ProbeStreamInfo {
  index?: number | string
  codec_type?: string
  codec_name?: string
  width?: number | string
  height?: number | string
  disposition?: { attached_pic?: number | string }
}

export interface StreamMetrics {
  /** All packets' bytes * 8 / seconds, bit/s. */
  bitrate: number
  /** Video packets (frames) of the chosen video stream. */
  frames: number
  /** Video frames per second, from video timestamps. */
  fps: number
  width: number
  height: number
  /** Bytes of all packets. */
  bytes: number
  /** Length of the sample window, from packet timestamps. */
  seconds: number
  /** Mean frames between consecutive keyframes; 0 with fewer than two keyframes. */
  keyframe_interval: number
  /** Codec names, video first, e.g. "h264,aac". */
  codecs: string
  probe_duration_ms: number
}

export interface MetricsInput {
  packets: readonly ProbePacket[]
  streams: readonly ProbeStreamInfo[]
  /** Wall time the probe took, copied into the result. */
  probeDurationMs?: number
}

/** A forward jump longer than this starts a new run of timestamps. */
export const MAX_GAP_S = 10
/** A backward jump longer than this starts a new run (B-frame reordering stays below it). */
export const MAX_BACKSTEP_S = 1

function num(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value !== 'string' || value.trim() === '' || value === 'N/A') return undefined
  const parsed = Number(value)
  return Number.isFinite(parsed) ? parsed : undefined
}

function int(value: unknown): number | undefined {
  const n = num(value)
  return n === undefined ? undefined : Math.trunc(n)
}

interface Timeline {
  /** Sum of the runs' spans (max - min timestamp), seconds. */
  span: number
  /** Sum over runs of (timestamps in the run - 1): intervals covered by span. */
  intervals: number
  /** Typical packet duration, seconds (for the window's last packet). */
  packetDuration: number
}

function timeline(packets: readonly ProbePacket[]): Timeline {
  let span = 0
  let intervals = 0
  let runMin = Infinity
  let runMax = -Infinity
  let runFirst = -1
  let runLast = -1
  let timed = 0
  let previous: number | undefined
  const durations: number[] = []

  const closeRun = () => {
    if (runFirst >= 0) {
      span += runMax - runMin
      // Packets without a timestamp between two timed ones still count.
      intervals += runLast - runFirst
    }
    runMin = Infinity
    runMax = -Infinity
    runFirst = -1
  }

  packets.forEach((packet, position) => {
    const duration = num(packet.duration_time)
    if (duration !== undefined && duration > 0 && duration < MAX_GAP_S) durations.push(duration)
    const ts = num(packet.dts_time) ?? num(packet.pts_time)
    if (ts === undefined) return
    timed++
    if (previous !== undefined) {
      const delta = ts - previous
      if (delta < -MAX_BACKSTEP_S || delta > MAX_GAP_S) closeRun()
    }
    previous = ts
    runMin = Math.min(runMin, ts)
    runMax = Math.max(runMax, ts)
    if (runFirst < 0) runFirst = position
    runLast = position
  })
  closeRun()

  if (timed === 0) return { span: 0, intervals: 0, packetDuration: 0 }
  let packetDuration = median(durations)
  if (packetDuration === 0 && intervals > 0 && span > 0) packetDuration = span / intervals
  return { span, intervals, packetDuration }
}

function median(values: number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

const TYPE_ORDER: Record<string, number> = { video: 0, audio: 1, subtitle: 2 }

function isVideo(stream: ProbeStreamInfo): boolean {
  return stream.codec_type === 'video' && int(stream.disposition?.attached_pic) !== 1
}

/**
 * The timestamp (dts, else pts, seconds) of the first timed packet, or
 * undefined. A live source gives a new value on every probe; the same value
 * again means the source served the same media again (a frozen playlist).
 */
export function windowStart(packets: readonly ProbePacket[]): number | undefined {
  if (!Array.isArray(packets)) return undefined
  for (const packet of packets) {
    if (!packet || typeof packet !== 'object') continue
    const ts = num(packet.dts_time) ?? num(packet.pts_time)
    if (ts !== undefined) return ts
  }
  return undefined
}

export function computeMetrics(input: MetricsInput): StreamMetrics {
  const streams = Array.isArray(input.streams) ? input.streams : []
  const packets = Array.isArray(input.packets) ? input.packets : []

  const byStream = new Map<number, ProbePacket[]>()
  let bytes = 0
  for (const packet of packets) {
    if (!packet || typeof packet !== 'object') continue
    const size = int(packet.size)
    if (size !== undefined && size > 0) bytes += size
    const index = int(packet.stream_index)
    if (index === undefined) continue
    let list = byStream.get(index)
    if (!list) byStream.set(index, (list = []))
    list.push(packet)
  }

  // The video stream: by codec_type, not index; with several (an HLS master
  // playlist, a cover picture), the one with the most packets, then the
  // largest picture.
  const videos = streams.filter((s) => s && isVideo(s))
  let video: ProbeStreamInfo | undefined
  let videoPackets: ProbePacket[] = []
  for (const candidate of videos) {
    const list = byStream.get(int(candidate.index) ?? -1) ?? []
    const area = (int(candidate.width) ?? 0) * (int(candidate.height) ?? 0)
    const bestArea = video ? (int(video.width) ?? 0) * (int(video.height) ?? 0) : -1
    if (!video || list.length > videoPackets.length || (list.length === videoPackets.length && area > bestArea)) {
      video = candidate
      videoPackets = list
    }
  }

  // Window length: the longest stream timeline (audio and video cover the
  // same window; a stream with one packet contributes its duration).
  let seconds = 0
  for (const list of byStream.values()) {
    const t = timeline(list)
    seconds = Math.max(seconds, t.span + t.packetDuration)
  }

  let fps = 0
  let keyframeInterval = 0
  if (videoPackets.length > 0) {
    const t = timeline(videoPackets)
    if (t.span > 0 && t.intervals > 0) fps = t.intervals / t.span
    const keyframes: number[] = []
    videoPackets.forEach((packet, i) => {
      if (typeof packet.flags === 'string' && packet.flags.includes('K')) keyframes.push(i)
    })
    if (keyframes.length >= 2) {
      keyframeInterval = (keyframes.at(-1)! - keyframes[0]!) / (keyframes.length - 1)
    }
  }

  const codecs: string[] = []
  const ordered = streams
    .filter((s) => s && typeof s.codec_type === 'string' && s.codec_type in TYPE_ORDER && int(s.disposition?.attached_pic) !== 1)
    .sort((a, b) => TYPE_ORDER[a.codec_type!]! - TYPE_ORDER[b.codec_type!]! || (int(a.index) ?? 0) - (int(b.index) ?? 0))
  for (const stream of ordered) {
    const name = stream.codec_name
    if (typeof name === 'string' && name && name !== 'unknown' && !codecs.includes(name)) codecs.push(name)
  }

  return {
    bitrate: seconds > 0 ? Math.round((bytes * 8) / seconds) : 0,
    frames: videoPackets.length,
    fps: round(fps, 3),
    width: Math.max(0, int(video?.width) ?? 0),
    height: Math.max(0, int(video?.height) ?? 0),
    bytes,
    seconds: round(seconds, 3),
    keyframe_interval: round(keyframeInterval, 2),
    codecs: codecs.join(',').slice(0, 256),
    probe_duration_ms: Math.max(0, Math.round(input.probeDurationMs ?? 0)),
  }
}
