// One stream: its settings and status, charts over a chosen range,
// status history, screenshots, and the operator actions.
import { useState } from 'preact/hooks'
import { deleteJson, enc, getJson, postJson, query } from '../api.ts'
import { TimeChart } from '../chart.tsx'
import {
  ActionButton,
  AuthImage,
  bucketSeconds,
  ErrorMessage,
  RangePicker,
  resolveRange,
  StatusBadge,
  StatusBand,
  useInterval,
  useLoad,
  type RangeChoice,
} from '../components.tsx'
import { formatAgo, formatBitrate, formatBitrateTicks, formatLabels, formatTime } from '../format.ts'
import { useLive } from '../live.ts'
import { canOperate, type Session } from '../session.ts'
import type { AvRow, MetricsBucket, Screenshot, StatusRow, Stream, ViewerBucket } from '../types.ts'

interface StreamCharts {
  from: number
  to: number
  interval: number
  metrics: MetricsBucket[]
  av: AvRow[]
  statuses: StatusRow[]
  unique: ViewerBucket[]
  uniqueTotal: number
  concurrent: ViewerBucket[]
  peak: number
}

async function loadCharts(id: string, range: RangeChoice): Promise<StreamCharts> {
  const { from, to } = resolveRange(range)
  const interval = bucketSeconds(from, to)
  const window = { stream_id: id, from: new Date(from).toISOString(), to: new Date(to).toISOString() }
  const [metrics, av, statuses, unique, concurrent] = await Promise.all([
    getJson<{ buckets: MetricsBucket[] }>(`/api/query/metrics/v1?${query({ ...window, interval })}`),
    getJson<{ rows: AvRow[] }>(`/api/query/av/v1?${query({ ...window, limit: 5000 })}`),
    getJson<{ rows: StatusRow[] }>(`/api/query/statuses/v1?${query(window)}`),
    getJson<{ streams: { unique_viewers: number }[]; buckets: ViewerBucket[] }>(`/api/query/unique/v1?${query({ ...window, interval })}`),
    getJson<{ streams: { peak_viewers: number }[]; buckets: ViewerBucket[] }>(`/api/query/concurrent/v1?${query({ ...window, interval })}`),
  ])
  return {
    from,
    to,
    interval,
    metrics: metrics.buckets,
    av: av.rows,
    statuses: statuses.rows,
    unique: unique.buckets,
    uniqueTotal: unique.streams[0]?.unique_viewers ?? 0,
    concurrent: concurrent.buckets,
    peak: concurrent.streams[0]?.peak_viewers ?? 0,
  }
}

const seconds = (iso: string) => Date.parse(iso) / 1000
const fixed = (digits: number) => (value: number) => value.toFixed(digits)

function Charts({ data }: { data: StreamCharts }) {
  const range: [number, number] = [data.from / 1000, data.to / 1000]
  const mx = data.metrics.map((bucket) => seconds(bucket.ts))
  const ax = data.av.map((row) => seconds(row.ts))
  return (
    <div class="charts">
      <TimeChart
        title={`bitrate (average, min and max per ${data.interval} s)`}
        x={mx}
        range={range}
        format={formatBitrate}
        axisFormat={formatBitrateTicks}
        series={[
          { label: 'average', color: '--c1', values: data.metrics.map((bucket) => bucket.bitrate) },
          { label: 'min', color: '--c3', values: data.metrics.map((bucket) => bucket.bitrate_min) },
          { label: 'max', color: '--c2', values: data.metrics.map((bucket) => bucket.bitrate_max) },
        ]}
      />
      <TimeChart title="frames per second" x={mx} range={range} format={fixed(1)} series={[{ label: 'fps', color: '--c1', values: data.metrics.map((bucket) => bucket.fps) }]} />
      <TimeChart
        title="keyframe interval (frames)"
        x={mx}
        range={range}
        format={fixed(0)}
        series={[{ label: 'frames', color: '--c2', values: data.metrics.map((bucket) => bucket.keyframe_interval) }]}
      />
      <TimeChart
        title="black, frozen and silent seconds per check"
        x={ax}
        range={range}
        format={fixed(1)}
        series={[
          { label: 'black s', color: '--c4', values: data.av.map((row) => row.black_s), bars: true },
          { label: 'freeze s', color: '--c2', values: data.av.map((row) => row.freeze_s), bars: true },
          { label: 'silence s', color: '--c3', values: data.av.map((row) => row.silence_s), bars: true },
        ]}
      />
      <TimeChart
        title="loudness"
        x={ax}
        range={range}
        format={fixed(1)}
        series={[
          { label: 'integrated LUFS', color: '--c1', values: data.av.map((row) => row.integrated_lufs) },
          { label: 'true peak dBTP', color: '--c4', values: data.av.map((row) => row.true_peak_dbtp) },
        ]}
      />
      <TimeChart
        title={`viewers (${data.uniqueTotal} unique, peak ${data.peak} concurrent)`}
        x={data.unique.map((bucket) => seconds(bucket.ts))}
        range={range}
        format={fixed(0)}
        series={[{ label: 'viewers', color: '--c1', values: data.unique.map((bucket) => bucket.viewers) }]}
      />
      <TimeChart
        title={`concurrent viewers (distinct per ${data.interval} s)`}
        x={data.concurrent.map((bucket) => seconds(bucket.ts))}
        range={range}
        format={fixed(0)}
        series={[{ label: 'concurrent', color: '--c2', values: data.concurrent.map((bucket) => bucket.viewers) }]}
      />
    </div>
  )
}

