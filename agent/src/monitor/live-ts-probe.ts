// The probe of a live UDP or SRT MPEG-TS stream without ffprobe: the media
// module reads one sample window of bytes (ts-capture.ts), and TsReading
// turns them into metrics and TR 101 290 counts, timed by arrival.
import type { ProbeSettings } from '@monit/protocol'
import { DEFAULT_SAMPLE_S, DEFAULT_TIMEOUT_S } from '../media/ffprobe.ts'
import { captureApplies, captureTs } from '../media/ts-capture.ts'
import { TsReading, type TsProbeOutcome } from './ts-reading.ts'

/**
 * Extra seconds read beyond the sample window, so that the packets of the
 * window's last second have arrived even when the sender is a little bursty.
 */
const CAPTURE_MARGIN_S = 0.5

export { captureApplies as liveTsProbeApplies }

/** Probes a udp:// or srt:// stream by reading its bytes; never rejects. */
export async function probeLiveTs(
  url: string,
  settings: Partial<ProbeSettings> = {},
  options: { signal?: AbortSignal } = {},
): Promise<TsProbeOutcome> {
  const started = Date.now()
  const sampleS = settings.sample_s ?? DEFAULT_SAMPLE_S
  const reading = new TsReading()
  const capture = await captureTs(url, {
    sampleS: sampleS + CAPTURE_MARGIN_S,
    timeoutS: settings.timeout_s ?? DEFAULT_TIMEOUT_S,
    signal: options.signal,
    onChunk: (chunk, atMs) => reading.push(chunk, atMs),
  })
  if (!capture.ok) {
    const durationMs = Date.now() - started
    return { handled: true, result: { ok: false, reason: capture.reason, retryable: capture.retryable, durationMs, stderr: capture.stderr } }
  }
  return reading.finish(sampleS, started)
}
