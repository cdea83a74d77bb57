// Disk spill for the ClickHouse writers. While ClickHouse fails, or a
// writer's memory buffer is full, the writer hands whole batches to the
// spill: one file per batch under `${dir}/<table>/`, named
// `<seq>-<rows>.json` so that the order and the row count are known without
// reading the file. A file contains the batch's deduplication token and its
// rows. It is written under a temporary name, fsync'd and renamed, and then
// the folder is fsync'd, so a batch file that exists is complete and
// survives a crash of the process or of the machine.
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { TABLES, type StorageRow, type TableName } from './types.ts'

export interface SpillOptions {
  /** Root folder; each table gets a subfolder. */
  dir: string
  /** Bytes of batch files kept on disk, all tables together. A batch that would pass it is not spilled. */
  maxBytes: number
  logger: Logger
}

/** One batch file on disk. */
export interface SpilledBatch {
  readonly table: TableName
  /** Position in the writer's queue; files are replayed in this order. */
  readonly seq: number
  readonly rows: number
  readonly bytes: number
  readonly path: string
}

/** A batch serialized and counted against maxBytes, not yet on disk. */
export interface PreparedBatch {
  readonly table: TableName
  readonly seq: number
  readonly token: string
  readonly rows: number
  readonly body: string
  readonly bytes: number
}

/** Contents of a batch file. */
export interface SpillContent {
  readonly token: string
  readonly rows: StorageRow[]
}

/** A batch file that cannot be read back: not JSON, or not the expected shape. */
export class SpillCorruptError extends Error {
  override readonly name = 'SpillCorruptError'
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`spill file ${path} is corrupt: ${reason}`)
  }
}

const SEQ_DIGITS = 12
const BATCH_FILE = /^(\d{12})-(\d{1,9})\.json$/
const TEMP_SUFFIX = '.tmp'
const CORRUPT_SUFFIX = '.corrupt'

/**
 * The spill folder of one controller. Writers call write(), read() and
 * remove() for their own table; the byte limit is shared by all tables.
 */
export class Spill {
  readonly dir: string
  readonly maxBytes: number
  /** Batch files written since open. */
  batchesWritten = 0
  /** Batch files that could not be written (disk full, I/O error). */
  writeErrors = 0
  /** Batch files set aside as unreadable. */
  batchesCorrupt = 0

  #bytes = 0
  /** Set when a batch did not fit; cleared when a file is removed. */
  #refused = false
  readonly #found: Map<TableName, SpilledBatch[]>
  readonly #logger: Logger

  private constructor(options: SpillOptions, found: Map<TableName, SpilledBatch[]>) {
    this.dir = options.dir
    this.maxBytes = options.maxBytes
    this.#found = found
    this.#logger = options.logger.child({ component: 'spill' })
    for (const batches of found.values()) {
      for (const batch of batches) this.#bytes += batch.bytes
    }
  }

  /**
   * Creates the table folders, deletes temporary files left by a crash
   * (their batches were never reported durable) and lists the batch files
   * that are waiting for replay.
   */
  static async open(options: SpillOptions): Promise<Spill> {
    if (!Number.isInteger(options.maxBytes) || options.maxBytes < 1) {
      throw new Error(`spill maxBytes must be a positive integer (got ${options.maxBytes})`)
    }
    const found = new Map<TableName, SpilledBatch[]>()
    for (const table of TABLES) {
      const folder = join(options.dir, table)
      await mkdir(folder, { recursive: true })
      found.set(table, await scanFolder(folder, table, options.logger))
    }
    return new Spill(options, found)
  }

  /** Bytes of batch files on disk, including writes in progress. */
  get bytes(): number {
    return this.#bytes
  }

  /** True once a batch did not fit, until a file is removed; writers then refuse rows beyond memory. */
  get full(): boolean {
    return this.#refused || this.#bytes >= this.maxBytes
  }

  /** Batch files of a table found at open, oldest first. */
  found(table: TableName): readonly SpilledBatch[] {
    return this.#found.get(table) ?? []
  }

  /** Returns the highest seq found at open for the table, or 0. */
  lastSeq(table: TableName): number {
    return this.found(table).at(-1)?.seq ?? 0
  }

  /**
   * Serializes a batch and reserves its bytes at once, so that the next
   * call already counts them. Returns undefined when the batch would pass
   * maxBytes or cannot be serialized; the latter is logged.
   */
  prepare(table: TableName, seq: number, token: string, rows: readonly StorageRow[]): PreparedBatch | undefined {
    let body: string
    try {
      body = JSON.stringify({ table, token, rows })
    } catch (error) {
      this.writeErrors += 1
      this.#logger.error({ table, token, err: error }, 'batch cannot be serialized; not spilled')
      return undefined
    }

    const bytes = Buffer.byteLength(body)
    if (this.#bytes + bytes > this.maxBytes) {
      this.#refused = true
      return undefined
    }
    this.#bytes += bytes
    return { table, seq, token, rows: rows.length, body, bytes }
  }

