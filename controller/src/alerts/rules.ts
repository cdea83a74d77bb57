// Matching of alert rules to streams and their statuses. Pure functions.
import type { StreamStatusValue } from '@monit/protocol'
import type { AlertRule, Labels } from './types.ts'

/** A stream's status and labels as the alert engine sees them. */
export interface StreamState {
  id: string
  labels: Labels
  /** Null until an agent has reported the stream. */
  status: StreamStatusValue | null
  reason: string
  /** When the stream got this status, in milliseconds since the Unix epoch. */
  sinceMs: number
}

/** A rule with its reason pattern compiled. */
export interface CompiledRule {
  rule: AlertRule
  reason: RegExp | null
}

/** Compiles a reason pattern, matched case-insensitively; throws SyntaxError when it is invalid. */
export function compileReasonPattern(pattern: string): RegExp {
  return new RegExp(pattern, 'i')
}

export function compileRule(rule: AlertRule): CompiledRule {
  return { rule, reason: rule.reason_pattern === null ? null : compileReasonPattern(rule.reason_pattern) }
}

/** True when the rule covers the stream: it is listed, it has every selector label, or the rule is global. */
export function coversStream(rule: AlertRule, stream: Pick<StreamState, 'id' | 'labels'>): boolean {
  if (rule.stream_ids !== null) return rule.stream_ids.includes(stream.id)
  if (rule.labels !== null) {
    return Object.entries(rule.labels).every(([name, value]) => stream.labels[name] === value)
  }
  return true
}

/** True when the status is one the rule alerts on and the reason matches its pattern. */
export function statusMatches(
  compiled: CompiledRule,
  status: StreamStatusValue | null,
  reason: string,
): boolean {
  if (status === null || status === 'up') return false
  if (!compiled.rule.statuses.includes(status)) return false
  return compiled.reason === null || compiled.reason.test(reason)
}

/** True when an enabled rule covers the stream and its current status matches. */
export function ruleMatches(compiled: CompiledRule, stream: StreamState): boolean {
  if (!compiled.rule.enabled) return false
  return coversStream(compiled.rule, stream) && statusMatches(compiled, stream.status, stream.reason)
}
