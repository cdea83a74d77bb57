// Retries of one notification on one channel: exponential backoff with
// jitter, bounded in attempts and in total time. The caller supplies the
// attempt, the clock and the random source, so this module does no I/O.
import { DeliveryOutcome } from './types.ts'

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number
  /** Delay before the second attempt, before jitter. */
  baseDelayMs: number
  /** Upper bound of one delay, before jitter. */
  maxDelayMs: number
  /** No attempt starts later than this after the first one. */
  maxTotalMs: number
}

/** Eight attempts; the waits between them add up to 198 to 395 s, plus the attempts' own time. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 5000,
  maxDelayMs: 120_000,
  maxTotalMs: 15 * 60_000,
}

/** Result of one attempt. */
export interface AttemptResult {
  ok: boolean
  /** False for a failure that another attempt cannot fix, such as HTTP 400 or SMTP 550. */
  retryable: boolean
  httpStatus: number | null
  /** Start of the HTTP response body or the SMTP server's reply. */
  response: string | null
  error: string | null
  /** A delay the receiver asked for (HTTP Retry-After). */
  retryAfterMs?: number
}

/** One attempt as it is recorded. */
export interface AttemptRecord extends AttemptResult {
  attempt: number
  outcome: DeliveryOutcome
  atMs: number
}

export interface RetryRuntime {
  now(): number
  /** Waits; a rejection stops the retries, as when the controller shuts down. */
  sleep(delayMs: number): Promise<void>
  /** A number in [0, 1). */
  random(): number
  /** Called after each attempt, before any wait; the retries wait for it. */
  record(attempt: AttemptRecord): Promise<void> | void
}

/**
 * Returns the delay after the given failed attempt (1 for the first):
 * baseDelayMs doubled per attempt up to maxDelayMs, then a random point in
 * its upper half, so receivers that fail together are not retried together.
 */
export function backoffDelayMs(failedAttempt: number, policy: RetryPolicy, random: number): number {
  const exponential = policy.baseDelayMs * 2 ** Math.max(0, failedAttempt - 1)
  const capped = Math.min(policy.maxDelayMs, exponential)
  return Math.round(capped / 2 + (random * capped) / 2)
}

/** Returns the delay before the next attempt, or undefined when the policy allows none. */
function nextDelay(
  result: AttemptResult,
  attempt: number,
  elapsedMs: number,
  policy: RetryPolicy,
  random: number,
): number | undefined {
  if (!result.retryable || attempt >= policy.maxAttempts) return undefined
  let delayMs = backoffDelayMs(attempt, policy, random)
  // A Retry-After longer than maxDelayMs is not honored; the retry goes at the usual delay.
  if (result.retryAfterMs !== undefined && result.retryAfterMs <= policy.maxDelayMs) {
    delayMs = Math.max(delayMs, result.retryAfterMs)
  }
  return elapsedMs + delayMs > policy.maxTotalMs ? undefined : delayMs
}

/** Runs one attempt. One that throws counts as a retryable failure with the thrown message. */
async function runAttempt(
  send: (attempt: number) => Promise<AttemptResult>,
  attempt: number,
): Promise<AttemptResult> {
  try {
    return await send(attempt)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    return { ok: false, retryable: true, httpStatus: null, response: null, error: message }
  }
}

/**
 * Runs send until it succeeds, fails in a way a retry cannot fix, or the
 * policy allows no more attempts. Records every attempt and returns the last.
 */
export async function sendWithRetry(
  send: (attempt: number) => Promise<AttemptResult>,
  policy: RetryPolicy,
  runtime: RetryRuntime,
): Promise<AttemptRecord> {
  const startedMs = runtime.now()
  for (let attempt = 1; ; attempt++) {
    const result = await runAttempt(send, attempt)
    const atMs = runtime.now()
    const elapsedMs = atMs - startedMs
    const delayMs = result.ok ? undefined : nextDelay(result, attempt, elapsedMs, policy, runtime.random())
    let outcome: DeliveryOutcome = DeliveryOutcome.retrying
    if (result.ok) outcome = DeliveryOutcome.sent
    else if (delayMs === undefined) outcome = DeliveryOutcome.failed
    const record: AttemptRecord = { ...result, attempt, outcome, atMs }
    await runtime.record(record)
    if (delayMs === undefined) return record
    await runtime.sleep(delayMs)
  }
}
