// Live test streams for tests: real ffmpeg encoding lavfi test sources on
// 127.0.0.1, in real time. Defaults: 1280x720, 25 fps, H.264 at 2 Mbit/s
// (CBR-like, ultrafast, zerolatency, 2 s GOP of 50 frames) plus AAC at
// 48 kbit/s.
//
//   const hls = await startHlsStream()     // http://127.0.0.1:PORT/index.m3u8
//   const rtmp = await startRtmpStream()   // rtmp://127.0.0.1:PORT/live/stream
//   const udp = await startUdpStream()     // udp://127.0.0.1:PORT (MPEG-TS)
//   const srt = await startSrtStream()     // srt://127.0.0.1:PORT (MPEG-TS)
//   const silent = await startSilentTcpServer()
//   const missing = await startNotFoundServer()
//   ...
//   await stopAllTestStreams()             // kills and reaps every ffmpeg
//
// Every ffmpeg runs in its own process group and stop() SIGKILLs the group
// and waits for the exit. RTMP and SRT use ffmpeg as the listening side; it
// serves one client and exits, so those helpers restart it until stop().
import { spawn, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startStaticServer, startStatusServer, type TestHttpServer } from './http-server.ts'
import { freePort } from './ports.ts'

export { freePort }

export const FFMPEG = process.env.MONIT_FFMPEG || 'ffmpeg'

export interface EncodeOptions {
  width?: number
  height?: number
  fps?: number
  /** Video bitrate in bit/s (default 2_000_000). */
  videoBitrate?: number
  /** Frames per GOP (default 2 s worth). */
  gop?: number
  /** Add an AAC audio track (default true). */
  audio?: boolean
  /** Add the H.264 video track (default true); false with audio gives an audio-only stream. */
  video?: boolean
  /** Audio bitrate in bit/s (default 48_000). */
  audioBitrate?: number
  /** x264 preset (default ultrafast). */
  preset?: string
}

export interface TestStream {
  /** The URL a probe opens. */
  readonly url: string
  /** Times ffmpeg was (re)started. */
  readonly starts: number
  /** Pids of the ffmpeg processes running now. */
  pids(): number[]
  /** The last lines ffmpeg wrote to stderr, for failure messages. */
  log(): string
  /**
   * Resolves once the stream can take a new client: for RTMP and SRT, once
   * a fresh listener (not one still serving or leaving) is bound, since
   * ffmpeg restarts after each client (about 0.2-0.3 s). Immediate for HLS and UDP.
   */
  ready(timeoutMs?: number): Promise<void>
  /** Kills and reaps every ffmpeg of this stream and frees what it used. Idempotent. */
  stop(): Promise<void>
}

export interface HlsStream extends TestStream {
  /** The folder ffmpeg writes the playlist and segments to. */
  readonly dir: string
  readonly server: TestHttpServer
}

const stoppers = new Set<() => Promise<void>>()

/** Stops every stream and server these helpers started. */
export async function stopAllTestStreams(): Promise<void> {
  await Promise.all([...stoppers].map((stop) => stop()))
}


