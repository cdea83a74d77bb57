// Test media with known picture and sound faults, made by ffmpeg from lavfi
// sources and served over HTTP on 127.0.0.1 as MPEG-TS files.
//
//   const sources = await startAvSources()
//   sources.faultsUrl   // 40 s: black 5-10 s, silence 12-22 s, frozen 20-30 s
//   sources.toneUrl     // 12 s: 1 kHz tone at -23 LUFS, moving picture
//   sources.audioOnlyUrl // 4 s: the tone without a video stream
//   await sources.stop()
//
// Encoding is faster than real time (no -re), 320x180, H.264 + mono AAC.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startStaticServer, type TestHttpServer } from './http-server.ts'
import { FFMPEG } from './streams.ts'

const SIZE = '320x180'
const FPS = 25

/**
 * Timeline of the faults file, in seconds. Black is drawn over frames with
 * 5 <= t <= 10, and freezeframes repeats the frame before t = 20 up to
 * t = 30, so they last about 5 and 10 s. Silence is 12-22 s.
 */
export const FAULTS = {
  durationS: 40,
  black: { start: 5, end: 10 },
  silence: { start: 12, end: 22 },
  freeze: { start: 20, end: 30 },
} as const

/** The tone file: 1 kHz sine, mono, scaled to this integrated loudness. */
export const TONE = { durationS: 12, lufs: -23 } as const

/**
 * Gain that brings lavfi's sine (amplitude 1/8, -18.06 dBFS peak) to
 * TONE.lufs: a full-scale 1 kHz sine in one channel measures -3.01 LUFS,
 * so the sine measures -21.07 LUFS before this gain.
 */
const TONE_GAIN_DB = TONE.lufs - (-3.01 + 20 * Math.log10(1 / 8))

export interface AvSources {
  readonly faultsUrl: string
  readonly toneUrl: string
  readonly audioOnlyUrl: string
  readonly server: TestHttpServer
  stop(): Promise<void>
}

function faultsFilter(): string {
  const { black, freeze, silence } = FAULTS
  const video = [
    '[0:v]split[main][still]',
    `[main][still]freezeframes=first=${freeze.start * FPS}:last=${freeze.end * FPS - 1}:replace=${freeze.start * FPS - 1},` +
      `drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(t,${black.start},${black.end})'[v]`,
  ].join(';')
  const audio = `[1:a]volume=${TONE_GAIN_DB.toFixed(2)}dB,volume=volume=0:enable='between(t,${silence.start},${silence.end})'[a]`
  return `${video};${audio}`
}

function lavfiInputs(durationS: number): string[] {
  return [
    '-f', 'lavfi', '-i', `testsrc2=size=${SIZE}:rate=${FPS}:duration=${durationS}`,
    '-f', 'lavfi', '-i', `sine=frequency=1000:sample_rate=48000:duration=${durationS}`,
  ]
}

const ENCODE = ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(2 * FPS), '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', '-ac', '1', '-f', 'mpegts']

/** Runs ffmpeg to completion (killed after timeoutMs) and rejects with its stderr tail on failure. */
function runFfmpeg(args: string[], timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(FFMPEG, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', reject)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve()
      else reject(new Error(`ffmpeg failed (code ${code}, signal ${signal}): ${stderr}`))
    })
  })
}

/** Writes the faults file. */
export async function writeFaultsFile(path: string): Promise<void> {
  await runFfmpeg([
    ...lavfiInputs(FAULTS.durationS),
    '-filter_complex', faultsFilter(),
    '-map', '[v]', '-map', '[a]',
    ...ENCODE,
    path,
  ])
}

/** Writes the tone file. */
export async function writeToneFile(path: string): Promise<void> {
  await runFfmpeg([
    ...lavfiInputs(TONE.durationS),
    '-filter_complex', `[1:a]volume=${TONE_GAIN_DB.toFixed(2)}dB[a]`,
    '-map', '0:v', '-map', '[a]',
    ...ENCODE,
    path,
  ])
}

/** Writes the audio-only file. */
export async function writeAudioOnlyFile(path: string): Promise<void> {
  await runFfmpeg([
    '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000:duration=4',
    '-c:a', 'aac', '-b:a', '64k', '-ac', '1', '-f', 'mpegts',
    path,
  ])
}

/** Writes the files to a temporary folder and serves it over HTTP on 127.0.0.1. */
export async function startAvSources(): Promise<AvSources> {
  const dir = await mkdtemp(join(tmpdir(), 'monit-av-'))
  try {
    await Promise.all([
      writeFaultsFile(join(dir, 'faults.ts')),
      writeToneFile(join(dir, 'tone.ts')),
      writeAudioOnlyFile(join(dir, 'audio.ts')),
    ])
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  const server = await startStaticServer(dir)
  let stopping: Promise<void> | undefined
  return {
    faultsUrl: `${server.url}/faults.ts`,
    toneUrl: `${server.url}/tone.ts`,
    audioOnlyUrl: `${server.url}/audio.ts`,
    server,
    stop: () =>
      (stopping ??= (async () => {
        await server.stop()
        await rm(dir, { recursive: true, force: true })
      })()),
  }
}
