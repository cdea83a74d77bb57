// Heatmap beacons as players send them, and the matching writer rows.
export function beacons(count: number, seed: number): Array<Record<string, string>> {
  return Array.from({ length: count }, (_, index) => ({
    stream_id: `bench-${(seed + index) % 50}`,
    unique_id: `viewer-${seed}-${index}`,
    app: 'bench-player',
    version: '1.0.0',
    host: 'www.example.com',
  }))
}

/** The rows the controller writes for beacons, for feeding the writer directly. */
export function heatmapRows(count: number, seed: number): Array<Record<string, string | number>> {
  const now = Date.now()
  return beacons(count, seed).map((beacon) => ({
    stream_id: beacon.stream_id!,
    uniq_id: beacon.unique_id!,
    platform: 'desktop',
    app: beacon.app!,
    version: beacon.version!,
    os: 'Linux',
    browser: 'Chrome 131.0.0.0',
    country: '',
    region: '',
    host: beacon.host!,
    user_agent: USER_AGENT,
    insert_ts: now,
  }))
}

export const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
