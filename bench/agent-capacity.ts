// Agent capacity: how many 2 Mbit/s HLS streams one agent keeps on schedule
// at a 10 s probe interval. monit's probe (segments read in process) runs
// against a baseline that starts one ffprobe process per probe, then both
// run again with picture and sound checks every 60 s. All on 127.0.0.1.
//
// A 20 s 1280x720 clip is encoded once and looped into 300 segments of 2 s,
// which one origin process serves as live playlists under a different URL
// per stream (bench/helpers/agent-capacity-server.ts). Each step runs the
// agent's MonitorSet with COUNT streams in its own process
// (bench/helpers/agent-capacity-agent.ts) and the count ramps up until a
// step falls behind or the time budget runs out.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { encoderArgs, FFMPEG } from '../testing/streams.ts'
import { report, runHelper, stopProcess, waitForHttp } from './helpers/processes.ts'

const INTERVAL_S = 10
const AV_INTERVAL_S = 60
const PORT = 18621
/** The whole run stops starting steps after this long, ms. */
const BUDGET_MS = Number(process.env.MONIT_BENCH_CAPACITY_BUDGET_S ?? 440) * 1000
const WARM_S = INTERVAL_S
const MEASURE_S = Number(process.env.MONIT_BENCH_CAPACITY_MEASURE_S ?? 20)
const AV_MEASURE_S = Number(process.env.MONIT_BENCH_CAPACITY_AV_MEASURE_S ?? 20)

function steps(variable: string, fallback: number[]): number[] {
  const text = process.env[variable]
  return text ? text.split(',').map(Number) : fallback
}

const PROBE_STEPS = { monit: steps('MONIT_BENCH_CAPACITY_STEPS', [250, 500, 750, 1000]), ffprobe: steps('MONIT_BENCH_CAPACITY_BASELINE_STEPS', [100, 250, 500]) }
const AV_STEPS = { monit: steps('MONIT_BENCH_CAPACITY_AV_STEPS', [25, 50, 100, 200]), ffprobe: steps('MONIT_BENCH_CAPACITY_AV_BASELINE_STEPS', [25, 50, 100, 200]) }

interface StepResult {
  mode: 'monit' | 'ffprobe'
  count: number
  withAv: boolean
  probes: number
  probeFailures: number
  maxProbeLateMs: number
  avChecks: number
  avFailures: number
  maxAvLateMs: number
  maxAvDurationMs: number
  skipped: number
  streamsBehind: number
  avStreams: number
  rows: number
  cpuShare: number
  loopDelayP99Ms: number
  loopDelayMaxMs: number
  peakMiB: number
  /** The most common latest statuses of the streams, `up` or `STATUS: REASON`. */
  statuses: Record<string, number>
  failureReasons: Record<string, number>
}

/**
 * Returns whether a step kept its streams on schedule: no probe slot skipped
 * and every probe started less than one interval after its due time. Every
 * stream must also have started a probe in each interval of the
 * measurement, at most 1% of probes may fail, and every picture and sound
 * check (when on) must end within its interval without failing.
 */
function onSchedule(step: StepResult): boolean {
  const probesOk = step.skipped === 0 && step.maxProbeLateMs < INTERVAL_S * 1000 && step.streamsBehind === 0 && step.probeFailures <= step.probes * 0.01
  if (!step.withAv) return probesOk
  return probesOk && step.avFailures === 0 && step.maxAvDurationMs < AV_INTERVAL_S * 1000
}

function prepareSegments(): string {
  const dir = mkdtempSync(join(tmpdir(), 'monit-bench-capacity-'))
  const clip = join(dir, 'clip.ts')
  const lavfi = ['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000']
  execFileSync(FFMPEG, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...lavfi, '-t', '20', ...encoderArgs(), '-f', 'mpegts', clip], { timeout: 300_000 })
  // -stream_loop keeps the timestamps rising across loops, and the HLS muxer
  // keeps the continuity counters running across segments.
  execFileSync(
    FFMPEG,
    ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-stream_loop', '29', '-i', clip, '-c', 'copy', '-f', 'hls', '-hls_time', '2', '-hls_list_size', '0', '-hls_segment_filename', join(dir, 'seg%d.ts'), join(dir, 'all.m3u8')],
    { timeout: 300_000 },
  )
  return dir
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
function processCpuS(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  // utime and stime are fields 14 and 15 of stat, in clock ticks of 1/100 s.
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** Busy and total jiffies of all cores, from the first line of /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const values = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const total = values.reduce((sum, value) => sum + value, 0)
  const idle = values[3]! + (values[4] ?? 0)
  return { busy: total - idle, total }
}