  /**
   * Writes a prepared batch durably. Returns undefined, releasing its
   * bytes, when the write fails; the failure is logged.
   */
  async commit(prepared: PreparedBatch): Promise<SpilledBatch | undefined> {
    const { table, seq, token, rows, bytes } = prepared
    const folder = join(this.dir, table)
    const path = join(folder, `${String(seq).padStart(SEQ_DIGITS, '0')}-${rows}.json`)
    try {
      await writeDurably(folder, path, prepared.body)
    } catch (error) {
      this.#bytes -= bytes
      this.writeErrors += 1
      this.#logger.error({ table, token, path, err: error }, 'writing spill file failed')
      return undefined
    }

    this.batchesWritten += 1
    return { table, seq, rows, bytes, path }
  }

  /** Prepares and commits one batch; undefined when it does not fit or the write fails. */
  async write(table: TableName, seq: number, token: string, rows: readonly StorageRow[]): Promise<SpilledBatch | undefined> {
    const prepared = this.prepare(table, seq, token, rows)
    return prepared === undefined ? undefined : this.commit(prepared)
  }

  /** Reads a batch file back. Rejects with SpillCorruptError when it is unreadable as a batch. */
  async read(batch: SpilledBatch): Promise<SpillContent> {
    const text = await readFile(batch.path, 'utf8')
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (error) {
      throw new SpillCorruptError(batch.path, `invalid JSON (${(error as Error).message})`)
    }
    return checkContent(batch, parsed)
  }

  /** Deletes a batch file once its rows are stored. */
  async remove(batch: SpilledBatch): Promise<void> {
    try {
      await unlink(batch.path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    this.#bytes -= batch.bytes
    this.#refused = false
  }

  /** Renames an unreadable batch file to `*.corrupt`, so it is kept for inspection but never replayed. */
  async quarantine(batch: SpilledBatch, error: Error): Promise<void> {
    this.batchesCorrupt += 1
    this.#bytes -= batch.bytes
    this.#refused = false
    this.#logger.error({ table: batch.table, path: batch.path, err: error.message }, 'spill file is corrupt; set aside')
    try {
      await rename(batch.path, batch.path + CORRUPT_SUFFIX)
    } catch (renameError) {
      this.#logger.warn({ path: batch.path, err: renameError }, 'setting aside a corrupt spill file failed')
    }
  }
}

function checkContent(batch: SpilledBatch, parsed: unknown): SpillContent {
  if (typeof parsed !== 'object' || parsed === null) throw new SpillCorruptError(batch.path, 'not a JSON object')

  const { table, token, rows } = parsed as Record<string, unknown>
  if (table !== batch.table) throw new SpillCorruptError(batch.path, `table is ${JSON.stringify(table)}, expected ${batch.table}`)
  if (typeof token !== 'string' || token === '') throw new SpillCorruptError(batch.path, 'token missing')
  if (!Array.isArray(rows) || rows.length !== batch.rows) {
    throw new SpillCorruptError(batch.path, `expected ${batch.rows} rows`)
  }
  if (!rows.every((row) => typeof row === 'object' && row !== null && !Array.isArray(row))) {
    throw new SpillCorruptError(batch.path, 'a row is not an object')
  }
  return { token, rows: rows as StorageRow[] }
}

async function scanFolder(folder: string, table: TableName, logger: Logger): Promise<SpilledBatch[]> {
  const batches: SpilledBatch[] = []
  for (const name of await readdir(folder)) {
    const path = join(folder, name)
    if (name.endsWith(TEMP_SUFFIX)) {
      logger.debug({ table, path }, 'deleting an unfinished spill file')
      await unlink(path)
      continue
    }

    const match = BATCH_FILE.exec(name)
    if (match === null) continue
    const { size } = await stat(path)
    batches.push({ table, seq: Number(match[1]), rows: Number(match[2]), bytes: size, path })
  }
  return batches.sort((a, b) => a.seq - b.seq)
}

/**
 * Writes a file under a temporary name, fsyncs it, renames it into place
 * and fsyncs the folder. On failure nothing is left under either name.
 */
async function writeDurably(folder: string, path: string, body: string): Promise<void> {
  const temp = path + TEMP_SUFFIX
  try {
    const file = await open(temp, 'w')
    try {
      await file.writeFile(body)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temp, path)
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw error
  }

  try {
    const directory = await open(folder, 'r')
    try {
      await directory.sync()
    } finally {
      await directory.close()
    }
  } catch (error) {
    await unlink(path).catch(() => {})
    throw error
  }
}
