// The checks that run beside a stream's probe, each on its own cadence: the
// picture and sound check (`av` messages), the screenshot and, for a stream
// with a player page, the page check (`page` messages). A failed check
// affects only itself, so the probe and the other checks go on.
import type { Logger } from 'pino'
import type { Av, Page } from '@monit/protocol'
import type { PageCheckResult, PageCheckSettings } from '../browser/page-check.ts'
import { runAvCheck, type AvCheckResult, type AvCheckSettings } from '../media/av-check.ts'
import { grabScreenshot, type ScreenshotResult, type ScreenshotSettings } from '../media/screenshot.ts'
import { PeriodicCheck } from './periodic-check.ts'
import type { StreamAssignment } from './stream-monitor.ts'

/** Settings used where a perform leaves the optional fields out. */
export interface CheckDefaults {
  /** Seconds between picture and sound checks; 0 turns them off. */
  avIntervalS: number
  /** Seconds of media each picture and sound check decodes. */
  avSampleS: number
  /** Seconds between screenshots; 0 turns them off. */
  screenshotIntervalS: number
  /** Largest screenshot width, pixels. */
  screenshotWidth: number
  /** Seconds between player page checks; 0 turns them off. */
  pageIntervalS: number
  /** Seconds a player page has, from the start of its load, to play a video. */
  pagePlayTimeoutS: number
}

// NOTE: the checks of different streams are not limited in number. With the
// defaults, an agent with N streams decodes about N / 6 samples at any time.
export const DEFAULT_CHECKS: Readonly<CheckDefaults> = {
  avIntervalS: 60,
  avSampleS: 10,
  screenshotIntervalS: 60,
  screenshotWidth: 640,
  pageIntervalS: 60,
  pagePlayTimeoutS: 20,
}

export type AvCheckFn = (url: string, settings: AvCheckSettings, options: { signal?: AbortSignal }) => Promise<AvCheckResult>
export type GrabFn = (url: string, settings: ScreenshotSettings, options: { signal?: AbortSignal }) => Promise<ScreenshotResult>
export type PageCheckFn = (
  url: string,
  settings: PageCheckSettings,
  options: { signal?: AbortSignal },
) => Promise<PageCheckResult>

/** A page message without its type. */
export type PageResult = Omit<Page, 'type'>

/** An av message without its type. */
export type AvResult = Omit<Av, 'type'>

/** One grabbed screenshot of an assignment. */
export interface GrabbedScreenshot {
  stream_id: string
  epoch: number
  ts_ms: number
  jpeg: Buffer
  /** Left out for a stream frame; 'page' for a player page screenshot. */
  source?: 'page'
}

export interface StreamChecksOptions {
  assignment: StreamAssignment
  defaults?: Partial<CheckDefaults>
  logger: Logger
  onAv: (result: AvResult) => void
  onScreenshot: (shot: GrabbedScreenshot) => void
  /** Replaces runAvCheck (tests). */
  avCheck?: AvCheckFn
  /** Replaces grabScreenshot (tests). */
  grab?: GrabFn
  /** Loads the player page; without it, or without onPage, no page check runs. */
  pageCheck?: PageCheckFn
  onPage?: (result: PageResult) => void
  random?: () => number
}

/** Returns the check settings of an assignment: the perform's, else the defaults. */
export function checkSettings(assignment: StreamAssignment, defaults: Partial<CheckDefaults> = {}): CheckDefaults {
  const base = { ...DEFAULT_CHECKS, ...defaults }
  return {
    avIntervalS: assignment.probe.av_interval_s ?? base.avIntervalS,
    avSampleS: assignment.probe.av_sample_s ?? base.avSampleS,
    screenshotIntervalS: assignment.probe.screenshot_interval_s ?? base.screenshotIntervalS,
    screenshotWidth: base.screenshotWidth,
    pageIntervalS: assignment.probe.page_interval_s ?? base.pageIntervalS,
    pagePlayTimeoutS: base.pagePlayTimeoutS,
  }
}

export class StreamChecks {
  readonly settings: CheckDefaults
  private readonly checks: PeriodicCheck[] = []
  private readonly assignment: StreamAssignment
  private readonly log: Logger
  private readonly options: StreamChecksOptions
  /** Last failure reason per check, so a repeated failure is logged once. */
  private readonly failing = new Map<string, string>()
  private stopped = false
  /** Latest player page check result, which the stream's status takes into account. */
  private page: PageResult | undefined

