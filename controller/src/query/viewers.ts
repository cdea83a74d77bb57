// Reads of the heatmap table, where each player beacon is one row. A viewer
// is one distinct uniq_id, counted exactly (uniqExact).
import type { Storage } from '../storage/index.ts'
import { BUCKET_START_MS, IN_WINDOW, isoTime, windowParams, type QueryWindow } from './window.ts'

type Quoted = string | number

export interface ViewerBucket {
  stream_id: string
  /** Bucket start. */
  ts: string
  viewers: number
}

/** Counts distinct viewers per stream over the whole window. Streams without beacons get 0. */
export async function readUniqueViewers(storage: Storage, window: QueryWindow): Promise<Map<string, number>> {
  const records = await storage.query<{ stream_id: string; viewers: Quoted }>(
    `SELECT stream_id, uniqExact(uniq_id) AS viewers
     FROM ${storage.table('heatmap')}
     WHERE ${IN_WINDOW}
     GROUP BY stream_id`,
    windowParams(window),
  )
  const counts = new Map(window.streamIds.map((id) => [id, 0]))
  for (const row of records) counts.set(row.stream_id, Number(row.viewers))
  return counts
}

/**
 * Counts distinct viewers per bucket, by stream and then time. A beacon
 * counts in the bucket its insert_ts falls into. Empty buckets are left out.
 */
export async function readViewerBuckets(storage: Storage, window: QueryWindow): Promise<ViewerBucket[]> {
  const records = await storage.query<{ stream_id: string; bucket_ms: Quoted; viewers: Quoted }>(
    `SELECT stream_id, ${BUCKET_START_MS} AS bucket_ms, uniqExact(uniq_id) AS viewers
     FROM ${storage.table('heatmap')}
     WHERE ${IN_WINDOW}
     GROUP BY stream_id, bucket_ms
     ORDER BY stream_id, bucket_ms`,
    windowParams(window),
  )
  return records.map((row) => ({ stream_id: row.stream_id, ts: isoTime(row.bucket_ms), viewers: Number(row.viewers) }))
}

export interface ViewerPeak {
  stream_id: string
  peak_viewers: number
  /** Start of the first bucket with the peak, or null without beacons. */
  peak_ts: string | null
}

/** Finds the highest bucket of each stream. The earliest one wins a tie. */
export function peaksOf(streamIds: readonly string[], buckets: readonly ViewerBucket[]): ViewerPeak[] {
  const peaks = new Map<string, ViewerPeak>(
    streamIds.map((id) => [id, { stream_id: id, peak_viewers: 0, peak_ts: null }]),
  )
  for (const bucket of buckets) {
    const peak = peaks.get(bucket.stream_id)
    if (peak === undefined || bucket.viewers <= peak.peak_viewers) continue
    peak.peak_viewers = bucket.viewers
    peak.peak_ts = bucket.ts
  }
  return [...peaks.values()]
}

/** Heatmap columns that the platform breakdown counts viewers by. */
export const PLATFORM_DIMENSIONS = ['platform', 'os', 'browser', 'app'] as const
export type PlatformDimension = (typeof PLATFORM_DIMENSIONS)[number]

export interface ValueCount {
  value: string
  viewers: number
}

export type PlatformBreakdown = { stream_id: string } & Record<PlatformDimension, ValueCount[]>

/**
 * Counts distinct viewers per value of each platform column, most viewers
 * first, at most `limit` values per column. A viewer seen with two values
 * counts once under each. An empty value means neither the beacon nor its
 * User-Agent gave one.
 */
export async function readPlatforms(storage: Storage, window: QueryWindow, limit: number): Promise<PlatformBreakdown[]> {
  // Column names come from PLATFORM_DIMENSIONS, never from the request.
  const pairs = PLATFORM_DIMENSIONS.map((column) => `('${column}', toString(${column}))`).join(', ')
  const records = await storage.query<{ stream_id: string; dimension: PlatformDimension; value: string; viewers: Quoted }>(
    `SELECT stream_id, tupleElement(pair, 1) AS dimension, tupleElement(pair, 2) AS value,
            uniqExact(uniq_id) AS viewers
     FROM ${storage.table('heatmap')}
     ARRAY JOIN [${pairs}] AS pair
     WHERE ${IN_WINDOW}
     GROUP BY stream_id, dimension, value
     ORDER BY stream_id, dimension, viewers DESC, value
     LIMIT {limit:UInt32} BY stream_id, dimension`,
    { ...windowParams(window), limit },
  )
  const breakdowns = new Map<string, PlatformBreakdown>(
    window.streamIds.map((id) => [id, { stream_id: id, platform: [], os: [], browser: [], app: [] }]),
  )
  for (const row of records) {
    breakdowns.get(row.stream_id)?.[row.dimension].push({ value: row.value, viewers: Number(row.viewers) })
  }
  return [...breakdowns.values()]
}

export interface RegionCount {
  region: string
  viewers: number
}

export interface CountryCount {
  country: string
  viewers: number
  regions: RegionCount[]
}

export interface GeoBreakdown {
  stream_id: string
  countries: CountryCount[]
}

/**
 * Counts distinct viewers per country and, within it, per region, most
 * viewers first. An empty country or region means the lookup found none.
 */
export async function readGeo(storage: Storage, window: QueryWindow): Promise<GeoBreakdown[]> {
  const table = storage.table('heatmap')
  const params = windowParams(window)
  // The country totals need their own count: a viewer seen in two regions is one viewer of the country.
  const [countryRows, regionRows] = await Promise.all([
    storage.query<{ stream_id: string; country_name: string; viewers: Quoted }>(
      `SELECT stream_id, toString(country) AS country_name, uniqExact(uniq_id) AS viewers
       FROM ${table}
       WHERE ${IN_WINDOW}
       GROUP BY stream_id, country_name
       ORDER BY stream_id, viewers DESC, country_name`,
      params,
    ),
    storage.query<{ stream_id: string; country_name: string; region_name: string; viewers: Quoted }>(
      `SELECT stream_id, toString(country) AS country_name, toString(region) AS region_name,
              uniqExact(uniq_id) AS viewers
       FROM ${table}
       WHERE ${IN_WINDOW}
       GROUP BY stream_id, country_name, region_name
       ORDER BY stream_id, viewers DESC, region_name`,
      params,
    ),
  ])

  const countries = new Map<string, CountryCount>()
  const breakdowns = new Map<string, GeoBreakdown>(window.streamIds.map((id) => [id, { stream_id: id, countries: [] }]))
  for (const row of countryRows) {
    const country: CountryCount = { country: row.country_name, viewers: Number(row.viewers), regions: [] }
    countries.set(`${row.stream_id}\n${row.country_name}`, country)
    breakdowns.get(row.stream_id)?.countries.push(country)
  }
  for (const row of regionRows) {
    const region = { region: row.region_name, viewers: Number(row.viewers) }
    countries.get(`${row.stream_id}\n${row.country_name}`)?.regions.push(region)
  }
  return [...breakdowns.values()]
}
