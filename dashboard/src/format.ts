// Formatting of numbers, times and durations for display.

export function formatBitrate(bitsPerSecond: number | null | undefined): string {
  if (bitsPerSecond === null || bitsPerSecond === undefined || !Number.isFinite(bitsPerSecond)) return '–'
  if (bitsPerSecond >= 1e6) return `${(bitsPerSecond / 1e6).toFixed(2)} Mbit/s`
  if (bitsPerSecond >= 1e3) return `${(bitsPerSecond / 1e3).toFixed(0)} kbit/s`
  return `${bitsPerSecond.toFixed(0)} bit/s`
}

/** Maximum decimals of a tick label. */
const MAX_TICK_DECIMALS = 6

/**
 * Formats the bitrate ticks of a chart axis (bit/s) as 650k or 2.05M. All
 * ticks share the unit of the largest one and the fewest decimals that show
 * each tick to within 1% of the tick spacing, so adjacent ticks differ.
 */
export function formatBitrateTicks(ticks: number[]): string[] {
  const largest = Math.max(0, ...ticks.map((tick) => Math.abs(tick)))
  const [divisor, suffix] = largest >= 1e6 ? [1e6, 'M'] : largest >= 1e3 ? [1e3, 'k'] : [1, '']
  const scaled = ticks.map((tick) => tick / divisor)
  let spacing = Infinity
  for (let i = 1; i < scaled.length; i++) {
    const gap = Math.abs(scaled[i]! - scaled[i - 1]!)
    if (gap > 0) spacing = Math.min(spacing, gap)
  }
  // A lone tick, or ticks that are all equal, have no spacing, so their own size sets the precision.
  const tolerance = (Number.isFinite(spacing) ? spacing : largest / divisor) / 100
  const fits = (digits: number) => scaled.every((value) => Math.abs(Number(value.toFixed(digits)) - value) <= tolerance)
  let decimals = 0
  while (decimals < MAX_TICK_DECIMALS && !fits(decimals)) decimals++
  return scaled.map((value) => (value === 0 ? '0' : `${value.toFixed(decimals)}${suffix}`))
}

/** "12 s ago", "5 min ago", "3 h ago" or the date, for an ISO time; "never" for null. */
export function formatAgo(iso: string | null | undefined, now = Date.now()): string {
  if (iso === null || iso === undefined) return 'never'
  const ms = now - Date.parse(iso)
  if (!Number.isFinite(ms)) return iso
  const seconds = Math.max(0, Math.round(ms / 1000))
  if (seconds < 90) return `${seconds} s ago`
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min ago`
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h ago`
  return formatTime(iso)
}

export function formatTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '–'
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString()
}

export function formatLabels(labels: Record<string, string> | null | undefined): string {
  if (labels === null || labels === undefined) return ''
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ')
}

/** Parses "a=1, b=2" into labels, and throws naming the entry that has no "=". */
export function parseLabels(text: string, field: string): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const entry of text.split(',')) {
    const trimmed = entry.trim()
    if (trimmed === '') continue
    const at = trimmed.indexOf('=')
    if (at <= 0) throw new Error(`${field}: "${trimmed}" is not key=value`)
    labels[trimmed.slice(0, at).trim()] = trimmed.slice(at + 1).trim()
  }
  return labels
}

export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
}
