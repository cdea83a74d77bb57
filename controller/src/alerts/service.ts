// Runs the alert engine inside the controller: feeds it stream statuses and
// rule changes, stores the alerts it fires and resolves, and delivers the
// notifications with retries. Engine input and alert writes run one at a
// time, in order. Deliveries run beside them, each channel on its own, so a
// failing channel delays no other.
import type { Logger } from 'pino'
import type { AlertStore } from '../repository/alerts.ts'
import type { Stream } from '../repository/index.ts'
import { sleep, systemClock, type Clock } from './clock.ts'
import { AlertEngine, type EngineEvent, type Episode } from './engine.ts'
import { NoticeEvent, noticeOf, testNotice, type AlertNotice } from './formats.ts'
import {
  DEFAULT_RETRY_POLICY,
  sendWithRetry,
  type AttemptRecord,
  type AttemptResult,
  type RetryPolicy,
} from './retry.ts'
import type { StreamState } from './rules.ts'
import { sendNotice } from './senders.ts'
import {
  ChannelType,
  DeliveryOutcome,
  Resolution,
  type Alert,
  type AlertChannel,
  type AlertEvent,
  type AlertRule,
} from './types.ts'

export interface AlertServiceOptions {
  store: AlertStore
  /** Source of stream statuses and labels, such as the Repository. */
  streams: { getStream(id: string): Promise<Stream | undefined>; listStreams(): Promise<Stream[]> }
  logger: Logger
  clock?: Clock
  retryPolicy?: RetryPolicy
  /** A number in [0, 1) for the retry jitter. */
  random?: () => number
  /** Milliseconds one HTTP request or SMTP conversation may take. Default 10 s. */
  requestTimeoutMs?: number
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

function streamState(stream: Stream, sinceMs: number): StreamState {
  const reason = stream.status_reason ?? ''
  return { id: stream.id, labels: stream.labels, status: stream.status, reason, sinceMs }
}

/** Rebuilds the engine's episode of an alert that an earlier run stored as open. */
function storedEpisode(
  alert: Alert,
  rule: AlertRule | undefined,
  channelIds: string[],
  stream: Stream | undefined,
): Episode {
  return {
    ruleId: alert.rule_id,
    ruleName: alert.rule_name,
    forS: rule?.for_s ?? 0,
    streamId: alert.stream_id,
    labels: { ...stream?.labels },
    status: alert.status,
    reason: alert.reason,
    startedAtMs: Date.parse(alert.started_at),
    firedAtMs: Date.parse(alert.fired_at),
    channelIds,
    alertId: alert.id,
  }
}

export class AlertService {
  readonly engine: AlertEngine
  readonly #options: AlertServiceOptions
  readonly #store: AlertStore
  readonly #log: Logger
  readonly #clock: Clock
  readonly #retryPolicy: RetryPolicy
  readonly #timeoutMs: number
  readonly #stopping = new AbortController()
  /** Tail of the serial queue of engine input and alert writes. */
  #queue: Promise<unknown> = Promise.resolve()
  /** Deliveries in progress, by `alertId/channelId`; a resolved notification waits for the firing one. */
  readonly #deliveries = new Map<string, Promise<void>>()