const started = Date.now()
console.log(`agent capacity: 2 Mbit/s 720p HLS on 127.0.0.1, probe interval ${INTERVAL_S} s, sample 5 s; steps of ${WARM_S} s warm-up + ${MEASURE_S} s measured (${AV_MEASURE_S} s with av checks)`)
const dir = prepareSegments()
console.log(`segments: ${readdirSync(dir).filter((name) => name.endsWith('.ts')).length - 1} of 2 s, encoded in ${((Date.now() - started) / 1000).toFixed(0)} s`)
const origin = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./helpers/agent-capacity-server.ts', import.meta.url)), dir, String(PORT)], { stdio: 'inherit' })

/** Ramps one mode through its counts; returns the largest count kept on schedule and the steps run. */
async function ramp(mode: 'monit' | 'ffprobe', counts: number[], avIntervalS: number): Promise<{ kept: number; steps: StepResult[] }> {
  const measureS = avIntervalS > 0 ? AV_MEASURE_S : MEASURE_S
  const stepS = WARM_S + measureS + 5
  let kept = 0
  const results: StepResult[] = []
  for (const count of counts) {
    if (Date.now() - started + stepS * 1000 > BUDGET_MS) {
      console.log(`  ${mode}: stopped before ${count} streams: the run's time budget of ${BUDGET_MS / 1000} s is spent`)
      break
    }
    const args = [mode, String(count), `http://127.0.0.1:${PORT}`, String(INTERVAL_S), String(avIntervalS), String(WARM_S), String(measureS)]
    const originBefore = processCpuS(origin.pid!)
    const machineBefore = machineCpu()
    const stepStarted = Date.now()
    const step = await runHelper<StepResult>('bench/helpers/agent-capacity-agent.ts', args)
    const originShare = (processCpuS(origin.pid!) - originBefore) / ((Date.now() - stepStarted) / 1000)
    const machineAfter = machineCpu()
    const machineShare = (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)
    results.push(step)
    const ok = onSchedule(step)
    const av = step.withAv ? `, av checks ${step.avChecks} (${step.avFailures} failed, longest ${(step.maxAvDurationMs / 1000).toFixed(1)} s)` : ''
    console.log(
      `  ${mode} ${count} streams: ${ok ? 'on schedule' : 'BEHIND'}; probes ${step.probes} (${step.probeFailures} failed), max start delay ${(step.maxProbeLateMs / 1000).toFixed(1)} s, skipped ${step.skipped}, streams behind ${step.streamsBehind}${av}; agent CPU ${(step.cpuShare * 100).toFixed(0)}% of a core, event loop delay p99 ${step.loopDelayP99Ms.toFixed(0)} ms, peak memory ${step.peakMiB.toFixed(0)} MiB; origin CPU ${(originShare * 100).toFixed(0)}% of a core; all cores ${(machineShare * 100).toFixed(0)}% busy, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
    )
    if (Object.keys(step.failureReasons).length > 0) console.log(`    failures: ${JSON.stringify(step.failureReasons)}`)
    // A stream that is not up is probed at half its interval, so it adds load.
    if ((step.statuses.up ?? 0) < count) console.log(`    statuses: ${JSON.stringify(step.statuses)}`)
    if (!ok) break
    kept = count
  }
  return { kept, steps: results }
}

function summarise(name: string, ours: { kept: number; steps: StepResult[] }, baseline: { kept: number }, goal?: string): void {
  if (baseline.kept > 0) {
    report(`streams on schedule, ${name}`, ours.kept, 'streams', { name: 'one ffprobe per probe', value: baseline.kept }, goal)
  } else {
    console.log(`streams on schedule, ${name}: ${ours.kept} streams; baseline one ffprobe per probe: none of its steps stayed on schedule`)
  }
  report('agent peak memory (VmHWM) at that count', peakOf(ours.steps, ours.kept), 'MiB')
}

function peakOf(steps: StepResult[], count: number): number {
  return steps.find((step) => step.count === count)?.peakMiB ?? NaN
}

try {
  await waitForHttp(`http://127.0.0.1:${PORT}/healthz`, 60_000)

  const monit = await ramp('monit', PROBE_STEPS.monit, 0)
  const baseline = await ramp('ffprobe', PROBE_STEPS.ffprobe, 0)
  const monitAv = await ramp('monit', AV_STEPS.monit, AV_INTERVAL_S)
  const baselineAv = await ramp('ffprobe', AV_STEPS.ffprobe, AV_INTERVAL_S)

  console.log('')
  summarise('probes only', monit, baseline, '>= 500 streams and >= 2x')
  summarise('with av checks every 60 s', monitAv, baselineAv)
  const goalMet = monit.kept >= 500 && monit.kept >= 2 * baseline.kept && peakOf(monit.steps, monit.kept) < 1024
  console.log(`goal (>= 500 streams, >= 2x the baseline, peak memory under 1 GiB): ${goalMet ? 'met' : 'NOT met'}; whole run ${((Date.now() - started) / 1000).toFixed(0)} s`)
} finally {
  await stopProcess(origin)
  rmSync(dir, { recursive: true, force: true })
}
