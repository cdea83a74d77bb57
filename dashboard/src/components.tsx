// Small parts that several pages use.
import type { ComponentChildren } from 'preact'
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { ApiError, fetchImage, type FetchedImage } from './api.ts'
import { formatAgo, formatTime } from './format.ts'
import type { StatusRow } from './types.ts'

export function StatusBadge({ status, desired }: { status: string | null; desired?: string }) {
  const text = desired === 'down' ? 'paused' : (status ?? 'unknown')
  return <span class={`badge badge-${text}`} data-status={text}>{text}</span>
}

/** Shows the message of a failed request. */
export function ErrorMessage({ error, class: className }: { error: unknown; class?: string }) {
  if (error === null || error === undefined) return null
  const message = error instanceof Error ? error.message : String(error)
  const status = error instanceof ApiError && error.status > 0 ? ` (${error.status})` : ''
  return (
    <p class={className === undefined ? 'error' : `error ${className}`} role="alert">
      {message}
      {status}
    </p>
  )
}

export interface Loaded<T> {
  data: T | undefined
  error: unknown
  loading: boolean
  reload: () => void
}

/** Runs load when deps change or reload() is called, and keeps the last data while it reloads. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<unknown>(null)
  const [loading, setLoading] = useState(true)
  const [count, setCount] = useState(0)
  const reload = useCallback(() => setCount((value) => value + 1), [])
  useEffect(() => {
    let current = true
    setLoading(true)
    load().then(
      (value) => {
        if (!current) return
        setData(value)
        setError(null)
        setLoading(false)
      },
      (err: unknown) => {
        if (!current) return
        setError(err)
        setLoading(false)
      },
    )
    return () => {
      current = false
    }
  }, [...deps, count])
  return { data, error, loading, reload }
}

/** Calls fn every ms milliseconds while mounted. */
export function useInterval(fn: () => void, ms: number): void {
  const saved = useRef(fn)
  saved.current = fn
  useEffect(() => {
    const timer = window.setInterval(() => saved.current(), ms)
    return () => window.clearInterval(timer)
  }, [ms])
}

/**
 * Shows an image fetched with the token, because an <img> cannot send the
 * Authorization header. With showGrabTime, a caption under it gives the
 * image's grab time, so that an old picture is not taken for a live one.
 */
export function AuthImage({
  path,
  alt,
  refreshKey,
  class: className,
  showGrabTime = false,
}: {
  path: string
  alt: string
  refreshKey?: unknown
  class?: string
  showGrabTime?: boolean
}) {
  const [image, setImage] = useState<FetchedImage | null | undefined>(undefined)
  useEffect(() => {
    let current = true
    let created: string | null = null
    fetchImage(path).then(
      (value) => {
        created = value?.url ?? null
        if (current) setImage(value)
        else if (value !== null) URL.revokeObjectURL(value.url)
      },
      () => current && setImage(null),
    )
    return () => {
      current = false
      if (created !== null) URL.revokeObjectURL(created)
    }
  }, [path, refreshKey])
  let picture
  if (image === undefined) picture = <div class={`thumb thumb-empty ${className ?? ''}`}>…</div>
  else if (image === null) picture = <div class={`thumb thumb-empty ${className ?? ''}`}>no screenshot</div>
  else picture = <img class={`thumb ${className ?? ''}`} src={image.url} alt={alt} />
  if (!showGrabTime) return picture
  const grabbed = image?.lastModified?.toISOString()
  return (
    <figure class="grabbed-image">
      {picture}
      {grabbed === undefined ? null : (
        <figcaption class="small muted grab-time" data-grabbed-at={grabbed} title={formatTime(grabbed)}>
          grabbed {formatAgo(grabbed)}
        </figcaption>
      )}
    </figure>
  )
}

