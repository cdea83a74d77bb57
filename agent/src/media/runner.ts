// The one place where the agent starts ffprobe/ffmpeg. Each run is a child in
// its own process group (so a kill takes everything it started), without a
// shell, with a hard deadline after which the group gets SIGKILL and the
// child is reaped, a bounded stdout, the tail of stderr for error messages,
// and an 'error' listener so a missing binary is a clear error, not a crash.
import { spawn, type ChildProcess } from 'node:child_process'
import { protocolWhitelist } from './protocols.ts'

export type MediaTool = 'ffprobe' | 'ffmpeg'

export interface MediaRunOptions {
  /** Kill the process group (SIGKILL) this many ms after spawning. */
  deadlineMs: number
  /** Aborting kills the process group; the run then resolves with aborted = true. */
  signal?: AbortSignal
  /** Bytes of stdout kept; beyond it the run is killed (default 32 MiB). */
  maxStdoutBytes?: number
  /** Bytes at the end of stderr kept for error messages (default 8 KiB). */
  stderrTailBytes?: number
  /**
   * Receives stdout chunk by chunk as it arrives, for callers that read a
   * stream while it runs. stdout is then not kept and maxStdoutBytes does not apply.
   */
  onStdout?: (chunk: Buffer) => void
}

export interface MediaRunResult {
  /** Exit code, or null when the process ended by a signal. */
  code: number | null
  signal: NodeJS.Signals | null
  /** stdout decoded as UTF-8. */
  stdout: string
  /** stdout as bytes, for binary output such as an image. */
  stdoutBuffer: Buffer
  /** The last stderrTailBytes of stderr. */
  stderr: string
  /** Killed because the deadline passed. */
  timedOut: boolean
  /** Killed because the caller's signal aborted (or killAll ran). */
  aborted: boolean
  /** Killed because stdout went over maxStdoutBytes; stdout holds the first part. */
  stdoutOverflow: boolean
  durationMs: number
}

export class MediaToolError extends Error {
  override name = 'MediaToolError'
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message)
  }
}

const DEFAULT_MAX_STDOUT = 32 * 1024 * 1024
const DEFAULT_STDERR_TAIL = 8 * 1024
/** After 'exit', how long to wait for the pipes to close before giving up on them. */
const CLOSE_GRACE_MS = 2000

const paths: Record<MediaTool, string | undefined> = { ffprobe: undefined, ffmpeg: undefined }

/**
 * Where the binaries are. Unset entries fall back to MONIT_FFPROBE /
 * MONIT_FFMPEG, then to the bare name looked up on PATH.
 */
export function configureMediaTools(options: Partial<Record<MediaTool, string | undefined>>): void {
  if ('ffprobe' in options) paths.ffprobe = options.ffprobe
  if ('ffmpeg' in options) paths.ffmpeg = options.ffmpeg
}

export function mediaToolPath(tool: MediaTool): string {
  const env = tool === 'ffprobe' ? process.env.MONIT_FFPROBE : process.env.MONIT_FFMPEG
  return paths[tool] ?? (env || tool)
}

interface Live {
  child: ChildProcess
  pid: number
  exited: Promise<void>
  kill(reason: 'aborted'): void
}

const live = new Set<Live>()

/** Number of media tool processes spawned and not yet reaped. */
export function activeChildren(): number {
  return live.size
}

/** Kills every running media tool (agent shutdown) and resolves once all are reaped. */
export async function killAll(): Promise<void> {
  const waiting = [...live].map((entry) => {
    entry.kill('aborted')
    return entry.exited
  })
  await Promise.all(waiting)
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // The group is gone already.
  }
}

/**
 * Every `-i URL` in the arguments must be a supported stream URL, preceded by
 * the `-protocol_whitelist` built for it. Inputs must be given with `-i`.
 */
function checkInputs(args: string[]): void {
  let whitelist: string | undefined
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-protocol_whitelist') whitelist = args[i + 1]
    if (args[i] !== '-i') continue
    const url = args[i + 1]
    if (url === undefined) throw new MediaToolError('-i without an input')
    const expected = protocolWhitelist(url) // throws UnsupportedUrlError
    if (whitelist !== expected) {
      throw new MediaToolError(`input ${i} has protocol whitelist ${whitelist ?? '(none)'}, expected ${expected}`)
    }
  }
}

/**
 * Runs ffprobe or ffmpeg with the given arguments (no shell) and resolves
 * when the process has been reaped. Rejects only when it cannot start (for
 * example ENOENT) or when an input URL is not allowed; a non-zero exit,
 * the deadline and an abort all resolve with the details.
 */
