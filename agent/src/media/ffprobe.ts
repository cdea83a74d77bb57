// ffprobe as the probe uses it: the arguments for reading a sample window of
// packets (`-read_intervals %+N`, by packet timestamps), the process
// deadline, running it, and turning a failed run into a short reason.
import type { ProbeSettings } from '@monit/protocol'
import type { ProbePacket, ProbeStreamInfo } from '../monitor/metrics.ts'
import { inputArgs, redactUrl, streamScheme, UnsupportedUrlError } from './protocols.ts'
import { MediaToolError, runMediaTool, type MediaRunResult, type MediaTool } from './runner.ts'

export const DEFAULT_SAMPLE_S = 5
export const DEFAULT_TIMEOUT_S = 10
/** Time allowed on top of sample + timeout for start-up (connect, stream info, first keyframe). */
export const DEADLINE_GRACE_S = 5

export type PacketProbe =
  | {
      ok: true
      packets: ProbePacket[]
      streams: ProbeStreamInfo[]
      durationMs: number
      /** Set when ffprobe ended with an error after packets had arrived. */
      warning?: string
    }
  | {
      ok: false
      reason: string
      /** False for failures a quick retry cannot fix (unsupported URL, missing ffprobe, abort). */
      retryable: boolean
      durationMs: number
      stderr: string
    }

const PACKET_ENTRIES = 'stream_index,pts_time,dts_time,duration_time,size,flags'
const STREAM_ENTRIES = 'index,codec_type,codec_name,width,height,avg_frame_rate,r_frame_rate,time_base'

/** The ffprobe arguments for one probe. */
export function probeArgs(url: string, settings: Partial<ProbeSettings> = {}): string[] {
  const sample = settings.sample_s ?? DEFAULT_SAMPLE_S
  const timeout = settings.timeout_s ?? DEFAULT_TIMEOUT_S
  return [
    '-hide_banner',
    '-v',
    'warning',
    '-read_intervals',
    `%+${sample}`,
    '-show_entries',
    `packet=${PACKET_ENTRIES}:stream=${STREAM_ENTRIES}:stream_disposition=attached_pic`,
    '-of',
    'json=compact=1',
    ...inputArgs(url, timeout),
  ]
}

/** Process deadline for one probe, in ms: sample + timeout + start-up grace. */
export function probeDeadlineMs(settings: Partial<ProbeSettings> = {}): number {
  const sample = settings.sample_s ?? DEFAULT_SAMPLE_S
  const timeout = settings.timeout_s ?? DEFAULT_TIMEOUT_S
  return Math.round((sample + timeout + DEADLINE_GRACE_S) * 1000)
}

interface FfprobeJson {
  packets?: unknown
  streams?: unknown
}

function parseOutput(stdout: string): FfprobeJson | undefined {
  if (!stdout.trim()) return undefined
  try {
    const parsed = JSON.parse(stdout) as unknown
    return parsed && typeof parsed === 'object' ? (parsed as FfprobeJson) : undefined
  } catch {
    return undefined
  }
}

/**
 * Reads one sample window of packets from a stream. Never rejects: every
 * failure (unsupported URL, missing ffprobe, timeout, HTTP error, no
 * packets) resolves with ok = false and a short reason string.
 */
export async function probePackets(
  url: string,
  settings: Partial<ProbeSettings> = {},
  options: { signal?: AbortSignal } = {},
): Promise<PacketProbe> {
  const started = Date.now()
  const timeoutS = settings.timeout_s ?? DEFAULT_TIMEOUT_S
  let run: MediaRunResult
  try {
    streamScheme(url)
    run = await runMediaTool('ffprobe', probeArgs(url, settings), {
      deadlineMs: probeDeadlineMs(settings),
      signal: options.signal,
    })
  } catch (error) {
    const retryable = !(error instanceof UnsupportedUrlError || (error instanceof MediaToolError && error.code === 'ENOENT'))
    return { ok: false, reason: (error as Error).message, retryable, durationMs: Date.now() - started, stderr: '' }
  }
  const durationMs = Date.now() - started
  if (run.aborted) return { ok: false, reason: 'aborted', retryable: false, durationMs, stderr: run.stderr }

  const output = run.timedOut || run.stdoutOverflow ? undefined : parseOutput(run.stdout)
  const packets = Array.isArray(output?.packets) ? (output.packets as ProbePacket[]) : []
  if (output && packets.length > 0) {
    const streams = Array.isArray(output.streams) ? (output.streams as ProbeStreamInfo[]) : []
    const result: PacketProbe = { ok: true, packets, streams, durationMs }
    if (run.code !== 0) result.warning = classifyFailure(run, timeoutS, url)
    return result
  }
  return { ok: false, reason: classifyFailure(run, timeoutS, url), retryable: true, durationMs, stderr: run.stderr }
}

