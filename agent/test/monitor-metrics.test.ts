import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { computeMetrics, windowStart, type ProbePacket, type ProbeStreamInfo } from '../src/monitor/metrics.ts'

const h264: ProbeStreamInfo = { index: 0, codec_type: 'video', codec_name: 'h264', width: 1280, height: 720 }
const aac: ProbeStreamInfo = { index: 1, codec_type: 'audio', codec_name: 'aac' }

interface VideoOptions {
  stream?: number
  count: number
  fps?: number
  start?: number
  size?: number
  gop?: number
  /** Timestamp field(s) to set. */
  ts?: 'both' | 'pts' | 'dts' | 'none'
  duration?: boolean
  strings?: boolean
}

/** Video packets in decode order, as ffprobe prints them. */
function video(o: VideoOptions): ProbePacket[] {
  const fps = o.fps ?? 25
  const packets: ProbePacket[] = []
  for (let i = 0; i < o.count; i++) {
    const t = (o.start ?? 0) + i / fps
    const p: ProbePacket = { stream_index: o.stream ?? 0, size: o.size ?? 10_000, flags: i % (o.gop ?? 50) === 0 ? 'K__' : '___' }
    const ts = o.strings === false ? t : t.toFixed(6)
    if (o.ts === undefined || o.ts === 'both' || o.ts === 'pts') p.pts_time = ts
    if (o.ts === undefined || o.ts === 'both' || o.ts === 'dts') p.dts_time = ts
    if (o.duration !== false) p.duration_time = (1 / fps).toFixed(6)
    packets.push(p)
  }
  return packets
}

function audio(count: number, start = 0, size = 128, stream = 1): ProbePacket[] {
  const d = 1024 / 48000
  return Array.from({ length: count }, (_, i) => ({
    stream_index: stream,
    pts_time: (start + i * d).toFixed(6),
    dts_time: (start + i * d).toFixed(6),
    duration_time: d.toFixed(6),
    size: String(size),
    flags: 'K__',
  }))
}

test('a clean 5 s window of 720p25 at 2 Mbit/s', () => {
  // 125 frames of 10 000 bytes over 5 s = 2 Mbit/s.
  const m = computeMetrics({ packets: video({ count: 125 }), streams: [h264], probeDurationMs: 5321.4 })
  assert.equal(m, {
    bitrate: 2_000_000,
    frames: 125,
    fps: 25,
    width: 1280,
    height: 720,
    bytes: 1_250_000,
    seconds: 5,
    keyframe_interval: 50,
    codecs: 'h264',
    probe_duration_ms: 5321,
  })
})

test('audio and video: bytes of all packets, codecs video first', () => {
  const packets = [...audio(234, 0, 250), ...video({ count: 125 })]
  const m = computeMetrics({ packets, streams: [aac, { ...h264, index: 0 }] })
  assert.is(m.bytes, 1_250_000 + 234 * 250)
  assert.is(m.codecs, 'h264,aac')
  assert.is(m.frames, 125)
  assert.is(m.fps, 25)
  assert.ok(Math.abs(m.seconds - 5) < 0.01, `seconds ${m.seconds}`)
  assert.ok(Math.abs(m.bitrate - (1_250_000 + 234 * 250) * 8 / 5) < 10_000)
})

test('nonsense stream headers (0/0, 90000/1) are ignored: fps from timestamps', () => {
  const stream = { ...h264, avg_frame_rate: '0/0', r_frame_rate: '90000/1' } as ProbeStreamInfo
  const m = computeMetrics({ packets: video({ count: 60, fps: 30 }), streams: [stream] })
  assert.is(m.fps, 30)
})

test('the video stream is picked by codec_type, not by index', () => {
  const streams: ProbeStreamInfo[] = [
    { index: 0, codec_type: 'data', codec_name: 'timed_id3' },
    { index: 1, codec_type: 'audio', codec_name: 'aac' },
    { index: 2, codec_type: 'video', codec_name: 'hevc', width: 1920, height: 1080 },
  ]
  const m = computeMetrics({ packets: [...audio(10, 0, 100, 1), ...video({ stream: 2, count: 50 })], streams })
  assert.is(m.width, 1920)
  assert.is(m.height, 1080)
  assert.is(m.frames, 50)
  assert.is(m.codecs, 'hevc,aac')
})