export function runMediaTool(tool: MediaTool, args: string[], options: MediaRunOptions): Promise<MediaRunResult> {
  const started = Date.now()
  try {
    checkInputs(args)
  } catch (error) {
    return Promise.reject(error)
  }
  const maxStdout = options.maxStdoutBytes ?? DEFAULT_MAX_STDOUT
  const tailBytes = options.stderrTailBytes ?? DEFAULT_STDERR_TAIL
  const bin = mediaToolPath(tool)

  if (options.signal?.aborted) {
    return Promise.resolve({
      code: null,
      signal: null,
      stdout: '',
      stdoutBuffer: Buffer.alloc(0),
      stderr: '',
      timedOut: false,
      aborted: true,
      stdoutOverflow: false,
      durationMs: 0,
    })
  }

  return new Promise((resolve, reject) => {
    let child: ChildProcess
    try {
      child = spawn(bin, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        shell: false,
        windowsHide: true,
      })
    } catch (error) {
      reject(new MediaToolError(`cannot start ${tool} (${bin}): ${(error as Error).message}`, (error as NodeJS.ErrnoException).code))
      return
    }

    const stdoutChunks: Buffer[] = []
    let stdoutBytes = 0
    let stdoutOverflow = false
    let stderrChunks: Buffer[] = []
    let stderrBytes = 0
    let timedOut = false
    let aborted = false
    let spawnError: NodeJS.ErrnoException | undefined
    let exitCode: number | null = null
    let exitSignal: NodeJS.Signals | null = null
    let settled = false
    let markExited!: () => void
    const exited = new Promise<void>((done) => (markExited = done))

    const pid = child.pid
    const entry: Live | undefined =
      pid === undefined
        ? undefined
        : {
            child,
            pid,
            exited,
            kill: () => {
              aborted = true
              killGroup(pid)
            },
          }
    if (entry) live.add(entry)

    const deadline = setTimeout(() => {
      timedOut = true
      if (pid !== undefined) killGroup(pid)
    }, Math.max(0, options.deadlineMs))

    const onAbort = () => {
      aborted = true
      if (pid !== undefined) killGroup(pid)
    }
    options.signal?.addEventListener('abort', onAbort, { once: true })

    child.stdout!.on('data', (chunk: Buffer) => {
      if (options.onStdout !== undefined) {
        try {
          options.onStdout(chunk)
        } catch {
          // A failing reader ends the run as an abort instead of crashing the agent.
          aborted = true
          if (pid !== undefined) killGroup(pid)
        }
        return
      }
      if (stdoutOverflow) return
      if (stdoutBytes + chunk.length > maxStdout) {
        stdoutChunks.push(chunk.subarray(0, maxStdout - stdoutBytes))
        stdoutBytes = maxStdout
        stdoutOverflow = true
        if (pid !== undefined) killGroup(pid)
        return
      }
      stdoutChunks.push(chunk)
      stdoutBytes += chunk.length
    })
    child.stderr!.on('data', (chunk: Buffer) => {
      stderrChunks.push(chunk)
      stderrBytes += chunk.length
      if (stderrBytes > tailBytes * 2) {
        const joined = Buffer.concat(stderrChunks).subarray(-tailBytes)
        stderrChunks = [joined]
        stderrBytes = joined.length
      }
    })
    // Errors on the pipes themselves (rare) must not become uncaught exceptions.
    child.stdout!.on('error', () => {})
    child.stderr!.on('error', () => {})

    const finish = () => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      clearTimeout(closeTimer)
      options.signal?.removeEventListener('abort', onAbort)
      if (entry) live.delete(entry)
      markExited()
      if (spawnError) {
        const message =
          spawnError.code === 'ENOENT'
            ? `${tool} not found (${bin}): install ffmpeg or set ${tool === 'ffprobe' ? 'MONIT_FFPROBE' : 'MONIT_FFMPEG'}`
            : `cannot start ${tool} (${bin}): ${spawnError.message}`
        reject(new MediaToolError(message, spawnError.code))
        return
      }
      const stdoutBuffer = Buffer.concat(stdoutChunks)
      resolve({
        code: exitCode,
        signal: exitSignal,
        stdout: stdoutBuffer.toString('utf8'),
        stdoutBuffer,
        stderr: Buffer.concat(stderrChunks).subarray(-tailBytes).toString('utf8'),
        timedOut,
        aborted,
        stdoutOverflow,
        durationMs: Date.now() - started,
      })
    }

    let closeTimer: NodeJS.Timeout | undefined
    child.on('error', (error: NodeJS.ErrnoException) => {
      // Spawn failures (ENOENT, EACCES) come here, without a pid and without
      // 'exit'. Errors of a running child (a failed kill) change nothing:
      // 'exit' and 'close' still follow.
      if (pid !== undefined) return
      spawnError ??= error
      finish()
    })
    child.on('exit', (code, signal) => {
      exitCode = code
      exitSignal = signal
      // Anything the tool left in its group goes with it.
      if (pid !== undefined && (timedOut || aborted || stdoutOverflow)) killGroup(pid)
      closeTimer = setTimeout(() => {
        child.stdout?.destroy()
        child.stderr?.destroy()
        finish()
      }, CLOSE_GRACE_MS)
    })
    child.on('close', () => finish())
  })
}
