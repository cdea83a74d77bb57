import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { TsAnalyzer, type TsReport } from '../src/analysis/mpegts/index.ts'
import {
  ccOf,
  encodeCleanTs,
  feed,
  hasPayload,
  packetTimesMs,
  pidOf,
  removeTempFolder,
  splitPackets,
  withCc,
} from './mpegts-helpers.ts'

test.after(removeTempFolder)

const clean = splitPackets(encodeCleanTs(3))

interface Damaged {
  data: Buffer
  /** Packets that the framer must pass on. */
  packets: number
  /** Continuity errors the damage must cause. */
  continuityErrors: number
}

/** Reports whether losing `packet` breaks its PID's continuity counter. */
function counted(packet: Buffer): boolean {
  return pidOf(packet) !== 0x1fff && hasPayload(packet)
}

/**
 * Damages the clean stream once in each way. It gets a partial packet at the
 * start, a PAT gap of 0.8 s, a dropped video packet and an altered audio
 * counter. Garbage between packets, a corrupted sync byte and a cut packet
 * follow.
 */
function damagedStream(): Damaged {
  const times = packetTimesMs(clean, 0x200)
  const packets = clean.filter((packet, index) => {
    return pidOf(packet) !== 0 || times[index]! < 1000 || times[index]! >= 1800
  })

  const video = packets.findIndex((packet, index) => {
    return index > 150 && pidOf(packet) === 0x200 && hasPayload(packet)
  })
  packets.splice(video, 1)
  const audio = packets.findIndex((packet, index) => index > 250 && pidOf(packet) === 0x201)
  packets[audio] = withCc(packets[audio]!, ccOf(packets[audio]!) + 5)

  const badSync = Buffer.from(packets[300]!)
  badSync[0] = 0x07
  const cut = packets[400]!.subarray(0, 120)
  const garbage = Buffer.from(Array.from({ length: 333 }, (_, index) => (index * 13) % 256))
  const data = Buffer.concat([
    clean[0]!.subarray(50),
    ...packets.slice(0, 200),
    garbage,
    ...packets.slice(200, 300),
    badSync,
    ...packets.slice(301, 400),
    cut,
    ...packets.slice(401),
  ])

  // The PAT gap, the dropped video packet and the two jumps around the
  // altered audio counter, plus the packets lost to the bad sync byte (300)
  // and to the resync after the cut (401, whose start the framer skips).
  const lost = [packets[300]!, packets[401]!].filter(counted).length
  return { data, packets: packets.length - 2, continuityErrors: 4 + lost }
}

const damaged = damagedStream()

test('damaged stream shows every kind of error', () => {
  const report = analyzeInChunks(damaged.data, damaged.data.length)
  assert.is(report.errors.syncLoss, 2)
  // Two at the garbage, one at the bad byte, two after the cut.
  assert.is(report.errors.syncByteError, 5)
  assert.is(report.errors.patError, 1)
  assert.is(report.errors.continuityCountError, damaged.continuityErrors)
  // The partial first packet, the garbage and the rest of packet 401.
  assert.is(report.discardedBytes, 138 + 333 + 120)
  assert.is(report.packets, damaged.packets)
})

function analyzeInChunks(data: Buffer, size: number): TsReport {
  const analyzer = new TsAnalyzer()
  feed(analyzer, data, size)
  return analyzer.snapshot()
}

for (const size of [1, 7, 188, 1316]) {
  test(`${size}-byte chunks give the same report as one buffer`, () => {
    const whole = analyzeInChunks(damaged.data, damaged.data.length)
    assert.equal(analyzeInChunks(damaged.data, size), whole)
  })
}

test('clean stream in 1-byte chunks', () => {
  const bytes = Buffer.concat(clean)
  assert.equal(analyzeInChunks(bytes, 1), analyzeInChunks(bytes, bytes.length))
})

test.run()
