// Viewers of the chosen streams over a range: distinct and concurrent
// viewers, platforms, browsers, operating systems and countries.
import { useState } from 'preact/hooks'
import { getJson, query } from '../api.ts'
import { TimeChart } from '../chart.tsx'
import { bucketSeconds, ErrorMessage, RangePicker, resolveRange, useLoad, type RangeChoice } from '../components.tsx'
import type { GeoStreams, PlatformStreams, Stream, ValueCount, ViewerBucket } from '../types.ts'

/** Maximum stream ids of one /api/query request. */
const MAX_STREAMS = 100

interface ViewerData {
  from: number
  to: number
  interval: number
  unique: number
  peak: number
  uniqueBuckets: ViewerBucket[]
  concurrentBuckets: ViewerBucket[]
  platform: Map<string, number>
  os: Map<string, number>
  browser: Map<string, number>
  countries: Map<string, number>
}

function add(target: Map<string, number>, values: ValueCount[]): void {
  for (const { value, viewers } of values) target.set(value, (target.get(value) ?? 0) + viewers)
}

/** Sums per-bucket counts over streams; a viewer of two streams counts twice. */
function sumBuckets(buckets: ViewerBucket[]): ViewerBucket[] {
  const byTs = new Map<string, number>()
  for (const bucket of buckets) byTs.set(bucket.ts, (byTs.get(bucket.ts) ?? 0) + bucket.viewers)
  return [...byTs].sort(([a], [b]) => Date.parse(a) - Date.parse(b)).map(([ts, viewers]) => ({ stream_id: '', ts, viewers }))
}

async function loadViewers(ids: string[], range: RangeChoice): Promise<ViewerData> {
  const { from, to } = resolveRange(range)
  const interval = bucketSeconds(from, to)
  const window = { stream_id: ids, from: new Date(from).toISOString(), to: new Date(to).toISOString() }
  const [unique, concurrent, platform, geo] = await Promise.all([
    getJson<{ streams: { unique_viewers: number }[]; buckets: ViewerBucket[] }>(`/api/query/unique/v1?${query({ ...window, interval })}`),
    getJson<{ streams: { peak_viewers: number }[]; buckets: ViewerBucket[] }>(`/api/query/concurrent/v1?${query({ ...window, interval })}`),
    getJson<{ streams: PlatformStreams[] }>(`/api/query/platform/v1?${query({ ...window, limit: 20 })}`),
    getJson<{ streams: GeoStreams[] }>(`/api/query/geo/v1?${query(window)}`),
  ])
  const data: ViewerData = {
    from,
    to,
    interval,
    unique: unique.streams.reduce((sum, stream) => sum + stream.unique_viewers, 0),
    peak: concurrent.streams.reduce((max, stream) => Math.max(max, stream.peak_viewers), 0),
    uniqueBuckets: sumBuckets(unique.buckets),
    concurrentBuckets: sumBuckets(concurrent.buckets),
    platform: new Map(),
    os: new Map(),
    browser: new Map(),
    countries: new Map(),
  }
  for (const stream of platform.streams) {
    add(data.platform, stream.platform)
    add(data.os, stream.os)
    add(data.browser, stream.browser)
  }
  for (const stream of geo.streams) {
    add(data.countries, stream.countries.map((country) => ({ value: country.country, viewers: country.viewers })))
  }
  return data
}

function Breakdown({ title, counts }: { title: string; counts: Map<string, number> }) {
  const rows = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 10)
  const max = rows[0]?.[1] ?? 1
  return (
    <section class="card breakdown">
      <h3>{title}</h3>
      {rows.length === 0 ? <p class="muted small">no viewers in this range</p> : null}
      <table>
        <tbody>
          {rows.map(([value, viewers]) => (
            <tr>
              <td>{value === '' ? <span class="muted">unknown</span> : value}</td>
              <td class="bar-cell">
                <span class="bar" style={{ width: `${(viewers / max) * 100}%` }} />
              </td>
              <td class="num">{viewers}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}

export function ViewersPage() {
  const [range, setRange] = useState<RangeChoice>({ kind: '24h', from: '', to: '' })
  const [chosen, setChosen] = useState<string[] | null>(null)
  const streams = useLoad(() => getJson<{ streams: Stream[] }>('/api/state/streams/v1'), [])
  const all = (streams.data?.streams ?? []).map((stream) => stream.id)
  const ids = (chosen ?? all).slice(0, MAX_STREAMS)
  const viewers = useLoad(() => (ids.length === 0 ? Promise.resolve(undefined) : loadViewers(ids, range)), [ids.join(','), range.kind, range.from, range.to])
  const toggle = (id: string) => {
    const current = new Set(chosen ?? all)
    if (current.has(id)) current.delete(id)
    else current.add(id)
    setChosen(all.filter((item) => current.has(item)))
  }
  const data = viewers.data
  const axis: [number, number] | undefined = data ? [data.from / 1000, data.to / 1000] : undefined

  return (
    <div class="page viewers-page">
      <div class="page-head">
        <h1>Viewers</h1>
        <span class="spacer" />
        <RangePicker value={range} onChange={setRange} />
      </div>
      <ErrorMessage error={streams.error} />
      <details class="card stream-picker">
        <summary>
          streams: {chosen === null ? `all (${all.length})` : `${ids.length} of ${all.length}`}
          {all.length > MAX_STREAMS ? ` (the first ${MAX_STREAMS} are queried)` : ''}
        </summary>
        <div class="picker-actions">
          <button type="button" onClick={() => setChosen(null)}>
            all
          </button>
          <button type="button" onClick={() => setChosen([])}>
            none
          </button>
        </div>
        <div class="picker-list">
          {all.map((id) => (
            <label class="check">
              <input type="checkbox" checked={ids.includes(id)} onChange={() => toggle(id)} /> {id}
            </label>
          ))}
        </div>
      </details>
      <ErrorMessage error={viewers.error} />
      {ids.length === 0 ? <p class="empty">Choose at least one stream.</p> : null}
      {data && axis ? (
        <>
          <div class="summary">
            <div class="card stat" data-stat="unique">
              <div class="stat-value">{data.unique}</div>
              <div class="muted small">unique viewers (summed over streams)</div>
            </div>
            <div class="card stat" data-stat="peak">
              <div class="stat-value">{data.peak}</div>
              <div class="muted small">peak concurrent on one stream</div>
            </div>
          </div>
          <div class="charts">
            <TimeChart
              title={`distinct viewers per ${data.interval} s`}
              x={data.uniqueBuckets.map((bucket) => Date.parse(bucket.ts) / 1000)}
              range={axis}
              format={(value) => value.toFixed(0)}
              series={[{ label: 'viewers', color: '--c1', values: data.uniqueBuckets.map((bucket) => bucket.viewers) }]}
            />
            <TimeChart
              title="concurrent viewers"
              x={data.concurrentBuckets.map((bucket) => Date.parse(bucket.ts) / 1000)}
              range={axis}
              format={(value) => value.toFixed(0)}
              series={[{ label: 'concurrent', color: '--c2', values: data.concurrentBuckets.map((bucket) => bucket.viewers) }]}
            />
          </div>
          <div class="breakdowns">
            <Breakdown title="platforms" counts={data.platform} />
            <Breakdown title="browsers" counts={data.browser} />
            <Breakdown title="operating systems" counts={data.os} />
            <Breakdown title="countries" counts={data.countries} />
          </div>
        </>
      ) : null}
    </div>
  )
}
