// Turns a playlist analysis report into the summary the controller stores
// (a `playlist` message without its type). Pure.
import type { Playlist } from '@monit/protocol'
import type { PlaylistReport } from '../analysis/playlist/report.ts'
import { maxDownloadRatio } from './verdict.ts'

export type PlaylistSummary = Omit<Playlist, 'type'>

/** Summarises one pass of an assignment's playlist check. */
export function summarisePlaylist(report: PlaylistReport, epoch: number): PlaylistSummary {
  const { variants, requests } = report
  const sequences = variants.flatMap((variant) =>
    variant.playlist === undefined ? [] : [variant.playlist.mediaSequence],
  )
  const summary: PlaylistSummary = {
    stream_id: report.streamId,
    epoch,
    ts_ms: Math.max(0, Math.round(report.startedAt)),
    ok: report.ok,
    variants_total: variants.length,
    variants_ok: variants.filter((variant) => variant.available).length,
    stale: variants.some((variant) => variant.tracking?.stale === true),
    media_sequence: sequences.length > 0 ? Math.max(...sequences) : null,
    requests: requests.requests,
    errors: requests.errors,
    error_share: Math.min(1, Math.max(0, requests.errorShare)),
    max_download_ratio: maxDownloadRatio(report),
    discontinuities: sum(variants.map((variant) => variant.tracking?.discontinuities ?? 0)),
    resets: variants.filter((variant) => variant.tracking?.event !== undefined).length,
  }
  if (report.reason !== undefined) summary.error = report.reason.slice(0, 2048)
  return summary
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0)
}
