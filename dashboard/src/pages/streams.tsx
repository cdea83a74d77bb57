// Every stream with its status, screenshot, bitrate over the last hour,
// agent and last probe. Statuses arrive on the live feed.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { enc, getJson, query } from '../api.ts'
import { Sparkline } from '../chart.tsx'
import { AuthImage, ErrorMessage, StatusBadge, useInterval, useLoad } from '../components.tsx'
import { formatAgo, formatBitrate, formatLabels, formatTime } from '../format.ts'
import { useLive } from '../live.ts'
import { canOperate, type Session } from '../session.ts'
import type { Alert, MetricsBucket, Stream } from '../types.ts'

/** Maximum stream ids of one /api/query request. */
const QUERY_CHUNK = 100

/** Returns the status the list shows: "paused" for a stream set down, else its reported status. */
export function shownStatus(stream: Stream): string {
  if (stream.desired_state === 'down') return 'paused'
  return stream.status ?? 'unknown'
}

async function loadBitrates(ids: string[]): Promise<Map<string, number[]>> {
  const byStream = new Map<string, number[]>()
  const to = Date.now()
  for (let start = 0; start < ids.length; start += QUERY_CHUNK) {
    const chunk = ids.slice(start, start + QUERY_CHUNK)
    const search = query({ stream_id: chunk, from: new Date(to - 3600_000).toISOString(), to: new Date(to).toISOString(), interval: 60 })
    const { buckets } = await getJson<{ buckets: MetricsBucket[] }>(`/api/query/metrics/v1?${search}`)
    for (const bucket of buckets) {
      const list = byStream.get(bucket.stream_id) ?? []
      list.push(bucket.bitrate)
      byStream.set(bucket.stream_id, list)
    }
  }
  return byStream
}

/** Maximum open alerts that the list shows. */
const OPEN_ALERT_LIMIT = 20