function sourceArgs(o: Required<EncodeOptions>): string[] {
  const args = o.video ? ['-re', '-f', 'lavfi', '-i', `testsrc2=size=${o.width}x${o.height}:rate=${o.fps}`] : []
  if (o.audio) args.push('-re', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000')
  return args
}

/** x264 (and AAC) settings; nal-hrd=cbr for MPEG-TS outputs. */
export function encoderArgs(options: EncodeOptions = {}, container: 'mpegts' | 'flv' = 'mpegts'): string[] {
  const o = withDefaults(options)
  if (!o.video) return ['-map', '0:a', '-c:a', 'aac', '-b:a', String(o.audioBitrate), '-ac', '1']
  const rate = String(o.videoBitrate)
  const args = [
    '-map', '0:v',
    '-c:v', 'libx264',
    '-preset', o.preset,
    '-tune', 'zerolatency',
    '-pix_fmt', 'yuv420p',
    '-b:v', rate,
    '-maxrate', rate,
    '-bufsize', rate,
    '-g', String(o.gop),
    '-keyint_min', String(o.gop),
    '-sc_threshold', '0',
  ]
  if (container === 'mpegts') args.push('-x264-params', 'nal-hrd=cbr')
  if (o.audio) args.push('-map', '1:a', '-c:a', 'aac', '-b:a', String(o.audioBitrate), '-ac', '1')
  return args
}

function withDefaults(options: EncodeOptions): Required<EncodeOptions> {
  const fps = options.fps ?? 25
  return {
    width: options.width ?? 1280,
    height: options.height ?? 720,
    fps,
    videoBitrate: options.videoBitrate ?? 2_000_000,
    gop: options.gop ?? fps * 2,
    audio: options.audio ?? true,
    video: options.video ?? true,
    audioBitrate: options.audioBitrate ?? 48_000,
    preset: options.preset ?? 'ultrafast',
  }
}

function ffmpegArgs(options: EncodeOptions, container: 'mpegts' | 'flv', output: string[]): string[] {
  return ['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'info', ...sourceArgs(withDefaults(options)), ...encoderArgs(options, container), ...output]
}

/** One ffmpeg command kept running (restarted after it exits) until stop(). */
class Supervisor {
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()
  private stopped = false
  private restartTimer: NodeJS.Timeout | undefined
  private stderr = ''
  /** The current ffmpeg has opened its output (for a listener: a client connected). */
  private outputOpened = false
  starts = 0

  constructor(
    private readonly args: string[],
    private readonly restart: boolean,
  ) {}

  start(): void {
    if (this.stopped) return
    this.starts++
    const child = spawn(FFMPEG, this.args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true })
    this.child = child
    this.outputOpened = false
    let recent = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString()
      // ffmpeg prints "Output #0" once the output is open: for a listening
      // output, once a client has connected.
      if (this.child === child && (recent + text).includes('Output #0')) this.outputOpened = true
      recent = text.slice(-16)
      this.stderr = (this.stderr + text).slice(-4000)
    })
    child.on('error', (error) => {
      this.stderr += `\nspawn failed: ${error.message}`
    })
    this.exited = new Promise((resolve) => {
      child.once('close', () => {
        if (this.child === child) this.child = undefined
        if (!this.stopped && this.restart) this.restartTimer = setTimeout(() => this.start(), 100)
        resolve()
      })
    })
  }

  pids(): number[] {
    return this.child?.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null ? [this.child.pid] : []
  }

  log(): string {
    return this.stderr
  }

  /** The current ffmpeg is running and has not opened its output yet. */
  waiting(): boolean {
    return this.pids().length > 0 && !this.outputOpened
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.restartTimer) clearTimeout(this.restartTimer)
    const child = this.child
    if (child?.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // Already gone.
      }
    }
    await this.exited
  }
}

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`test stream: timed out after ${timeoutMs} ms waiting for ${what}\n${log()}`)
}

/** Whether a socket is bound on 127.0.0.1:port (TCP: listening), from /proc/net. */
export function portBound(port: number, kind: 'tcp' | 'udp'): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  for (const file of kind === 'tcp' ? ['/proc/net/tcp', '/proc/net/tcp6'] : ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      const local = fields[1]
      if (!local?.endsWith(`:${hex}`)) continue
      if (kind === 'udp' || fields[3] === '0A') return true
    }
  }
  return false
}

function register(stream: { stop(): Promise<void> }): void {
  const stop = stream.stop
  const wrapped = async () => {
    stoppers.delete(wrapped)
    await stop()
  }
  stream.stop = wrapped
  stoppers.add(wrapped)
}

function streamOf(
  url: string,
  supervisor: Supervisor,
  cleanup: () => Promise<void> = async () => {},
  isReady: () => boolean = () => true,
): TestStream {
  let stopping: Promise<void> | undefined
  const stream: TestStream = {
    url,
    get starts() {
      return supervisor.starts
    },
    pids: () => supervisor.pids(),
    log: () => supervisor.log(),
    ready: (timeoutMs = 15_000) => waitUntil(`${url} to accept a client`, isReady, timeoutMs, () => supervisor.log()),
    stop: () => (stopping ??= supervisor.stop().then(cleanup)),
  }
  register(stream)
  return stream
}

/**
 * ffmpeg writes a live HLS playlist (2 s segments, 6 in the list, old ones
 * deleted) to a temp folder served over HTTP. Resolves once the playlist
 * lists minSegments segments (default 3, what a player starts from).
 */