const HTTP_REASONS: Record<number, string> = {
  400: 'bad request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not found',
  410: 'gone',
}

function formatSeconds(s: number): string {
  return Number.isInteger(s) ? `${s} s` : `${s.toFixed(1)} s`
}

/**
 * Returns a short reason for a failed run, from how it ended and what the
 * tool (ffprobe unless given) wrote to stderr. Pure; exported for tests.
 */
export function classifyFailure(
  run: Pick<MediaRunResult, 'code' | 'signal' | 'stderr' | 'timedOut' | 'stdoutOverflow'> & { aborted?: boolean; durationMs?: number },
  timeoutS: number,
  url?: string,
  tool: MediaTool = 'ffprobe',
): string {
  const err = run.stderr
  const within = formatSeconds(timeoutS)
  if (run.stdoutOverflow) return 'probe output too large'
  if (run.aborted) return 'aborted'

  const http = /Server returned (\d{3})\b\s*([^\r\n]*)/.exec(err) ?? /HTTP error (\d{3})\b\s*([^\r\n]*)/.exec(err)
  if (http) {
    const status = Number(http[1])
    const text = HTTP_REASONS[status] ?? (status >= 500 ? 'server error' : (http[2] || 'HTTP error').trim().toLowerCase())
    return `${text} (HTTP ${status})`
  }
  if (/Server returned 4XX/.test(err)) return 'client error (HTTP 4xx)'
  if (/Server returned 5XX/.test(err)) return 'server error (HTTP 5xx)'
  const blocked = /Protocol '([^']+)' not on whitelist/.exec(err)
  if (blocked) return `protocol not allowed: ${blocked[1]}`
  const resolve = /Failed to resolve hostname ([^\s:]+)/.exec(err)
  if (resolve) return `host not found: ${resolve[1]}`
  if (/Connection refused/i.test(err)) return 'connection refused'
  if (/No route to host|Network is unreachable|Host is unreachable/i.test(err)) return 'host unreachable'
  // The TCP connect timeout is -timeout for http(s) and libavformat's fixed 5 s for rtmp.
  if (/Connection to tcp:\/\/\S+ failed: Connection timed out/.test(err)) return 'timeout: TCP connect timed out (host unreachable or filtered)'
  const srt = /Connection to srt:\/\/\S+ failed/.exec(err)
  if (srt) return `connection failed: no SRT listener answered within ${within}`
  if (/Connection timed out/i.test(err)) return `timeout: no data within ${within}`
  if (run.timedOut) {
    const killedAfter = run.durationMs === undefined ? 'its deadline' : formatSeconds(Math.round(run.durationMs / 1000))
    return `timeout: no complete sample, ${tool === 'ffprobe' ? 'probe' : tool} killed after ${killedAfter}`
  }
  if (/Cannot read RTMP handshake response/.test(err)) return 'RTMP handshake failed'
  const rtmp = /Server error: ([^\r\n]+)/.exec(err)
  if (rtmp) return `RTMP server error: ${rtmp[1]!.trim()}`
  if (/Connection reset by peer/i.test(err)) return 'connection reset by peer'
  if (/Invalid data found when processing input/.test(err)) return 'invalid data: not a readable media stream'
  if (/udp:\/\/\S+: Input\/output error/.test(err) || (url?.startsWith('udp:') && /Input\/output error/.test(err))) {
    return `timeout: no data within ${within}`
  }
  if (/End of file/.test(err)) return 'end of stream: the source closed the connection'
  if (run.signal) return `${tool} killed by ${run.signal}`
  if (run.code === 0) return `no packets within the sample window`
  const last = lastMeaningfulLine(err, url)
  return last ? `${tool} failed: ${last}` : `${tool} exited with code ${run.code}`
}

function lastMeaningfulLine(stderr: string, url?: string): string | undefined {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !/^Last message repeated/.test(line))
  let last = lines.at(-1)
  if (last === undefined) return undefined
  if (url) last = last.split(url).join(redactUrl(url))
  last = last.replace(/^\[[^\]]+ @ 0x[0-9a-f]+\]\s*/, '')
  return last.length > 300 ? `${last.slice(0, 300)}…` : last
}
