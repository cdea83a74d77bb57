// The in-process reading of one probe window of MPEG-TS, which the HLS and
// the live (UDP, SRT) probes share. TsAnalyzer gives the TR 101 290 counts
// and the tables, and its PES reader gives the packets of the metrics.
import { TsAnalyzer } from '../analysis/mpegts/analyzer.ts'
import { PesReader } from '../analysis/mpegts/pes.ts'
import { computeMetrics } from './metrics.ts'
import type { ProbeResult } from './probe.ts'
import { packetWindow, summariseTs } from './ts-summary.ts'

/** A probe result, or the reason the stream needs ffprobe instead. */
export type TsProbeOutcome =
  | { handled: true; result: ProbeResult }
  | { handled: false; reason: string }

export class TsReading {
  private readonly reader: PesReader
  private readonly analyzer: TsAnalyzer

  constructor() {
    this.reader = new PesReader({ streamOf: (pid) => this.analyzer.streamOf(pid) })
    this.analyzer = new TsAnalyzer({ onPayload: (packet, header) => this.reader.push(packet, header) })
  }

  /** Passes on the next bytes; `atMs` is their arrival time for live sources, left out for downloaded segments. */
  push(chunk: Buffer, atMs?: number): void {
    this.analyzer.push(chunk, atMs)
  }

  /**
   * Builds the probe result of the bytes read: metrics of the first sampleS
   * seconds of packets and the TS summary of all of them. Returns handled =
   * false when the video is not H.264 (no picture size) or nothing was read.
   */
  finish(sampleS: number, started: number): TsProbeOutcome {
    this.reader.finish()
    const streams = [...this.reader.streams.values()]
    if (streams.length === 0) return { handled: false, reason: 'no elementary stream packets read' }
    const video = streams.find((stream) => stream.kind === 'video')
    if (video !== undefined && video.width === undefined) {
      return { handled: false, reason: `no picture size read from the ${video.codec} video` }
    }
    const window = packetWindow(this.reader.units, streams, sampleS)
    const durationMs = Date.now() - started
    if (window.packets.length === 0) {
      return { handled: true, result: { ok: false, reason: 'no packets within the sample window', retryable: true, durationMs, stderr: '' } }
    }
    const metrics = computeMetrics({ packets: window.packets, streams: window.streams, probeDurationMs: durationMs })
    const result: ProbeResult = {
      ok: true,
      metrics,
      packets: window.packets.length,
      durationMs,
      ts: summariseTs(this.analyzer.snapshot()),
    }
    if (window.start !== undefined) result.windowStart = window.start
    return { handled: true, result }
  }
}