  constructor(options: StreamChecksOptions) {
    this.options = options
    this.assignment = options.assignment
    this.settings = checkSettings(options.assignment, options.defaults)
    this.log = options.logger.child({ stream_id: this.assignment.stream_id, epoch: this.assignment.epoch })
    const { avIntervalS, screenshotIntervalS } = this.settings
    if (avIntervalS > 0) this.add('av', avIntervalS, (signal) => this.runAv(signal))
    if (screenshotIntervalS > 0) this.add('screenshot', screenshotIntervalS, (signal) => this.runScreenshot(signal))
    if (this.pageCheckApplies()) this.add('page', this.settings.pageIntervalS, (signal) => this.runPage(signal))
  }

  /** Latest player page check result; undefined before the first one. */
  get latestPage(): PageResult | undefined {
    return this.page
  }

  /** Names of the checks that run, such as ["av", "screenshot"]. */
  get names(): string[] {
    return this.checks.map((check) => check.name)
  }

  start(): void {
    for (const check of this.checks) check.start()
  }

  /** Stops every check and resolves once their ffmpeg processes are gone. No callback fires after it is called. */
  async stop(): Promise<void> {
    this.stopped = true
    await Promise.all(this.checks.map((check) => check.stop()))
  }

  private add(name: string, intervalS: number, run: (signal: AbortSignal) => Promise<void>): void {
    const intervalMs = intervalS * 1000
    this.checks.push(new PeriodicCheck({ name, intervalMs, run, logger: this.log, random: this.options.random }))
  }

  private async runAv(signal: AbortSignal): Promise<void> {
    const check = this.options.avCheck ?? runAvCheck
    const sampleS = this.settings.avSampleS
    const settings = { sample_s: sampleS, timeout_s: this.assignment.probe.timeout_s }
    const result = await check(this.assignment.url, settings, { signal })
    if (this.stopped) return
    const base = { stream_id: this.assignment.stream_id, epoch: this.assignment.epoch, ts_ms: Date.now(), sample_s: sampleS }
    this.noteOutcome('av', result.ok ? undefined : result.reason)
    if (result.ok) {
      this.emit(() => this.options.onAv({ ...base, ...result.report }))
      return
    }
    const empty = { decoded_s: 0, video: false, audio: false, black: [], freeze: [], silence: [], loudness: null }
    this.emit(() => this.options.onAv({ ...base, ...empty, error: result.reason.slice(0, 2048) }))
  }

  private async runScreenshot(signal: AbortSignal): Promise<void> {
    const grab = this.options.grab ?? grabScreenshot
    const settings = { width: this.settings.screenshotWidth, timeout_s: this.assignment.probe.timeout_s }
    const result = await grab(this.assignment.url, settings, { signal })
    if (this.stopped) return
    this.noteOutcome('screenshot', result.ok ? undefined : result.reason)
    if (!result.ok) return
    const shot = { stream_id: this.assignment.stream_id, epoch: this.assignment.epoch, ts_ms: Date.now(), jpeg: result.jpeg }
    this.emit(() => this.options.onScreenshot(shot))
  }

  private pageCheckApplies(): boolean {
    const { pageCheck, onPage } = this.options
    const hasPage = this.assignment.probe.page_url !== undefined
    return hasPage && this.settings.pageIntervalS > 0 && pageCheck !== undefined && onPage !== undefined
  }

  private async runPage(signal: AbortSignal): Promise<void> {
    const url = this.assignment.probe.page_url
    const check = this.options.pageCheck
    if (url === undefined || check === undefined) return
    const result = await check(url, { play_timeout_s: this.settings.pagePlayTimeoutS }, { signal })
    if (this.stopped) return
    const failure = result.ok ? undefined : (result.errors[0]?.text ?? 'page check failed')
    this.noteOutcome('page', failure)
    const ts = Date.now()
    const base = { stream_id: this.assignment.stream_id, epoch: this.assignment.epoch, ts_ms: ts }
    const { jpeg, ...fields } = result
    const page: PageResult = { ...base, ...fields }
    this.page = page
    this.emit(() => this.options.onPage?.(page))
    if (jpeg === undefined) return
    this.emit(() => this.options.onScreenshot({ ...base, jpeg, source: 'page' }))
  }

  /** Logs a failure when its reason changes, and the recovery after one. */
  private noteOutcome(check: string, reason: string | undefined): void {
    const previous = this.failing.get(check)
    if (reason === undefined) {
      if (previous !== undefined) this.log.info({ check }, 'check works again')
      this.failing.delete(check)
      return
    }
    if (reason !== previous) this.log.warn({ check, reason }, 'check failed')
    this.failing.set(check, reason)
  }

  private emit(callback: () => void): void {
    try {
      callback()
    } catch (error) {
      this.log.error({ err: error }, 'check result callback failed')
    }
  }
}