export async function startHlsStream(
  options: EncodeOptions & { segmentS?: number; listSize?: number; minSegments?: number; readyTimeoutMs?: number } = {},
): Promise<HlsStream> {
  const dir = await mkdtemp(join(tmpdir(), 'monit-hls-'))
  const server = await startStaticServer(dir)
  const playlist = join(dir, 'index.m3u8')
  const supervisor = new Supervisor(
    ffmpegArgs(options, 'mpegts', [
      '-f', 'hls',
      '-hls_time', String(options.segmentS ?? 2),
      '-hls_list_size', String(options.listSize ?? 6),
      '-hls_flags', 'delete_segments',
      '-hls_segment_filename', join(dir, 'seg%05d.ts'),
      playlist,
    ]),
    false,
  )
  supervisor.start()
  const base = streamOf(`${server.url}/index.m3u8`, supervisor, async () => {
    await server.stop()
    await rm(dir, { recursive: true, force: true })
  })
  const stream: HlsStream = Object.assign(base, { dir, server })
  const minSegments = options.minSegments ?? 3
  try {
    await waitUntil(
      `${minSegments} HLS segments`,
      async () => {
        const text = await readFile(playlist, 'utf8').catch(() => '')
        return (text.match(/^#EXTINF:/gm) ?? []).length >= minSegments
      },
      options.readyTimeoutMs ?? 30_000,
      () => supervisor.log(),
    )
  } catch (error) {
    await stream.stop()
    throw error
  }
  return stream
}

/** ffmpeg as an RTMP server (`-listen 1`), restarted after each client. */
export async function startRtmpStream(options: EncodeOptions & { port?: number; readyTimeoutMs?: number } = {}): Promise<TestStream> {
  const port = options.port ?? (await freePort('tcp'))
  const url = `rtmp://127.0.0.1:${port}/live/stream`
  const supervisor = new Supervisor(ffmpegArgs(options, 'flv', ['-f', 'flv', '-listen', '1', url]), true)
  supervisor.start()
  const stream = streamOf(url, supervisor, undefined, () => supervisor.waiting() && portBound(port, 'tcp'))
  await waitReady(stream, options.readyTimeoutMs)
  return stream
}

/** ffmpeg as an SRT listener sending MPEG-TS, restarted after each caller. */
export async function startSrtStream(options: EncodeOptions & { port?: number; readyTimeoutMs?: number } = {}): Promise<TestStream> {
  const port = options.port ?? (await freePort('udp'))
  const url = `srt://127.0.0.1:${port}`
  const supervisor = new Supervisor(ffmpegArgs(options, 'mpegts', ['-f', 'mpegts', `srt://127.0.0.1:${port}?mode=listener`]), true)
  supervisor.start()
  const stream = streamOf(url, supervisor, undefined, () => supervisor.waiting() && portBound(port, 'udp'))
  await waitReady(stream, options.readyTimeoutMs)
  return stream
}

/**
 * ffmpeg sends MPEG-TS to udp://127.0.0.1:PORT (1316-byte datagrams); the
 * probe listens there. Resolves once a datagram has arrived.
 */
export async function startUdpStream(options: EncodeOptions & { port?: number; readyTimeoutMs?: number } = {}): Promise<TestStream> {
  const port = options.port ?? (await freePort('udp'))
  const url = `udp://127.0.0.1:${port}`
  const supervisor = new Supervisor(ffmpegArgs(options, 'mpegts', ['-f', 'mpegts', `${url}?pkt_size=1316`]), true)
  supervisor.start()
  const stream = streamOf(url, supervisor)
  try {
    await receiveOneDatagram(port, options.readyTimeoutMs ?? 15_000)
  } catch (error) {
    await stream.stop()
    throw new Error(`${(error as Error).message}\n${stream.log()}`)
  }
  return stream
}

async function waitReady(stream: TestStream, timeoutMs = 15_000): Promise<void> {
  try {
    await stream.ready(timeoutMs)
  } catch (error) {
    await stream.stop()
    throw error
  }
}

function receiveOneDatagram(port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: 'udp4', reuseAddr: true })
    const timer = setTimeout(() => {
      socket.close()
      reject(new Error(`test stream: no UDP datagram on port ${port} within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.once('message', () => {
      clearTimeout(timer)
      socket.close(() => resolve())
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      socket.close()
      reject(error)
    })
    socket.bind(port, '127.0.0.1')
  })
}

export interface SilentServer {
  readonly port: number
  /** Connections accepted so far. */
  readonly accepted: number
  /** A URL on this server, e.g. url('http') = http://127.0.0.1:PORT/live/index.m3u8. */
  url(scheme?: 'http' | 'rtmp'): string
  stop(): Promise<void>
}

/** A TCP server that accepts connections and never sends a byte. */
export async function startSilentTcpServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>()
  let accepted = 0
  const server = createServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  let stopping: Promise<void> | undefined
  const silent: SilentServer = {
    port,
    get accepted() {
      return accepted
    },
    url: (scheme = 'http') => (scheme === 'rtmp' ? `rtmp://127.0.0.1:${port}/live/stream` : `http://127.0.0.1:${port}/live/index.m3u8`),
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })),
  }
  register(silent)
  return silent
}

/** An HTTP server answering 404 to everything; url is a playlist on it. */
export async function startNotFoundServer(): Promise<TestHttpServer & { playlistUrl: string }> {
  const server = await startStatusServer(404)
  const result = Object.assign(server, { playlistUrl: `${server.url}/live/index.m3u8` })
  register(result)
  return result
}

/**
 * Pids of live processes whose command line (from /proc/PID/cmdline, words
 * joined by NUL) contains every marker, for checking that nothing was left
 * behind, e.g. processesMatching('ffprobe', url).
 */
export function processesMatching(...markers: string[]): number[] {
  const found: number[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return found
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      if (cmdline && markers.every((marker) => cmdline.includes(marker))) found.push(Number(entry))
    } catch {
      // Gone meanwhile.
    }
  }
  return found
}