/** Statuses for which the page shows the failure evidence. */
const FAILED_STATUSES = new Set(['down', 'degraded'])

/** Attempts, and the pause between them, while the status row of a new change is not yet stored. */
const FAILURE_LOAD_TRIES = 5
const FAILURE_RETRY_MS = 2000

/**
 * Loads the latest down or degraded row since the stream's current status
 * began, or returns null when none is found. The live feed announces a
 * change before the controller's storage may return its row, so an empty
 * result is retried a few times.
 */
async function loadFailure(id: string, statusAt: string): Promise<StatusRow | null> {
  // One second of margin before status_at, because it and the row's time may be rounded differently.
  const from = new Date(Date.parse(statusAt) - 1000).toISOString()
  for (let attempt = 1; ; attempt++) {
    const to = new Date(Date.now() + 1000).toISOString()
    const { rows } = await getJson<{ rows: StatusRow[] }>(`/api/query/statuses/v1?${query({ stream_id: id, from, to })}`)
    const latest = rows.filter((row) => FAILED_STATUSES.has(row.status)).at(-1)
    if (latest !== undefined) return latest
    if (attempt >= FAILURE_LOAD_TRIES) return null
    await new Promise((done) => setTimeout(done, FAILURE_RETRY_MS))
  }
}

/** Shows why the stream failed: the probe's error output and the screenshot closest to the change. */
function FailureEvidence({ stream, refreshKey }: { stream: Stream; refreshKey: number }) {
  const failed = stream.desired_state === 'up' && stream.status !== null && FAILED_STATUSES.has(stream.status) && stream.status_at !== null
  const failure = useLoad(
    () => (failed ? loadFailure(stream.id, stream.status_at!) : Promise.resolve(null)),
    [stream.id, failed, stream.status_at, refreshKey],
  )
  if (!failed) return null
  const row = failure.data
  return (
    <section class="card failure" data-status={stream.status}>
      <h2>Why the stream is {stream.status}</h2>
      <ErrorMessage error={failure.error} />
      {row === undefined ? <p class="muted">loading the failure details…</p> : null}
      {row === null ? <p class="muted">No down or degraded status row found since {formatTime(stream.status_at)}.</p> : null}
      {row ? (
        <>
          <p class="small">
            <strong>{row.status}</strong> at <time dateTime={row.ts}>{formatTime(row.ts)}</time> ({formatAgo(row.ts)}), reported by {row.agent_id}
            {row.reason ? `: ${row.reason}` : ''}
          </p>
          <div class="failure-evidence">
            <div class="failure-output">
              <h3>error output</h3>
              {row.error_output === '' ? (
                <p class="muted small">The agent sent no error output with this status.</p>
              ) : (
                <pre class="error-output" tabIndex={0}>
                  {row.error_output}
                </pre>
              )}
            </div>
            <figure class="failure-screenshot">
              <h3>screenshot</h3>
              {row.screenshot === null ? (
                <p class="muted small">No screenshot was kept within 5 minutes of the change.</p>
              ) : (
                <>
                  <AuthImage class="latest" path={row.screenshot.url} alt={`screenshot of ${stream.id} near the status change`} />
                  <figcaption class="small muted">
                    grabbed at <time dateTime={row.screenshot.ts}>{formatTime(row.screenshot.ts)}</time>
                  </figcaption>
                </>
              )}
            </figure>
          </div>
        </>
      ) : null}
    </section>
  )
}

function Screenshots({ id, refreshKey }: { id: string; refreshKey: number }) {
  const list = useLoad(() => getJson<{ screenshots: Screenshot[] }>(`/api/state/streams/v1/${enc(id)}/screenshots`), [id, refreshKey])
  const shots = (list.data?.screenshots ?? []).slice(0, 12)
  return (
    <section>
      <h2>Screenshots</h2>
      <ErrorMessage error={list.error} />
      {shots.length === 0 && list.data !== undefined ? <p class="muted">No screenshots kept.</p> : null}
      <div class="shots">
        {shots.map((shot) => (
          <figure key={shot.ts_ms}>
            <AuthImage path={shot.url} alt={`screenshot at ${shot.ts}`} />
            <figcaption class="small muted">{formatTime(shot.ts)}</figcaption>
          </figure>
        ))}
      </div>
    </section>
  )
}

