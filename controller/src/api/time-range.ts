import { InvalidField } from '../errors.ts'

/**
 * Parses a query time: ISO 8601 text, or Unix time in seconds (up to 10
 * digits) or milliseconds (13 digits). Throws InvalidField naming the field.
 */
export function parseTime(field: string, raw: string): Date {
  let ms: number
  if (/^\d{1,10}(\.\d+)?$/.test(raw)) ms = Number(raw) * 1000
  else if (/^\d{13}$/.test(raw)) ms = Number(raw)
  else ms = Date.parse(raw)

  if (!Number.isFinite(ms)) {
    throw new InvalidField(`querystring/${field}`, `"${raw}" is not an ISO 8601 time or Unix seconds`)
  }
  return new Date(ms)
}

/** Resolves `from` and `to`, defaulting to the last hour, and checks their order. */
export function parseRange(query: { from?: string; to?: string }, defaultSpanMs = 3_600_000): { from: Date; to: Date } {
  const to = query.to === undefined ? new Date() : parseTime('to', query.to)
  const from = query.from === undefined ? new Date(to.getTime() - defaultSpanMs) : parseTime('from', query.from)
  if (from.getTime() >= to.getTime()) {
    throw new InvalidField('querystring/from', `from (${from.toISOString()}) must be before to (${to.toISOString()})`)
  }
  return { from, to }
}