/** Buttons that act and show the server's message when the request fails. */
export function ActionButton(props: {
  onClick: () => Promise<unknown>
  children: ComponentChildren
  confirm?: string
  class?: string
  onError: (error: unknown) => void
}) {
  const [busy, setBusy] = useState(false)
  const click = async () => {
    if (props.confirm !== undefined && !window.confirm(props.confirm)) return
    setBusy(true)
    try {
      await props.onClick()
      props.onError(null)
    } catch (error) {
      props.onError(error)
    } finally {
      setBusy(false)
    }
  }
  return (
    <button type="button" class={props.class ?? ''} disabled={busy} onClick={click}>
      {props.children}
    </button>
  )
}

/**
 * Draws a band of the status in force over the range. Each row's status
 * lasts until the next row, and time before the first row is unknown (grey).
 */
export function StatusBand({ rows, from, to }: { rows: StatusRow[]; from: number; to: number }) {
  const span = to - from
  const segments: { start: number; end: number; status: string; reason: string }[] = []
  rows.forEach((row, index) => {
    const start = Math.max(from, Date.parse(row.ts))
    const next = rows[index + 1]
    const end = next === undefined ? to : Math.min(to, Date.parse(next.ts))
    if (end > start) segments.push({ start, end, status: row.status, reason: row.reason })
  })
  return (
    <div class="status-band" role="img" aria-label={`status history: ${segments.length} periods`} data-segments={segments.length}>
      {segments.map((segment) => (
        <span
          class={`band band-${segment.status}`}
          title={`${segment.status}: ${segment.reason} (${new Date(segment.start).toLocaleString()})`}
          style={{ left: `${((segment.start - from) / span) * 100}%`, width: `${((segment.end - segment.start) / span) * 100}%` }}
        />
      ))}
    </div>
  )
}

export type RangeKind = '1h' | '24h' | '7d' | 'custom'
export interface RangeChoice {
  kind: RangeKind
  /** Values of the datetime-local inputs, for custom. */
  from: string
  to: string
}

const RANGE_SECONDS: Record<Exclude<RangeKind, 'custom'>, number> = { '1h': 3600, '24h': 86_400, '7d': 604_800 }

/** Returns the range in milliseconds since the epoch; custom falls back to the last hour when an input is empty. */
export function resolveRange(choice: RangeChoice, now = Date.now()): { from: number; to: number } {
  if (choice.kind !== 'custom') return { from: now - RANGE_SECONDS[choice.kind] * 1000, to: now }
  const from = Date.parse(choice.from)
  const to = choice.to === '' ? now : Date.parse(choice.to)
  if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) return { from: now - 3600_000, to: now }
  return { from, to }
}

const NICE_INTERVALS = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]

/** Bucket width in seconds that gives at most about maxBuckets buckets over the range. */
export function bucketSeconds(fromMs: number, toMs: number, maxBuckets = 360): number {
  const wanted = (toMs - fromMs) / 1000 / maxBuckets
  return NICE_INTERVALS.find((value) => value >= wanted) ?? 86400
}

export function RangePicker({ value, onChange }: { value: RangeChoice; onChange: (choice: RangeChoice) => void }) {
  const kinds: [RangeKind, string][] = [
    ['1h', 'last hour'],
    ['24h', 'last day'],
    ['7d', 'last week'],
    ['custom', 'custom'],
  ]
  return (
    <div class="range-picker">
      <div class="segmented" role="group" aria-label="time range">
        {kinds.map(([kind, label]) => (
          <button type="button" class={value.kind === kind ? 'active' : ''} aria-pressed={value.kind === kind} onClick={() => onChange({ ...value, kind })}>
            {label}
          </button>
        ))}
      </div>
      {value.kind === 'custom' ? (
        <span class="custom-range">
          <label>
            from <input type="datetime-local" value={value.from} onChange={(event) => onChange({ ...value, from: event.currentTarget.value })} />
          </label>
          <label>
            to <input type="datetime-local" value={value.to} onChange={(event) => onChange({ ...value, to: event.currentTarget.value })} />
          </label>
        </span>
      ) : null}
    </div>
  )
}