/** Lists the open alerts, newest first, and shows nothing while there are none. */
function OpenAlerts({ refreshKey }: { refreshKey: number }) {
  const alerts = useLoad(
    () => getJson<{ alerts: Alert[]; truncated: boolean }>(`/api/query/alerts/v1?${query({ state: 'open', limit: OPEN_ALERT_LIMIT })}`),
    [refreshKey],
  )
  if (alerts.error) return <ErrorMessage error={alerts.error} />
  const open = [...(alerts.data?.alerts ?? [])].sort((a, b) => Date.parse(b.fired_at) - Date.parse(a.fired_at))
  if (open.length === 0) return null
  return (
    <section class="card open-alerts">
      <h2>
        Open alerts <span class="muted small">{alerts.data?.truncated ? `latest ${open.length}` : open.length}</span>
      </h2>
      <table class="table">
        <thead>
          <tr>
            <th>stream</th>
            <th>status</th>
            <th>rule</th>
            <th>fired</th>
            <th>reason</th>
          </tr>
        </thead>
        <tbody>
          {open.map((alert) => (
            <tr key={alert.id} data-alert-id={alert.id}>
              <td>
                <a href={`#/streams/${enc(alert.stream_id)}`}>{alert.stream_id}</a>
              </td>
              <td>
                <StatusBadge status={alert.status} />
              </td>
              <td>{alert.rule_name || alert.rule_id}</td>
              <td title={formatTime(alert.fired_at)}>{formatAgo(alert.fired_at)}</td>
              <td class="reason small">{alert.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}

export function StreamsPage({ session }: { session: Session }) {
  const [streams, setStreams] = useState<Stream[] | undefined>(undefined)
  const [error, setError] = useState<unknown>(null)
  const [statusFilter, setStatusFilter] = useState('all')
  const [labelFilter, setLabelFilter] = useState('')
  const [text, setText] = useState('')
  const [thumbKey, setThumbKey] = useState(0)
  const [alertKey, setAlertKey] = useState(0)
  const pending = useRef(new Set<string>())
  const timer = useRef<number | undefined>(undefined)

  const loadAll = () =>
    getJson<{ streams: Stream[] }>('/api/state/streams/v1').then(
      (body) => {
        setStreams(body.streams)
        setError(null)
      },
      setError,
    )
  useEffect(() => {
    loadAll()
  }, [])
  useInterval(() => {
    loadAll()
    setAlertKey((value) => value + 1)
  }, 30_000)
  useInterval(() => setThumbKey((value) => value + 1), 60_000)

  const ids = useMemo(() => (streams ?? []).map((stream) => stream.id).sort(), [streams])
  const bitrates = useLoad(() => loadBitrates(ids), [ids.join(',')])
  useInterval(bitrates.reload, 60_000)

  /** Reloads the streams named in status messages, in one batch half a second after the first of them. */
  const refreshPending = async () => {
    timer.current = undefined
    const names = [...pending.current]
    pending.current.clear()
    // A status change may open or resolve an alert, so the alert list reloads too.
    setAlertKey((value) => value + 1)
    for (const id of names) {
      try {
        const stream = await getJson<Stream>(`/api/state/streams/v1/${enc(id)}`)
        setStreams((list) => (list ?? []).map((item) => (item.id === stream.id ? stream : item)))
      } catch (err) {
        setError(err)
      }
    }
  }
  useLive((message) => {
    if (message.type === 'status') {
      // Shows the reported status at once; the reload then brings the combined status of all assignments.
      setStreams((list) =>
        (list ?? []).map((item) =>
          item.id === message.stream_id && item.assignments.length <= 1
            ? { ...item, status: message.status, status_reason: message.reason, status_at: message.at }
            : item,
        ),
      )
      pending.current.add(message.stream_id)
      if (timer.current === undefined) timer.current = window.setTimeout(refreshPending, 500)
    } else if (message.type === 'agent') {
      loadAll()
    }
  })

  const filtered = (streams ?? []).filter((stream) => {
    if (statusFilter !== 'all' && shownStatus(stream) !== statusFilter) return false
    if (labelFilter.trim() !== '') {
      const [key, value] = labelFilter.split('=').map((part) => part.trim())
      const actual = stream.labels[key ?? '']
      if (actual === undefined || (value !== undefined && value !== '' && actual !== value)) return false
    }
    const needle = text.trim().toLowerCase()
    if (needle !== '' && !stream.id.toLowerCase().includes(needle) && !stream.url.toLowerCase().includes(needle)) return false
    return true
  })
  const counts = new Map<string, number>()
  for (const stream of streams ?? []) counts.set(shownStatus(stream), (counts.get(shownStatus(stream)) ?? 0) + 1)

  return (
    <div class="page streams-page">
      <div class="page-head">
        <h1>Streams</h1>
        <span class="muted">
          {streams === undefined ? 'loading…' : `${filtered.length} of ${streams.length}`}
          {[...counts].map(([status, count]) => ` · ${count} ${status}`).join('')}
        </span>
        <span class="spacer" />
        {canOperate(session) ? (
          <a class="button primary" href="#/streams/new">
            add stream
          </a>
        ) : null}
      </div>
      <div class="filters">
        <label>
          status
          <select value={statusFilter} onChange={(event) => setStatusFilter(event.currentTarget.value)} name="status-filter">
            {['all', 'up', 'degraded', 'down', 'unknown', 'paused'].map((value) => (
              <option value={value}>{value}</option>
            ))}
          </select>
        </label>
        <label>
          label
          <input name="label-filter" placeholder="region=eu" value={labelFilter} onInput={(event) => setLabelFilter(event.currentTarget.value)} />
        </label>
        <label class="grow">
          search
          <input name="text-filter" type="search" placeholder="id or URL" value={text} onInput={(event) => setText(event.currentTarget.value)} />
        </label>
      </div>
      <ErrorMessage error={error} />
      <ErrorMessage error={bitrates.error} />
      <OpenAlerts refreshKey={alertKey} />
      {streams !== undefined && streams.length === 0 ? (
        <p class="empty">No streams yet.{canOperate(session) ? ' Add one with "add stream".' : ''}</p>
      ) : null}
      <div class="stream-list">
        {filtered.map((stream) => (
          <a class="stream-row" href={`#/streams/${enc(stream.id)}`} data-stream-id={stream.id} key={stream.id}>
            <AuthImage path={`/api/state/streams/v1/${enc(stream.id)}/screenshot`} alt={`latest screenshot of ${stream.id}`} refreshKey={thumbKey} showGrabTime />
            <div class="stream-main">
              <div class="stream-title">
                <strong>{stream.id}</strong> <StatusBadge status={stream.status} desired={stream.desired_state} />
              </div>
              <div class="muted small ellipsis" title={stream.url}>
                {stream.url}
              </div>
              <div class="small reason">{stream.status_reason ?? stream.unassigned_reason ?? ''}</div>
              {Object.keys(stream.labels).length > 0 ? <div class="small muted">{formatLabels(stream.labels)}</div> : null}
            </div>
            <div class="stream-spark">
              <Sparkline values={bitrates.data?.get(stream.id) ?? []} label={`bitrate of ${stream.id} over the last hour`} />
              <div class="small muted">{formatBitrate(bitrates.data?.get(stream.id)?.at(-1))}</div>
            </div>
            <div class="stream-meta small">
              <div>
                agent <strong>{stream.assignments.map((assignment) => assignment.agent_id).join(', ') || '–'}</strong>
              </div>
              <div class="muted">probed {formatAgo(stream.last_probe_at)}</div>
            </div>
          </a>
        ))}
      </div>
    </div>
  )
}