  constructor(options: AlertServiceOptions) {
    this.#options = options
    this.#store = options.store
    this.#log = options.logger
    this.#clock = options.clock ?? systemClock
    this.#retryPolicy = options.retryPolicy ?? DEFAULT_RETRY_POLICY
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.engine = new AlertEngine(this.#clock, (event) => this.#onEvent(event))
  }

  /**
   * Loads the rules, the alerts an earlier run left open and every stream's
   * last status, so a stream that recovered meanwhile resolves its alert and
   * one still down keeps counting from when its status began.
   */
  async start(): Promise<void> {
    await this.#run(() => this.#restore())
  }

  /**
   * Reads the stream's current status and labels and applies the rules to
   * them. The ingest calls it for each stored status.
   * Deleting a stream calls it too, so that its open alerts resolve.
   * NOTE: changing a stream's labels does not call it, so that change
   * reaches the rules at the stream's next status or the next start.
   */
  streamStatusReported(streamId: string): void {
    if (this.#stopping.signal.aborted) return
    void this.#run(async () => {
      const stream = await this.#options.streams.getStream(streamId)
      if (stream === undefined) this.engine.removeStream(streamId)
      else this.engine.observe(streamState(stream, this.#clock.now()))
    })
  }

  /**
   * Applies a created or changed rule.
   * NOTE: only this process learns of the change; other controllers on the
   * same database load it at their next start.
   */
  async ruleSaved(rule: AlertRule): Promise<void> {
    await this.#run(() => this.engine.putRule(rule))
  }

  /** Removes a deleted rule; its open alerts resolve as rule_deleted. */
  async ruleDeleted(ruleId: string): Promise<void> {
    await this.#run(() => this.engine.removeRule(ruleId))
  }

  /**
   * Sends a test notification once, without retries, and returns the result.
   * On PagerDuty it triggers a test incident and resolves it at once.
   */
  async testChannel(channel: AlertChannel): Promise<AttemptResult> {
    const atMs = this.#clock.now()
    const send = (notice: AlertNotice) => sendNotice(channel, notice, this.#sendOptions())
    let result = await send(testNotice(channel.id, atMs))
    if (result.ok && channel.type === ChannelType.pagerduty) {
      result = await send(testNotice(channel.id, atMs, NoticeEvent.resolved))
    }
    const fields = { channel_id: channel.id, type: channel.type, ok: result.ok }
    const reply = { http_status: result.httpStatus, error: result.error }
    this.#log.info({ ...fields, ...reply }, 'alert channel test sent')
    return result
  }

  /** Resolves once the queue is empty and no delivery is in progress; for tests. */
  async idle(): Promise<void> {
    for (;;) {
      const queue = this.#queue
      await queue
      const deliveries = [...this.#deliveries.values()]
      await Promise.allSettled(deliveries)
      if (queue === this.#queue && this.#deliveries.size === 0) return
    }
  }

  /** Stops the timers and retries, and waits for the queue and the attempts in progress. */
  async stop(): Promise<void> {
    this.engine.stop()
    this.#stopping.abort(new Error('the controller is shutting down'))
    await this.#queue
    await Promise.allSettled([...this.#deliveries.values()])
  }

  /** Runs task after every earlier one; a failure is logged and does not stop the queue. */
  #run<T>(task: () => Promise<T> | T): Promise<T> {
    const result = this.#queue.then(task)
    this.#queue = result.catch((error: unknown) => this.#log.error({ err: error }, 'alert task failed'))
    return result
  }

  async #restore(): Promise<void> {
    const rules = await this.#store.listRules()
    for (const rule of rules) this.#putStoredRule(rule)
    const open = await this.#store.listOpenAlerts()
    const firingChannels = await this.#store.firingChannels(open.map((alert) => alert.id))
    const streams = new Map((await this.#options.streams.listStreams()).map((stream) => [stream.id, stream]))

    for (const alert of open) {
      const rule = rules.find((candidate) => candidate.id === alert.rule_id)
      const channels = firingChannels.get(alert.id) ?? rule?.channels ?? []
      if (!this.engine.restore(storedEpisode(alert, rule, channels, streams.get(alert.stream_id)))) {
        await this.#store.resolveAlert(alert.id, this.#clock.now(), Resolution.ruleChanged)
        const ids = { alert_id: alert.id, rule_id: alert.rule_id, stream_id: alert.stream_id }
        this.#log.warn(ids, 'closed a second open alert of the same rule and stream')
      }
    }
    const now = this.#clock.now()
    // NOTE: with several controllers this also counts streams that other
    // processes watch, so a stream pending there can fire here as well.
    for (const stream of streams.values()) {
      const sinceMs = stream.status_at === null ? now : Date.parse(stream.status_at)
      this.engine.observe(streamState(stream, sinceMs))
    }
    for (const alert of open) {
      if (!streams.has(alert.stream_id)) this.engine.removeStream(alert.stream_id)
    }
    this.#log.info({ rules: rules.length, open_alerts: open.length }, 'alert rules loaded')
  }

  #putStoredRule(rule: AlertRule): void {
    try {
      this.engine.putRule(rule)
    } catch (error) {
      // The API checks patterns, so only a row edited by hand gets here.
      this.#log.error({ rule_id: rule.id, err: error }, 'alert rule skipped: invalid reason_pattern')
    }
  }

  #onEvent(event: EngineEvent): void {
    void this.#run(() => this.#recordEvent(event))
  }

  async #recordEvent(event: EngineEvent): Promise<void> {
    const { episode } = event
    const ids = { rule_id: episode.ruleId, stream_id: episode.streamId }
    if (event.type === 'firing') {
      const alert = await this.#store.insertAlert({
        rule_id: episode.ruleId,
        rule_name: episode.ruleName,
        stream_id: episode.streamId,
        status: episode.status,
        reason: episode.reason,
        startedAtMs: episode.startedAtMs,
        firedAtMs: episode.firedAtMs,
      })
      episode.alertId = alert.id
      const fields = { ...ids, alert_id: alert.id, status: episode.status, reason: episode.reason }
      this.#log.warn(fields, 'alert firing')
      this.#deliver(event, alert.id)
      return
    }
    // TODO: an alert whose insert failed has no id, so neither its firing nor its resolution is delivered.
    if (episode.alertId === undefined) {
      this.#log.error(ids, 'alert resolved but was never stored; no notification sent')
      return
    }
    await this.#store.resolveAlert(episode.alertId, event.atMs, event.resolution)
    this.#log.info({ ...ids, alert_id: episode.alertId, resolution: event.resolution }, 'alert resolved')
    this.#deliver(event, episode.alertId)
  }

  /** Starts one delivery per channel of the episode, after any earlier one of that alert and channel. */
  #deliver(event: EngineEvent, alertId: number): void {
    const notice = noticeOf(event, alertId)
    for (const channelId of event.episode.channelIds) {
      const key = `${alertId}/${channelId}`
      const previous = this.#deliveries.get(key) ?? Promise.resolve()
      const next = previous.then(() => this.#deliverTo(channelId, notice, event.type))
      this.#deliveries.set(key, next)
      void next.finally(() => {
        if (this.#deliveries.get(key) === next) this.#deliveries.delete(key)
      })
    }
  }

  async #deliverTo(channelId: string, notice: AlertNotice, event: AlertEvent): Promise<void> {
    const alertId = notice.alertId ?? 0
    const fields = { alert_id: alertId, channel_id: channelId, event }
    try {
      const channel = await this.#store.getChannel(channelId)
      if (channel === undefined) {
        await this.#recordAttempt(alertId, channelId, event, this.#missingChannel(channelId))
        return
      }
      const send = (attempt: number) => this.#attempt(channel, notice, attempt)
      const last = await sendWithRetry(send, this.#retryPolicy, {
        now: () => this.#clock.now(),
        sleep: (delayMs) => sleep(this.#clock, delayMs, this.#stopping.signal),
        random: this.#options.random ?? Math.random,
        record: (record) => this.#recordAttempt(alertId, channelId, event, record),
      })
      const outcome = { ...fields, attempts: last.attempt }
      if (last.ok) this.#log.info(outcome, 'alert notification sent')
      else this.#log.error({ ...outcome, error: last.error }, 'alert notification failed')
    } catch (error) {
      if (this.#stopping.signal.aborted) this.#log.warn(fields, 'alert notification abandoned at shutdown')
      else this.#log.error({ ...fields, err: error }, 'alert notification failed')
    }
  }

  #attempt(channel: AlertChannel, notice: AlertNotice, attempt: number): Promise<AttemptResult> {
    if (attempt > 1) {
      const fields = { alert_id: notice.alertId, channel_id: channel.id, attempt }
      this.#log.debug(fields, 'retrying alert notification')
    }
    return sendNotice(channel, notice, this.#sendOptions())
  }

  #missingChannel(channelId: string): AttemptRecord {
    const error = `channel "${channelId}" not found; it was deleted after the alert fired`
    return {
      ok: false,
      retryable: false,
      httpStatus: null,
      response: null,
      error,
      attempt: 1,
      outcome: DeliveryOutcome.failed,
      atMs: this.#clock.now(),
    }
  }

  async #recordAttempt(
    alertId: number,
    channelId: string,
    event: AlertEvent,
    record: AttemptRecord,
  ): Promise<void> {
    const ids = { alert_id: alertId, channel_id: channelId }
    if (!record.ok) {
      const fields = { ...ids, event, attempt: record.attempt, outcome: record.outcome }
      const failure = { http_status: record.httpStatus, error: record.error }
      this.#log.warn({ ...fields, ...failure }, 'alert notification attempt failed')
    }
    try {
      await this.#store.recordDelivery({
        alert_id: alertId,
        channel_id: channelId,
        event,
        attempt: record.attempt,
        outcome: record.outcome,
        http_status: record.httpStatus,
        response: record.response,
        error: record.error,
        atMs: record.atMs,
      })
    } catch (error) {
      this.#log.error({ ...ids, err: error }, 'recording an alert delivery failed')
    }
  }

  #sendOptions() {
    return { timeoutMs: this.#timeoutMs, signal: this.#stopping.signal, now: () => this.#clock.now() }
  }
}