test('a cover picture is not the video stream', () => {
  const streams: ProbeStreamInfo[] = [
    { index: 0, codec_type: 'video', codec_name: 'mjpeg', width: 500, height: 500, disposition: { attached_pic: 1 } },
    { index: 1, codec_type: 'audio', codec_name: 'mp3' },
  ]
  const m = computeMetrics({ packets: audio(100, 0, 300, 1), streams })
  assert.is(m.width, 0)
  assert.is(m.frames, 0)
  assert.is(m.codecs, 'mp3')
})

test('audio only: no frames, no fps, bitrate from audio', () => {
  const m = computeMetrics({ packets: audio(235, 0, 128), streams: [aac] })
  assert.is(m.frames, 0)
  assert.is(m.fps, 0)
  assert.is(m.width, 0)
  assert.is(m.height, 0)
  assert.is(m.keyframe_interval, 0)
  assert.is(m.codecs, 'aac')
  assert.ok(Math.abs(m.seconds - 235 * 1024 / 48000) < 0.001)
  assert.ok(Math.abs(m.bitrate - 48_000) < 100, `bitrate ${m.bitrate}`)
})

test('no video stream listed but packets present', () => {
  const m = computeMetrics({ packets: video({ count: 10 }), streams: [] })
  assert.is(m.frames, 0)
  assert.is(m.bytes, 100_000)
  assert.ok(m.bitrate > 0)
})

test('one keyframe: keyframe_interval 0', () => {
  const m = computeMetrics({ packets: video({ count: 40, gop: 100 }), streams: [h264] })
  assert.is(m.keyframe_interval, 0)
})

test('no keyframe at all: keyframe_interval 0', () => {
  const packets = video({ count: 40 }).map((p) => ({ ...p, flags: '___' }))
  assert.is(computeMetrics({ packets, streams: [h264] }).keyframe_interval, 0)
})

test('keyframe interval is the mean distance between keyframes, not from the window start', () => {
  // Window starts mid-GOP: keyframes at 20, 70, 120.
  const packets = video({ count: 130 }).map((p, i) => ({ ...p, flags: (i - 20) % 50 === 0 && i >= 20 ? 'K__' : '___' }))
  assert.is(computeMetrics({ packets, streams: [h264] }).keyframe_interval, 50)
  const irregular = video({ count: 100 }).map((p, i) => ({ ...p, flags: [0, 30, 90].includes(i) ? 'K_' : '__' }))
  assert.is(computeMetrics({ packets: irregular, streams: [h264] }).keyframe_interval, 45)
})

test('empty input gives zeros, never NaN', () => {
  const m = computeMetrics({ packets: [], streams: [] })
  assert.equal(m, { bitrate: 0, frames: 0, fps: 0, width: 0, height: 0, bytes: 0, seconds: 0, keyframe_interval: 0, codecs: '', probe_duration_ms: 0 })
})

test('a single video packet: no division by zero', () => {
  const m = computeMetrics({ packets: video({ count: 1 }), streams: [h264] })
  assert.is(m.frames, 1)
  assert.is(m.fps, 0)
  assert.is(m.seconds, 0.04)
  assert.is(m.bitrate, 2_000_000)
})

test('all timestamps missing: bytes and frames counted, no rate', () => {
  const m = computeMetrics({ packets: video({ count: 25, ts: 'none' }), streams: [h264] })
  assert.is(m.frames, 25)
  assert.is(m.bytes, 250_000)
  assert.is(m.fps, 0)
  assert.is(m.seconds, 0)
  assert.is(m.bitrate, 0)
  for (const value of Object.values(m)) if (typeof value === 'number') assert.ok(Number.isFinite(value))
})

test('N/A timestamps and missing durations are skipped', () => {
  const packets = video({ count: 50, duration: false })
  packets[10]!.pts_time = 'N/A'
  packets[10]!.dts_time = 'N/A'
  const m = computeMetrics({ packets, streams: [h264] })
  assert.is(m.frames, 50)
  assert.is(m.fps, 25)
  assert.is(m.seconds, 2) // 49 intervals of 0.04 + one estimated duration
})

