// Splits screenshots into `screenshot` frames. Each frame carries the base64
// of a slice of whole 3-byte groups, so every chunk decodes on its own and
// the receiver concatenates the decoded slices.
import { randomUUID } from 'node:crypto'
import { MAX_SCREENSHOT_BYTES, SCREENSHOT_CHUNK_CHARS, type Screenshot } from './messages.ts'

export interface ScreenshotMeta {
  stream_id: string
  epoch: number
  ts_ms: number
  /** Left out for a stream frame; 'page' for a player page screenshot. */
  source?: 'stream' | 'page'
}

/**
 * Splits a JPEG into screenshot frames of at most `chunkChars` base64
 * characters each. Throws a RangeError for an empty image or one larger
 * than MAX_SCREENSHOT_BYTES.
 */
export function screenshotFrames(
  meta: ScreenshotMeta,
  jpeg: Buffer,
  chunkChars: number = SCREENSHOT_CHUNK_CHARS,
): Screenshot[] {
  if (jpeg.length === 0) throw new RangeError('empty screenshot')
  if (jpeg.length > MAX_SCREENSHOT_BYTES) {
    throw new RangeError(`screenshot of ${jpeg.length} bytes exceeds ${MAX_SCREENSHOT_BYTES} bytes`)
  }
  const sliceBytes = Math.floor(Math.min(chunkChars, SCREENSHOT_CHUNK_CHARS) / 4) * 3
  if (sliceBytes < 3) throw new RangeError(`chunk size of ${chunkChars} characters is invalid; use 4 or more`)

  const id = randomUUID().replaceAll('-', '')
  const count = Math.ceil(jpeg.length / sliceBytes)
  const frames: Screenshot[] = []
  for (let index = 0; index < count; index++) {
    const slice = jpeg.subarray(index * sliceBytes, (index + 1) * sliceBytes)
    frames.push({
      type: 'screenshot',
      id,
      stream_id: meta.stream_id,
      epoch: meta.epoch,
      ts_ms: meta.ts_ms,
      content_type: 'image/jpeg',
      index,
      count,
      data: slice.toString('base64'),
      ...(meta.source === undefined ? {} : { source: meta.source }),
    })
  }
  return frames
}
