// Screenshots on disk: `${dir}/<stream_id>/<ts_ms>.jpg`, at most `keep` per
// stream and none older than maxAgeMs (by file time, on this host's clock).
// The file name is the agent's grab time, which orders the listing.
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'

export const DEFAULT_SCREENSHOT_KEEP = 60
export const DEFAULT_SCREENSHOT_MAX_AGE_S = 86_400

export interface ScreenshotStoreOptions {
  /** Folder with one subfolder per stream. */
  dir: string
  /** Screenshots kept per stream. */
  keep: number
  /** Screenshots older than this are deleted, ms. */
  maxAgeMs: number
  logger: Logger
  /** Clock, for tests. */
  now?: () => number
}

export interface StoredScreenshot {
  /** Grab time, ms since the Unix epoch. */
  ts_ms: number
  /** Bytes. */
  size: number
}

const FILE_NAME = /^(\d{1,15})\.jpg$/
const STREAM_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Throws for ids that are not stream ids or that name a relative folder ("." or ".."). */
function checkStreamId(streamId: string): string {
  if (!STREAM_ID.test(streamId) || /^\.+$/.test(streamId)) throw new Error(`invalid stream id ${JSON.stringify(streamId)}`)
  return streamId
}

async function modifiedBefore(path: string, ms: number): Promise<boolean> {
  const info = await stat(path).catch(() => undefined)
  return info !== undefined && info.mtimeMs < ms
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT'
}

export class ScreenshotStore {
  readonly dir: string
  readonly keep: number
  readonly maxAgeMs: number
  private readonly log: Logger
  private readonly now: () => number
  private sweepTimer: NodeJS.Timeout | undefined

  constructor(options: ScreenshotStoreOptions) {
    this.dir = options.dir
    this.keep = Math.max(1, options.keep)
    this.maxAgeMs = options.maxAgeMs
    this.log = options.logger
    this.now = options.now ?? Date.now
  }

  /** Writes a screenshot (through a temporary file and a rename), then applies the retention limits. */
  async save(streamId: string, tsMs: number, jpeg: Buffer): Promise<void> {
    const folder = this.folder(streamId)
    await mkdir(folder, { recursive: true })
    const target = join(folder, `${Math.trunc(tsMs)}.jpg`)
    const temporary = `${target}.tmp`
    await writeFile(temporary, jpeg)
    await rename(temporary, target)
    await this.prune(streamId)
  }

  /** Lists a stream's screenshots, newest first. */
  async list(streamId: string): Promise<StoredScreenshot[]> {
    const folder = this.folder(streamId)
    const names = await this.names(folder)
    const found: StoredScreenshot[] = []
    for (const { name, ts } of names) {
      const info = await stat(join(folder, name)).catch(() => undefined)
      if (info !== undefined) found.push({ ts_ms: ts, size: info.size })
    }
    return found
  }

  /** Returns the grab times of a stream's screenshots, newest first, without reading the files. */
  async times(streamId: string): Promise<number[]> {
    return (await this.names(this.folder(streamId))).map(({ ts }) => ts)
  }

  /** Reads one screenshot; returns undefined when there is none at that time. */
  async read(streamId: string, tsMs: number): Promise<Buffer | undefined> {
    try {
      return await readFile(join(this.folder(streamId), `${Math.trunc(tsMs)}.jpg`))
    } catch (error) {
      if (isMissing(error)) return undefined
      throw error
    }
  }

  /** Reads the newest screenshot of a stream; returns undefined when there is none. */
  async latest(streamId: string): Promise<(StoredScreenshot & { jpeg: Buffer }) | undefined> {
    // A file can be pruned between listing and reading; the next one is then the newest.
    for (const { ts } of await this.names(this.folder(streamId))) {
      const jpeg = await this.read(streamId, ts)
      if (jpeg !== undefined) return { ts_ms: ts, size: jpeg.length, jpeg }
    }
    return undefined
  }

  /** Deletes a stream's screenshots past `keep` and older than maxAgeMs; returns how many. */
  async prune(streamId: string): Promise<number> {
    const folder = this.folder(streamId)
    const oldest = this.now() - this.maxAgeMs
    let deleted = 0
    for (const [position, { name }] of (await this.names(folder)).entries()) {
      const path = join(folder, name)
      if (position < this.keep && !(await modifiedBefore(path, oldest))) continue
      await rm(path, { force: true })
      deleted++
    }
    return deleted
  }

  /** Prunes every stream's folder, so that streams no longer sending screenshots lose old ones too. */
  async sweep(): Promise<number> {
    let entries: string[]
    try {
      entries = await readdir(this.dir)
    } catch (error) {
      if (isMissing(error)) return 0
      throw error
    }
    let deleted = 0
    for (const entry of entries) {
      if (!STREAM_ID.test(entry) || /^\.+$/.test(entry)) continue
      deleted += await this.prune(entry)
      // NOTE: a save that starts between this check and rmdir fails, since
      // its folder is gone; rmdir itself never removes a folder with files.
      if ((await this.names(join(this.dir, entry))).length === 0) await rmdir(join(this.dir, entry)).catch(() => {})
    }
    return deleted
  }

  /** Runs sweep() every intervalMs until close(). */
  startSweeping(intervalMs: number): void {
    this.stopSweeping()
    this.sweepTimer = setInterval(() => {
      this.sweep().catch((error: unknown) => this.log.warn({ err: error, dir: this.dir }, 'screenshot sweep failed'))
    }, intervalMs)
    this.sweepTimer.unref()
  }

  stopSweeping(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer)
    this.sweepTimer = undefined
  }

  private folder(streamId: string): string {
    return join(this.dir, checkStreamId(streamId))
  }

  /** Lists the screenshot file names in a folder, newest first, and none when the folder is missing. */
  private async names(folder: string): Promise<Array<{ name: string; ts: number }>> {
    let entries: string[]
    try {
      entries = await readdir(folder)
    } catch (error) {
      if (isMissing(error)) return []
      throw error
    }
    const found: Array<{ name: string; ts: number }> = []
    for (const name of entries) {
      const match = FILE_NAME.exec(name)
      if (match) found.push({ name, ts: Number(match[1]) })
    }
    return found.sort((a, b) => b.ts - a.ts)
  }
}
