// One step of the agent capacity benchmark, in its own process so that its
// peak memory is its own. The agent's MonitorSet runs COUNT streams of the
// benchmark origin: the per-stream monitors, playlist checks and, with an av
// interval, picture and sound checks. The probe and av check functions are
// wrapped to record when each run starts. Prints one JSON line.
//
//   node --import tsx bench/helpers/agent-capacity-agent.ts MODE COUNT ORIGIN INTERVAL_S AV_INTERVAL_S WARM_S MEASURE_S
//
// MODE is `monit` (probeStream: HLS segments read in process) or `ffprobe`
// (one ffprobe process per probe, the baseline). AV_INTERVAL_S 0 runs no
// picture and sound checks.
import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { pino } from 'pino'
import { runAvCheck } from '../../agent/src/media/av-check.ts'
import { MonitorSet } from '../../agent/src/monitor/monitor-set.ts'
import { probeStream, probeWithFfprobe, type ProbeFn } from '../../agent/src/monitor/probe.ts'
import type { AvCheckFn } from '../../agent/src/monitor/stream-checks.ts'

const [mode, countText, origin, intervalText, avIntervalText, warmText, measureText] = process.argv.slice(2)
if (mode !== 'monit' && mode !== 'ffprobe') {
  console.error('usage: agent-capacity-agent.ts monit|ffprobe COUNT ORIGIN INTERVAL_S AV_INTERVAL_S WARM_S MEASURE_S')
  process.exit(2)
}
const count = Number(countText)
const intervalMs = Number(intervalText) * 1000
const avIntervalS = Number(avIntervalText)
const warmMs = Number(warmText) * 1000
const measureMs = Number(measureText) * 1000

/** Start times of one stream's runs, for the gaps between them. */
interface Schedule {
  lastStart: number | undefined
  /** The previous probe failed in a way the monitor retries at once, so the next call is that retry. */
  retryNext: boolean
  starts: number
}

let measuring = false
const probeSchedules = new Map<string, Schedule>()
const avSchedules = new Map<string, Schedule>()
const totals = { probes: 0, probeFailures: 0, maxProbeLateMs: 0, avChecks: 0, avFailures: 0, maxAvLateMs: 0, maxAvDurationMs: 0 }
const failureReasons = new Map<string, number>()

function scheduleOf(map: Map<string, Schedule>, key: string): Schedule {
  let schedule = map.get(key)
  if (schedule === undefined) {
    schedule = { lastStart: undefined, retryNext: false, starts: 0 }
    map.set(key, schedule)
  }
  return schedule
}

/** Records a run start; returns how late it is against the previous start plus the interval, ms. */
function recordStart(schedule: Schedule, interval: number, now: number): number {
  const late = schedule.lastStart === undefined ? 0 : Math.max(0, now - schedule.lastStart - interval)
  schedule.lastStart = now
  if (measuring) schedule.starts += 1
  return late
}

const inner: ProbeFn = mode === 'monit' ? probeStream : probeWithFfprobe
const probe: ProbeFn = async (url, settings, options) => {
  const schedule = scheduleOf(probeSchedules, url)
  const now = Date.now()
  if (schedule.retryNext) {
    schedule.retryNext = false
  } else {
    const late = recordStart(schedule, intervalMs, now)
    if (measuring) totals.maxProbeLateMs = Math.max(totals.maxProbeLateMs, late)
  }
  const result = await inner(url, settings, options)
  if (!result.ok) schedule.retryNext = result.retryable
  if (measuring) {
    totals.probes += 1
    if (!result.ok) {
      totals.probeFailures += 1
      failureReasons.set(result.reason, (failureReasons.get(result.reason) ?? 0) + 1)
    }
  }
  return result
}

const avCheck: AvCheckFn = async (url, settings, options) => {
  const schedule = scheduleOf(avSchedules, url)
  const started = Date.now()
  const late = recordStart(schedule, avIntervalS * 1000, started)
  const result = await runAvCheck(url, settings, options)
  if (measuring) {
    totals.maxAvLateMs = Math.max(totals.maxAvLateMs, late)
    totals.maxAvDurationMs = Math.max(totals.maxAvDurationMs, Date.now() - started)
    totals.avChecks += 1
    if (!result.ok) {
      totals.avFailures += 1
      failureReasons.set(`av: ${result.reason}`, (failureReasons.get(`av: ${result.reason}`) ?? 0) + 1)
    }
  }
  return result
}

const logger = pino({ level: process.env.MONIT_BENCH_LOG_LEVEL ?? 'error' })
let rows = 0
/** The latest status of each stream, `up` or `STATUS: REASON`. */
const latestStatus = new Map<string, string>()
const withAv = avIntervalS > 0
const monitors = new MonitorSet({
  logger,
  onMetrics: () => {
    rows += 1
  },
  onStatus: (status) => {
    latestStatus.set(status.stream_id, status.status === 'up' ? 'up' : `${status.status}: ${status.reason}`)
  },
  probe,
  playlistChecks: true,
  onPlaylist: () => {},
  ...(withAv ? { onAv: () => {}, avCheck, checkDefaults: { avIntervalS, screenshotIntervalS: 0 } } : {}),
})

const probeSettings = { interval_s: intervalMs / 1000, sample_s: 5, timeout_s: 10, screenshot_interval_s: 0, av_interval_s: avIntervalS }
for (let index = 0; index < count; index++) {
  const url = `${origin}/c${index % 4}/s${index}/index.m3u8`
  monitors.perform({ stream_id: `bench-${index}`, url, epoch: 1, probe: probeSettings })
}

await sleep(warmMs)
measuring = true
const loopDelay = monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()
const cpuBefore = process.cpuUsage()
const skippedBefore = monitors.probeTotals.skipped
const measureStarted = Date.now()
await sleep(measureMs)
measuring = false
loopDelay.disable()
const measuredMs = Date.now() - measureStarted
const cpu = process.cpuUsage(cpuBefore)
const skipped = monitors.probeTotals.skipped - skippedBefore
const peakMiB = peakMemoryMiB()
await monitors.stopAll()

// Every stream starts a probe at least once per interval while on schedule.
const minStarts = Math.floor(measuredMs / intervalMs)
const streamsBehind = [...Array(count).keys()].filter((index) => {
  const schedule = probeSchedules.get(`${origin}/c${index % 4}/s${index}/index.m3u8`)
  return (schedule?.starts ?? 0) < minStarts
}).length

console.log(
  JSON.stringify({
    mode,
    count,
    withAv,
    ...totals,
    skipped,
    streamsBehind,
    avStreams: [...avSchedules.values()].filter((schedule) => schedule.lastStart !== undefined).length,
    rows,
    cpuShare: (cpu.user + cpu.system) / 1000 / measuredMs,
    /** Event loop delay of the measurement, ms (histogram values are ns). */
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
    peakMiB,
    statuses: countValues(latestStatus.values()),
    failureReasons: Object.fromEntries([...failureReasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5)),
  }),
)
process.exit(0)

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms))
}

function peakMemoryMiB(): number {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))
  return match ? Number(match[1]) / 1024 : NaN
}

function countValues(values: Iterable<string>): Record<string, number> {
  const counts = new Map<string, number>()
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1)
  return Object.fromEntries([...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5))
}