export function StreamPage({ session, id }: { session: Session; id: string }) {
  const [range, setRange] = useState<RangeChoice>({ kind: '1h', from: '', to: '' })
  const [actionError, setActionError] = useState<unknown>(null)
  const [tick, setTick] = useState(0)
  const stream = useLoad(() => getJson<Stream>(`/api/state/streams/v1/${enc(id)}`), [id])
  const charts = useLoad(() => loadCharts(id, range), [id, range.kind, range.from, range.to])
  useInterval(() => {
    stream.reload()
    setTick((value) => value + 1)
    if (range.kind !== 'custom') charts.reload()
  }, 15_000)
  useLive((message) => {
    if (message.type === 'status' && message.stream_id === id) stream.reload()
  }, [id])

  const path = `/api/state/streams/v1/${enc(id)}`
  const act = async (action: 'up' | 'down') => {
    await postJson(`${path}/${action}`)
    stream.reload()
  }
  const remove = async () => {
    await deleteJson(`${path}/delete`)
    location.hash = '#/streams'
  }
  const current = stream.data

  return (
    <div class="page stream-page">
      <div class="page-head">
        <a href="#/streams" class="muted">
          Streams
        </a>
        <span class="muted">/</span>
        <h1>{id}</h1>
        {current ? <StatusBadge status={current.status} desired={current.desired_state} /> : null}
        <span class="spacer" />
        {canOperate(session) && current ? (
          <div class="actions">
            <a class="button" href={`#/streams/${enc(id)}/edit`}>
              edit
            </a>
            {current.desired_state === 'down' ? (
              <ActionButton onClick={() => act('up')} onError={setActionError}>
                start
              </ActionButton>
            ) : (
              <ActionButton onClick={() => act('down')} onError={setActionError}>
                pause
              </ActionButton>
            )}
            <ActionButton class="danger" onClick={remove} onError={setActionError} confirm={`Delete stream ${id} and stop monitoring it?`}>
              delete
            </ActionButton>
          </div>
        ) : null}
      </div>
      <ErrorMessage error={actionError} />
      <ErrorMessage error={stream.error} />
      {current ? (
        <section class="card details">
          <dl>
            <dt>URL</dt>
            <dd class="ellipsis" title={current.url}>
              {current.url}
            </dd>
            <dt>status</dt>
            <dd class="reason">
              {current.status ?? 'unknown'}
              {current.status_reason ? `: ${current.status_reason}` : ''}
              {current.unassigned_reason ? ` (${current.unassigned_reason})` : ''}
            </dd>
            <dt>agents</dt>
            <dd>
              {current.assignments.length === 0
                ? 'none'
                : current.assignments.map((assignment) => `${assignment.agent_id}${assignment.slot ? ` [${assignment.slot}]` : ''}: ${assignment.status ?? 'no report'}`).join('; ')}
            </dd>
            <dt>last probe</dt>
            <dd>{formatAgo(current.last_probe_at)}</dd>
            <dt>probe</dt>
            <dd>
              every {current.probe.interval_s} s, {current.probe.sample_s} s sample, {current.probe.timeout_s} s timeout
            </dd>
            <dt>labels</dt>
            <dd>{formatLabels(current.labels) || '–'}</dd>
            <dt>scheduling</dt>
            <dd>
              weight {current.weight}
              {Object.keys(current.required_labels).length > 0 ? `, requires ${formatLabels(current.required_labels)}` : ''}
              {current.pinned_agent_id ? `, pinned to ${current.pinned_agent_id}` : ''}
              {current.vantage ? `, ${current.vantage.count} vantage points by ${current.vantage.label}` : ''}
            </dd>
          </dl>
          <AuthImage class="latest" path={`${path}/screenshot`} alt={`latest screenshot of ${id}`} refreshKey={tick} showGrabTime />
        </section>
      ) : null}
      {current ? <FailureEvidence stream={current} refreshKey={tick} /> : null}
      <div class="page-head">
        <h2>History</h2>
        <span class="spacer" />
        <RangePicker value={range} onChange={setRange} />
      </div>
      <ErrorMessage error={charts.error} />
      {charts.data ? (
        <>
          <section>
            <h3>status</h3>
            <StatusBand rows={charts.data.statuses} from={charts.data.from} to={charts.data.to} />
            <div class="legend small">
              <span class="band-key band-up" /> up <span class="band-key band-degraded" /> degraded <span class="band-key band-down" /> down{' '}
              <span class="band-key band-unknown" /> unknown
            </div>
          </section>
          <Charts data={charts.data} />
        </>
      ) : (
        <p class="muted">loading charts…</p>
      )}
      <Screenshots id={id} refreshKey={tick} />
    </div>
  )
}
