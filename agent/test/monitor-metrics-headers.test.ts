// Frame rate and bitrate of live MPEG-TS come from packets, never from the
// stream headers, which on live inputs often read avg_frame_rate 0/0,
// r_frame_rate 90000/1 (the 90 kHz time base) and bit_rate N/A.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { computeMetrics, type ProbePacket, type ProbeStreamInfo } from '../src/monitor/metrics.ts'

/** Stream headers as ffprobe prints them for a live MPEG-TS input with nothing known up front. */
const liveVideo = {
  index: 0,
  codec_type: 'video',
  codec_name: 'h264',
  width: 1280,
  height: 720,
  avg_frame_rate: '0/0',
  r_frame_rate: '90000/1',
  time_base: '1/90000',
  bit_rate: 'N/A',
} as ProbeStreamInfo
const liveAudio = { index: 1, codec_type: 'audio', codec_name: 'aac', avg_frame_rate: '0/0', r_frame_rate: '0/0', bit_rate: 'N/A' } as ProbeStreamInfo

/** 5 s of 25 fps video and AAC audio on the 90 kHz clock, starting at 1.4 s like an ffmpeg MPEG-TS mux. */
function livePackets(videoBytes: number, audioBytes: number): ProbePacket[] {
  const packets: ProbePacket[] = []
  for (let i = 0; i < 125; i++) {
    const t = (1.4 + i / 25).toFixed(6)
    packets.push({ stream_index: '0', pts_time: t, dts_time: t, duration_time: '0.040000', size: String(videoBytes), flags: i % 50 === 0 ? 'K__' : '___' })
  }
  const step = 1024 / 48000
  for (let i = 0; i < 234; i++) {
    const t = (1.4 + i * step).toFixed(6)
    packets.push({ stream_index: '1', pts_time: t, dts_time: t, duration_time: 'N/A', size: String(audioBytes), flags: 'K__' })
  }
  return packets
}

test('live MPEG-TS headers ignored', () => {
  const m = computeMetrics({ packets: livePackets(10_000, 300), streams: [liveVideo, liveAudio] })
  assert.is(m.fps, 25)
  assert.is(m.frames, 125)
  assert.equal([m.width, m.height], [1280, 720])
  assert.is(m.bytes, 125 * 10_000 + 234 * 300)
  // The window is the longest timeline: 125 video frames of 40 ms.
  assert.is(m.seconds, 5)
  assert.is(m.bitrate, Math.round(((125 * 10_000 + 234 * 300) * 8) / 5))
  assert.is(m.keyframe_interval, 50)
})

test('r_frame_rate 90000/1: timestamp rate', () => {
  const packets = livePackets(1000, 100).filter((p) => p.stream_index === '0').slice(0, 3)
  const m = computeMetrics({ packets, streams: [liveVideo] })
  assert.is(m.fps, 25)
  assert.ok(Number.isFinite(m.bitrate) && m.bitrate > 0)
})

test('avg_frame_rate 0/0, one frame: fps 0', () => {
  const packets = livePackets(1000, 100).filter((p) => p.stream_index === '0').slice(0, 1)
  const m = computeMetrics({ packets, streams: [liveVideo] })
  assert.is(m.fps, 0)
  assert.is(m.seconds, 0.04)
  assert.is(m.bitrate, 200_000)
})

test('bit_rate N/A and no packet sizes: bitrate 0', () => {
  const packets = livePackets(0, 0).map(({ size: _size, ...rest }) => rest)
  const m = computeMetrics({ packets, streams: [liveVideo, liveAudio] })
  assert.is(m.bitrate, 0)
  assert.is(m.bytes, 0)
  assert.is(m.fps, 25)
})

test('all N/A: zeros', () => {
  const packets: ProbePacket[] = Array.from({ length: 10 }, () => ({ stream_index: 0, pts_time: 'N/A', dts_time: 'N/A', size: 'N/A', duration_time: 'N/A' }))
  const m = computeMetrics({ packets, streams: [liveVideo] })
  assert.equal([m.bitrate, m.fps, m.seconds, m.bytes], [0, 0, 0, 0])
  assert.is(m.frames, 10)
})

test.run()
