// Joining screenshot frames, reading JPEG sizes, and the screenshot store's
// files and retention limits.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, readdir, rm, utimes, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { screenshotFrames, type Screenshot } from '@monit/protocol'
import { ScreenshotAssembler } from '../src/screenshots/assembler.ts'
import { isJpeg, jpegSize } from '../src/screenshots/jpeg.ts'
import { ScreenshotStore } from '../src/screenshots/store.ts'

const logger = pino({ level: 'silent' })
const meta = { stream_id: 'news-1', epoch: 2, ts_ms: 1_700_000_000_000 }

/** A minimal JPEG header: SOI, APP0 (JFIF), SOF0 with the size, EOI. */
function jpeg(width: number, height: number, padding = 0): Buffer {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 1, 2, 0, 0, 1, 0, 1, 0, 0])
  const sof = Buffer.alloc(19)
  sof.set([0xff, 0xc0, 0x00, 0x11, 0x08])
  sof.writeUInt16BE(height, 5)
  sof.writeUInt16BE(width, 7)
  sof[9] = 3
  const com = Buffer.alloc(padding > 0 ? padding + 4 : 0)
  if (padding > 0) {
    com.set([0xff, 0xfe])
    com.writeUInt16BE(Math.min(padding + 2, 0xffff), 2)
  }
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, com, sof, Buffer.from([0xff, 0xd9])])
}

function bigJpeg(bytes: number): Buffer {
  const head = jpeg(640, 360)
  return Buffer.concat([head.subarray(0, head.length - 2), Buffer.alloc(bytes - head.length, 0x55), Buffer.from([0xff, 0xd9])])
}

test('jpegSize reads SOF0', () => {
  assert.equal(jpegSize(jpeg(640, 360)), { width: 640, height: 360 })
  assert.equal(jpegSize(jpeg(160, 90, 100)), { width: 160, height: 90 })
})

test('jpegSize: not a JPEG or cut short', () => {
  assert.is(jpegSize(Buffer.from('GIF89a')), undefined)
  assert.is(jpegSize(jpeg(640, 360).subarray(0, 12)), undefined)
  assert.is(isJpeg(Buffer.from([0xff, 0xd8])), false)
})

test('assembler: one frame completes at once', () => {
  const assembler = new ScreenshotAssembler()
  const image = jpeg(320, 180)
  const [frame] = screenshotFrames(meta, image)
  const outcome = assembler.add('edge-1', frame!)
  assert.is(outcome.status, 'complete')
  if (outcome.status !== 'complete') return
  assert.ok(outcome.screenshot.jpeg.equals(image))
  assert.is(outcome.screenshot.agentId, 'edge-1')
  assert.is(outcome.screenshot.stream_id, 'news-1')
  assert.is(outcome.screenshot.ts_ms, meta.ts_ms)
  assert.is(assembler.size, 0)
})

test('assembler: parts in any order', () => {
  const assembler = new ScreenshotAssembler()
  const image = bigJpeg(600_000)
  const frames = screenshotFrames(meta, image)
  assert.is(frames.length, 4)
  const order = [2, 0, 3, 1]
  const outcomes = order.map((index) => assembler.add('edge-1', frames[index]!))
  assert.equal(outcomes.slice(0, 3).map((outcome) => outcome.status), ['pending', 'pending', 'pending'])
  const last = outcomes[3]!
  assert.is(last.status, 'complete')
  if (last.status === 'complete') assert.ok(last.screenshot.jpeg.equals(image))
})

test('assembler: same id, two agents', () => {
  const assembler = new ScreenshotAssembler()
  const frames = screenshotFrames(meta, bigJpeg(300_000))
  assert.is(assembler.add('edge-1', frames[0]!).status, 'pending')
  assert.is(assembler.add('edge-2', frames[0]!).status, 'pending')
  assert.is(assembler.size, 2)
  assembler.dropAgent('edge-1')
  assert.is(assembler.size, 1)
  assert.is(assembler.add('edge-2', frames[1]!).status, 'complete')
})

test('assembler: incomplete screenshots expire', () => {
  let now = 1000
  const assembler = new ScreenshotAssembler({ timeoutMs: 5000, now: () => now })
  const frames = screenshotFrames(meta, bigJpeg(300_000))
  assert.is(assembler.add('edge-1', frames[0]!).status, 'pending')
  now += 5001
  assert.is(assembler.sweep(), 1)
  assert.is(assembler.expired, 1)
  // The late part starts a new screenshot that never completes.
  assert.is(assembler.add('edge-1', frames[1]!).status, 'pending')
})

test('assembler: size cap', () => {
  const assembler = new ScreenshotAssembler({ maxBytes: 250_000 })
  const frames = screenshotFrames(meta, bigJpeg(300_000))
  assert.is(assembler.add('edge-1', frames[0]!).status, 'pending')
  const outcome = assembler.add('edge-1', frames[1]!)
  assert.is(outcome.status, 'rejected')
  if (outcome.status === 'rejected') assert.match(outcome.reason, /exceeds 250000 bytes/)
  assert.is(assembler.size, 0)
})

