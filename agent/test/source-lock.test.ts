// Tasks on a UDP or RTP source take turns; tasks on other URLs run side by side.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { singleReader, withSource } from '../src/media/source-lock.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs two 50 ms tasks on `url` at once and returns the order of their start and end marks. */
async function overlap(url: string): Promise<string[]> {
  const marks: string[] = []
  const task = (name: string) => async () => {
    marks.push(`${name} start`)
    await sleep(50)
    marks.push(`${name} end`)
  }
  await Promise.all([withSource(url, task('a')), withSource(url, task('b'))])
  return marks
}

test('udp and rtp are single readers', () => {
  assert.ok(singleReader('udp://127.0.0.1:5000'))
  assert.ok(singleReader('rtp://239.0.0.1:5004'))
  assert.not.ok(singleReader('http://127.0.0.1/live.m3u8'))
  assert.not.ok(singleReader('srt://127.0.0.1:9000'))
})

test('udp tasks take turns', async () => {
  assert.equal(await overlap('udp://127.0.0.1:5000'), ['a start', 'a end', 'b start', 'b end'])
})

test('http tasks run together', async () => {
  assert.equal(await overlap('http://127.0.0.1/live.m3u8'), ['a start', 'b start', 'a end', 'b end'])
})

test('failed task frees the source', async () => {
  const failed = await withSource('udp://127.0.0.1:5001', async () => {
    throw new Error('no data')
  }).catch((error: unknown) => error)
  assert.instance(failed, Error)
  assert.is(await withSource('udp://127.0.0.1:5001', async () => 'next'), 'next')
})

test.run()
