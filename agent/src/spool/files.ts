// File layout and durable writes of the agent's spool folder:
//
//   <seq>-<rows>-<batch_id>.json   one sealed metrics batch (the message as sent)
//   open-<batch_id>.jsonl          rows of the batch being filled, one JSON row a line
//   statuses.json                  the latest unsent status per stream
//   *.tmp                          a write that did not finish; deleted at start
//   *.corrupt                      a file that could not be read; kept for inspection
//
// Calls are synchronous: batches are small and few per second, and a
// synchronous write is complete before the agent sends or acknowledges
// anything, which keeps the crash cases simple.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const SEQ_DIGITS = 16
const BATCH_FILE = /^(\d{16})-(\d{1,5})-([A-Za-z0-9-]{8,128})\.json$/
const JOURNAL_FILE = /^open-([A-Za-z0-9-]{8,128})\.jsonl$/
export const STATUSES_FILE = 'statuses.json'
const TEMP_SUFFIX = '.tmp'
const CORRUPT_SUFFIX = '.corrupt'

/** A sealed batch file found in the folder. */
export interface BatchFile {
  readonly seq: number
  readonly rows: number
  readonly id: string
  readonly name: string
  readonly bytes: number
}

/** Contents of the spool folder at start. */
export interface FolderListing {
  /** Sealed batches, oldest first. */
  readonly batches: BatchFile[]
  /** Journals of batches that were still open, as batch id and file name. */
  readonly journals: Array<{ id: string; name: string }>
  readonly hasStatuses: boolean
}

export function batchFileName(seq: number, rows: number, id: string): string {
  return `${String(seq).padStart(SEQ_DIGITS, '0')}-${rows}-${id}.json`
}

export function journalFileName(id: string): string {
  return `open-${id}.jsonl`
}

/** Lists the folder and deletes temporary files of writes that did not finish. */
export function listFolder(dir: string): FolderListing {
  const batches: BatchFile[] = []
  const journals: Array<{ id: string; name: string }> = []
  let hasStatuses = false
  for (const name of readdirSync(dir)) {
    if (name.endsWith(TEMP_SUFFIX)) {
      unlinkSync(join(dir, name))
      continue
    }
    if (name === STATUSES_FILE) hasStatuses = true

    const batch = BATCH_FILE.exec(name)
    if (batch !== null) {
      const bytes = statSync(join(dir, name)).size
      batches.push({ seq: Number(batch[1]), rows: Number(batch[2]), id: batch[3]!, name, bytes })
    }
    const journal = JOURNAL_FILE.exec(name)
    if (journal !== null) journals.push({ id: journal[1]!, name })
  }
  batches.sort((a, b) => a.seq - b.seq)
  return { batches, journals, hasStatuses }
}

/**
 * Writes a file so that it survives a crash of the process or the machine:
 * a temporary file is written and fsync'd, renamed into place, and the
 * folder is fsync'd. On failure nothing is left under either name.
 */
export function writeDurably(dir: string, name: string, body: string): void {
  const path = join(dir, name)
  const temp = path + TEMP_SUFFIX
  try {
    const fd = openSync(temp, 'w')
    try {
      writeFileSync(fd, body)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, path)
  } catch (error) {
    removeQuietly(temp)
    throw error
  }
  syncFolder(dir)
}

export function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Deletes a file; a missing file is fine. */
export function remove(dir: string, name: string): void {
  try {
    unlinkSync(join(dir, name))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}

/** Renames an unreadable file to `*.corrupt` so it is never read again. */
export function setAside(dir: string, name: string): void {
  renameSync(join(dir, name), join(dir, name + CORRUPT_SUFFIX))
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // Nothing to clean up.
  }
}
