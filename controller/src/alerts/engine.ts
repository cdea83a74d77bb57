// The alert state machine. For each (rule, stream) pair it is idle, pending
// (the status matches, waiting for the rule's for_s) or firing. It does no
// I/O: it reads time and sets timers through a Clock and reports firing and
// resolved alerts to a callback.
import type { StreamStatusValue } from '@monit/protocol'
import type { Clock } from './clock.ts'
import { compileRule, ruleMatches, type CompiledRule, type StreamState } from './rules.ts'
import { Resolution, type AlertRule, type Labels } from './types.ts'

/** One firing of a rule on a stream, from the moment it fires until it is resolved. */
export interface Episode {
  ruleId: string
  ruleName: string
  forS: number
  streamId: string
  labels: Labels
  /** The status and reason when the alert fired. */
  status: StreamStatusValue
  reason: string
  /** When the status started to match the rule. */
  startedAtMs: number
  firedAtMs: number
  /** Channels notified of the firing; the resolved notification goes to the same ones. */
  channelIds: string[]
  /** Id of the stored alert, which the engine's user sets once it has stored it. */
  alertId?: number
}

export type EngineEvent =
  | { type: 'firing'; episode: Episode }
  | { type: 'resolved'; episode: Episode; atMs: number; resolution: Resolution }

export type Phase = 'idle' | 'pending' | 'firing'

interface Pending {
  phase: 'pending'
  sinceMs: number
  status: StreamStatusValue
  reason: string
  timer: unknown
}

interface Firing {
  phase: 'firing'
  episode: Episode
}

type PairState = Pending | Firing

/**
 * Fires an alert once a rule's status has matched a stream for for_s, and
 * resolves it when the status stops matching. An episode fires at most once,
 * and a new one starts only after the previous one ended.
 */
export class AlertEngine {
  readonly #clock: Clock
  readonly #emit: (event: EngineEvent) => void
  readonly #rules = new Map<string, CompiledRule>()
  readonly #streams = new Map<string, StreamState>()
  /** State by rule id, then by stream id. A pair without an entry is idle. */
  readonly #pairs = new Map<string, Map<string, PairState>>()

  constructor(clock: Clock, emit: (event: EngineEvent) => void) {
    this.#clock = clock
    this.#emit = emit
  }

