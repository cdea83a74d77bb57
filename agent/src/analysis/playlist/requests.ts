// Counts the HTTP requests of playlist analysis and their errors. Pure.

export const REQUEST_KINDS = ['playlist', 'segment'] as const
export type RequestKind = (typeof REQUEST_KINDS)[number]

/** A failed request: an HTTP status outside 2xx, or a transport error without one. */
export interface RequestFailure {
  status?: number
  /** `timeout`, `network` or `too-large` when there is no status. */
  error?: string
}

export interface RequestTally {
  requests: number
  errors: number
}

/** JSON-friendly summary of the requests counted. */
export interface RequestCounts extends RequestTally {
  /** errors / requests; 0 without requests. */
  errorShare: number
  /** errorShare is above the configured alert share. */
  alert: boolean
  alertShare: number
  byKind: Record<RequestKind, RequestTally>
  /** Errors by HTTP status ("404") or transport error ("timeout"). */
  byError: Record<string, number>
}

/** Default error share above which the alert flag is set: 10 %. */
export const DEFAULT_ERROR_SHARE_ALERT = 0.1

export class RequestCounter {
  private readonly byKind: Record<RequestKind, RequestTally> = {
    playlist: { requests: 0, errors: 0 },
    segment: { requests: 0, errors: 0 },
  }
  private readonly byError: Record<string, number> = {}

  constructor(private readonly alertShare = DEFAULT_ERROR_SHARE_ALERT) {}

  /** Counts one request; `failure` is absent for a success. */
  record(kind: RequestKind, failure?: RequestFailure): void {
    const tally = this.byKind[kind]
    tally.requests++
    if (!failure) return

    tally.errors++
    const key = failure.status !== undefined ? String(failure.status) : (failure.error ?? 'unknown')
    this.byError[key] = (this.byError[key] ?? 0) + 1
  }

  /** Adds another counter's requests to this one. */
  add(other: RequestCounter): void {
    for (const kind of REQUEST_KINDS) {
      this.byKind[kind].requests += other.byKind[kind].requests
      this.byKind[kind].errors += other.byKind[kind].errors
    }
    for (const [key, count] of Object.entries(other.byError)) {
      this.byError[key] = (this.byError[key] ?? 0) + count
    }
  }

  summary(): RequestCounts {
    const requests = this.byKind.playlist.requests + this.byKind.segment.requests
    const errors = this.byKind.playlist.errors + this.byKind.segment.errors
    const errorShare = requests === 0 ? 0 : errors / requests

    return {
      requests,
      errors,
      errorShare: Math.round(errorShare * 10_000) / 10_000,
      alert: errorShare > this.alertShare,
      alertShare: this.alertShare,
      byKind: { playlist: { ...this.byKind.playlist }, segment: { ...this.byKind.segment } },
      byError: { ...this.byError },
    }
  }
}
