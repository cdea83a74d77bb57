// Formatting of numbers, times and durations for display.

export function formatBitrate(bitsPerSecond: number | null | undefined): string {
  if (bitsPerSecond === null || bitsPerSecond === undefined || !Number.isFinite(bitsPerSecond)) return '–'
  if (bitsPerSecond >= 1e6) return `${(bitsPerSecond / 1e6).toFixed(2)} Mbit/s`
  if (bitsPerSecond >= 1e3) return `${(bitsPerSecond / 1e3).toFixed(0)} kbit/s`
  return `${bitsPerSecond.toFixed(0)} bit/s`
}

/** Short bitrate for chart axes: 650k, 2.5M. */
export function formatBitrateShort(bitsPerSecond: number): string {
  if (Math.abs(bitsPerSecond) >= 1e6) return `${(bitsPerSecond / 1e6).toFixed(1)}M`
  if (Math.abs(bitsPerSecond) >= 1e3) return `${(bitsPerSecond / 1e3).toFixed(0)}k`
  return bitsPerSecond.toFixed(0)
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