test('pts only (no dts), numbers instead of strings', () => {
  const m = computeMetrics({ packets: video({ count: 50, ts: 'pts', strings: false }), streams: [h264] })
  assert.is(m.fps, 25)
})

test('B-frame reordering of pts (no dts) does not disturb fps', () => {
  // Decode order I P B B P B B ... with pts reordered by up to 3 frames.
  const order = [0, 3, 1, 2, 6, 4, 5, 9, 7, 8, 12, 10, 11]
  const packets = order.map((n, i) => ({ stream_index: 0, pts_time: (n / 25).toFixed(6), size: 1000, flags: i === 0 ? 'K_' : '__' }))
  const m = computeMetrics({ packets, streams: [h264] })
  assert.is(m.fps, 25)
})

test('an MPEG-TS pts wrap (2^33 / 90 kHz) in the window', () => {
  const wrap = 2 ** 33 / 90000
  const before = video({ count: 50, start: wrap - 1 })
  // Keyframes every 50 frames across the wrap: overall packets 0, 50 and 100.
  const after = video({ count: 75, start: 0 }).map((p, i) => ({ ...p, flags: i % 50 === 0 ? 'K__' : '___' }))
  const m = computeMetrics({ packets: [...before, ...after], streams: [h264] })
  assert.is(m.frames, 125)
  assert.ok(Math.abs(m.fps - 25) < 0.01, `fps ${m.fps}`)
  assert.ok(Math.abs(m.seconds - 5) < 0.05, `seconds ${m.seconds}`)
  assert.ok(Math.abs(m.bitrate - 2_000_000) < 40_000, `bitrate ${m.bitrate}`)
  assert.is(m.keyframe_interval, 50)
})

test('a forward timestamp jump (discontinuity) does not inflate the window', () => {
  const packets = [...video({ count: 50, start: 100 }), ...video({ count: 75, start: 5000 })]
  const m = computeMetrics({ packets, streams: [h264] })
  assert.ok(Math.abs(m.seconds - 5) < 0.05, `seconds ${m.seconds}`)
  assert.ok(Math.abs(m.fps - 25) < 0.01)
})

test('dropped frames show as a lower fps', () => {
  // 25 fps timestamps, every other frame missing: 12.5 fps.
  const packets = video({ count: 100 }).filter((_, i) => i % 2 === 0)
  assert.is(computeMetrics({ packets, streams: [h264] }).fps, 12.5)
})

test('several video streams (HLS master): the one with the most packets', () => {
  const streams: ProbeStreamInfo[] = [
    { index: 0, codec_type: 'video', codec_name: 'h264', width: 640, height: 360 },
    { index: 1, codec_type: 'video', codec_name: 'h264', width: 1920, height: 1080 },
  ]
  const packets = [...video({ stream: 0, count: 10 }), ...video({ stream: 1, count: 50 })]
  const m = computeMetrics({ packets, streams })
  assert.is(m.height, 1080)
  assert.is(m.frames, 50)
  assert.is(m.codecs, 'h264')
})

test('garbage entries are tolerated', () => {
  const packets = [null, 42, { stream_index: 'x', size: 'big' }, ...video({ count: 3 })] as unknown as ProbePacket[]
  const streams = [null, { index: 0, codec_type: 'video', width: 'wide' }] as unknown as ProbeStreamInfo[]
  const m = computeMetrics({ packets, streams })
  assert.is(m.frames, 3)
  assert.is(m.width, 0)
  assert.is(m.codecs, '')
})

test('windowStart: the first timed packet, dts before pts', () => {
  assert.is(windowStart([]), undefined)
  assert.is(windowStart([{ stream_index: 0, pts_time: 'N/A' }, { stream_index: 0, pts_time: '12.5', dts_time: '12.46' }]), 12.46)
  assert.is(windowStart([{ stream_index: 0, pts_time: 3 }]), 3)
})

test.run()