  /** Replaces every rule: rules left out are removed as by removeRule. */
  setRules(rules: readonly AlertRule[]): void {
    const ids = new Set(rules.map((rule) => rule.id))
    for (const id of [...this.#rules.keys()]) {
      if (!ids.has(id)) this.removeRule(id)
    }
    for (const rule of rules) this.putRule(rule)
  }

  /**
   * Adds or replaces a rule and applies it to every known stream. Open alerts
   * that the changed rule no longer matches resolve as rule_changed. Throws
   * SyntaxError for an invalid reason pattern.
   */
  putRule(rule: AlertRule): void {
    const compiled = compileRule(rule)
    this.#rules.set(rule.id, compiled)
    for (const stream of this.#streams.values()) this.#evaluate(compiled, stream, Resolution.ruleChanged)
  }

  /** Removes a rule: its pending alerts are dropped and its open ones resolve as rule_deleted. */
  removeRule(ruleId: string): void {
    this.#rules.delete(ruleId)
    const pairs = this.#pairs.get(ruleId)
    if (pairs === undefined) return
    this.#pairs.delete(ruleId)
    for (const state of pairs.values()) this.#end(state, Resolution.ruleDeleted)
  }

  /** Takes a stream's current status and labels and applies every rule to it. */
  observe(stream: StreamState): void {
    const copy = { ...stream, labels: { ...stream.labels } }
    this.#streams.set(stream.id, copy)
    for (const compiled of this.#rules.values()) this.#evaluate(compiled, copy, Resolution.recovered)
  }

  /** Forgets a deleted stream: its pending alerts are dropped and its open ones resolve as stream_deleted. */
  removeStream(streamId: string): void {
    this.#streams.delete(streamId)
    for (const pairs of this.#pairs.values()) {
      const state = pairs.get(streamId)
      if (state === undefined) continue
      pairs.delete(streamId)
      this.#end(state, Resolution.streamDeleted)
    }
  }

  /**
   * Takes an alert stored as open by an earlier run, so that the stream's
   * recovery resolves it. Call it after setRules and before the stream's
   * first observe. An alert of an unknown rule resolves at once as
   * rule_deleted. False when the pair already has an open alert, which is
   * then left as it was.
   */
  restore(episode: Episode): boolean {
    const pairs = this.#pairsOf(episode.ruleId)
    const current = pairs.get(episode.streamId)
    if (current?.phase === 'firing') return false
    if (current?.phase === 'pending') this.#clock.clearTimer(current.timer)

    const state: Firing = { phase: 'firing', episode }
    pairs.set(episode.streamId, state)
    if (!this.#rules.has(episode.ruleId)) this.removeRule(episode.ruleId)
    return true
  }

  /** Returns the pair's phase, for tests and diagnostics. */
  phaseOf(ruleId: string, streamId: string): Phase {
    return this.#pairs.get(ruleId)?.get(streamId)?.phase ?? 'idle'
  }

  /** Returns every open alert. */
  firing(): Episode[] {
    const episodes: Episode[] = []
    for (const pairs of this.#pairs.values()) {
      for (const state of pairs.values()) if (state.phase === 'firing') episodes.push(state.episode)
    }
    return episodes
  }

  /** Cancels every timer. Pending alerts stay pending but no longer fire. */
  stop(): void {
    for (const pairs of this.#pairs.values()) {
      for (const state of pairs.values()) if (state.phase === 'pending') this.#clock.clearTimer(state.timer)
    }
  }

  #pairsOf(ruleId: string): Map<string, PairState> {
    let pairs = this.#pairs.get(ruleId)
    if (pairs === undefined) {
      pairs = new Map()
      this.#pairs.set(ruleId, pairs)
    }
    return pairs
  }

  /** Moves the pair to its next phase; `cause` is the resolution when an open alert stops matching. */
  #evaluate(compiled: CompiledRule, stream: StreamState, cause: Resolution): void {
    const ruleId = compiled.rule.id
    const state = this.#pairs.get(ruleId)?.get(stream.id)
    if (!ruleMatches(compiled, stream)) {
      if (state === undefined) return
      this.#pairs.get(ruleId)?.delete(stream.id)
      this.#end(state, cause)
      return
    }
    // ruleMatches is false for a null status, so the status is set here.
    const status = stream.status!
    if (state?.phase === 'firing') return
    if (state?.phase === 'pending') {
      // Still the same episode: keep its start, and follow a changed for_s.
      this.#clock.clearTimer(state.timer)
      state.status = status
      state.reason = stream.reason
      this.#schedule(compiled.rule, stream.id, state)
      return
    }

    const sinceMs = Math.min(stream.sinceMs, this.#clock.now())
    const pending: Pending = { phase: 'pending', sinceMs, status, reason: stream.reason, timer: undefined }
    this.#pairsOf(ruleId).set(stream.id, pending)
    this.#schedule(compiled.rule, stream.id, pending)
  }

  #schedule(rule: AlertRule, streamId: string, state: Pending): void {
    const delayMs = state.sinceMs + rule.for_s * 1000 - this.#clock.now()
    if (delayMs <= 0) {
      this.#fire(rule.id, streamId)
      return
    }
    state.timer = this.#clock.setTimer(() => this.#fire(rule.id, streamId), delayMs)
  }

  #fire(ruleId: string, streamId: string): void {
    const pairs = this.#pairs.get(ruleId)
    const state = pairs?.get(streamId)
    const compiled = this.#rules.get(ruleId)
    if (pairs === undefined || state?.phase !== 'pending' || compiled === undefined) return

    const { rule } = compiled
    const episode: Episode = {
      ruleId,
      ruleName: rule.name,
      forS: rule.for_s,
      streamId,
      labels: { ...this.#streams.get(streamId)?.labels },
      status: state.status,
      reason: state.reason,
      startedAtMs: state.sinceMs,
      firedAtMs: this.#clock.now(),
      channelIds: [...rule.channels],
    }
    pairs.set(streamId, { phase: 'firing', episode })
    this.#emit({ type: 'firing', episode })
  }

  #end(state: PairState, resolution: Resolution): void {
    if (state.phase === 'pending') {
      this.#clock.clearTimer(state.timer)
      return
    }
    this.#emit({ type: 'resolved', episode: state.episode, atMs: this.#clock.now(), resolution })
  }
}
