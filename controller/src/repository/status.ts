// The status of a stream over the statuses its agents reported, one per
// assignment. Pure; the repository stores the result on the stream.
import type { StreamStatusValue } from './types.ts'

export interface AssignmentStatus {
  agentId: string
  slot: string
  status: StreamStatusValue | null
  reason: string | null
}

export interface StreamStatus {
  status: StreamStatusValue
  reason: string
}

/**
 * Combines the reported statuses of a stream's assignments. One assignment
 * gives its own status and reason. With several (vantage points): all up is
 * up, all down is down, and anything between is degraded with a reason that
 * names the failing slots, such as `down from region=ap-south only`.
 * Assignments that have not reported yet are left out; undefined when none
 * has reported.
 */
export function aggregateStatus(assignments: readonly AssignmentStatus[], vantageLabel: string | null): StreamStatus | undefined {
  const reported = assignments.filter((entry) => entry.status !== null)
  if (reported.length === 0) return undefined
  if (assignments.length === 1) return { status: reported[0]!.status!, reason: reported[0]!.reason ?? '' }

  const name = (entry: AssignmentStatus): string =>
    vantageLabel === null || entry.slot === '' ? `agent ${entry.agentId}` : `${vantageLabel}=${entry.slot}`
  const down = reported.filter((entry) => entry.status === 'down')
  const degraded = reported.filter((entry) => entry.status === 'degraded')

  if (down.length === reported.length) {
    const details = down.map((entry) => `${name(entry)}: ${entry.reason ?? ''}`).join('; ')
    return { status: 'down', reason: `down from every vantage point (${details})` }
  }
  if (down.length === 0 && degraded.length === 0) return { status: 'up', reason: '' }

  const parts: string[] = []
  if (down.length > 0) parts.push(`down from ${down.map(name).join(', ')} only`)
  for (const entry of degraded) parts.push(`degraded from ${name(entry)}: ${entry.reason ?? ''}`)
  return { status: 'degraded', reason: parts.join('; ') }
}