const rejections: Array<[string, (frames: Screenshot[]) => Screenshot, RegExp]> = [
  ['a different stream', (frames) => ({ ...frames[1]!, stream_id: 'other' }), /disagree/],
  ['a different count', (frames) => ({ ...frames[1]!, count: 5 }), /disagree|part 1/],
  ['a repeated part', (frames) => frames[0]!, /received twice/],
  ['invalid base64', (frames) => ({ ...frames[1]!, data: 'not base64!' }), /not valid base64/],
]

for (const [name, change, reason] of rejections) {
  test(`assembler rejects ${name}`, () => {
    const assembler = new ScreenshotAssembler()
    const frames = screenshotFrames(meta, bigJpeg(300_000))
    assembler.add('edge-1', frames[0]!)
    const outcome = assembler.add('edge-1', change(frames))
    assert.is(outcome.status, 'rejected')
    if (outcome.status === 'rejected') assert.match(outcome.reason, reason)
    assert.is(assembler.size, 0)
  })
}

test('assembler rejects an index past the count', () => {
  const assembler = new ScreenshotAssembler()
  const [frame] = screenshotFrames(meta, jpeg(10, 10))
  assert.is(assembler.add('edge-1', { ...frame!, index: 1 }).status, 'rejected')
})

test('assembler rejects data that is not a JPEG', () => {
  const assembler = new ScreenshotAssembler()
  const [frame] = screenshotFrames(meta, Buffer.from('GIF89a........'))
  const outcome = assembler.add('edge-1', frame!)
  assert.is(outcome.status, 'rejected')
  if (outcome.status === 'rejected') assert.match(outcome.reason, /not a JPEG/)
})

test('assembler drops the oldest past maxPending', () => {
  const assembler = new ScreenshotAssembler({ maxPending: 2 })
  for (let i = 0; i < 3; i++) {
    const frames = screenshotFrames({ ...meta, ts_ms: meta.ts_ms + i }, bigJpeg(300_000))
    assembler.add('edge-1', frames[0]!)
  }
  assert.is(assembler.size, 2)
  assert.is(assembler.expired, 1)
})

async function withStore(options: { keep?: number; maxAgeMs?: number; now?: () => number }, body: (store: ScreenshotStore, dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'monit-shots-'))
  try {
    const store = new ScreenshotStore({ dir, keep: options.keep ?? 10, maxAgeMs: options.maxAgeMs ?? 3_600_000, logger, now: options.now })
    await body(store, dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

test('store: save, list, read, latest', async () => {
  await withStore({}, async (store, dir) => {
    await store.save('news-1', 2000, jpeg(1, 2))
    await store.save('news-1', 3000, jpeg(3, 4))
    await store.save('news-1', 1000, jpeg(5, 6))
    assert.equal(await readdir(join(dir, 'news-1')), ['1000.jpg', '2000.jpg', '3000.jpg'])
    const list = await store.list('news-1')
    assert.equal(list.map((entry) => entry.ts_ms), [3000, 2000, 1000])
    assert.is(list[0]!.size, jpeg(3, 4).length)
    assert.equal(jpegSize((await store.read('news-1', 2000))!), { width: 1, height: 2 })
    assert.is((await store.latest('news-1'))?.ts_ms, 3000)
  })
})

test('store: nothing for an unknown stream', async () => {
  await withStore({}, async (store) => {
    assert.equal(await store.list('nobody'), [])
    assert.is(await store.latest('nobody'), undefined)
    assert.is(await store.read('nobody', 1), undefined)
  })
})

test('store: keeps at most keep per stream', async () => {
  await withStore({ keep: 3 }, async (store) => {
    for (let ts = 1; ts <= 6; ts++) await store.save('news-1', ts * 1000, jpeg(ts, ts))
    await store.save('news-2', 1000, jpeg(1, 1))
    assert.equal((await store.list('news-1')).map((entry) => entry.ts_ms), [6000, 5000, 4000])
    assert.is((await store.list('news-2')).length, 1)
  })
})

test('store: max age by file time', async () => {
  let now = Date.now()
  await withStore({ maxAgeMs: 60_000, now: () => now }, async (store, dir) => {
    await store.save('news-1', 1000, jpeg(1, 1))
    await store.save('news-1', 2000, jpeg(2, 2))
    const old = (Date.now() - 120_000) / 1000
    await utimes(join(dir, 'news-1', '1000.jpg'), old, old)
    assert.is(await store.prune('news-1'), 1)
    assert.equal((await store.list('news-1')).map((entry) => entry.ts_ms), [2000])
    // A stream that stopped sending loses its screenshots at the next sweep.
    now += 120_000
    assert.is(await store.sweep(), 1)
    assert.equal(await readdir(dir), [])
  })
})

test('store: foreign files and bad ids', async () => {
  await withStore({}, async (store, dir) => {
    await mkdir(join(dir, 'news-1'), { recursive: true })
    await writeFile(join(dir, 'news-1', 'notes.txt'), 'x')
    await writeFile(join(dir, 'news-1', '12.jpg.tmp'), 'x')
    assert.equal(await store.list('news-1'), [])
    for (const id of ['..', '.', 'a/b', '']) {
      const error = await store.save(id, 1, jpeg(1, 1)).then(() => undefined, (caught: unknown) => caught)
      assert.instance(error, Error, `save(${JSON.stringify(id)})`)
      assert.match((error as Error).message, /invalid stream id/)
    }
  })
})

test.run()
