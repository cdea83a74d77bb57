import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { TsAnalyzer } from '../src/analysis/mpegts/index.ts'
import { PacketSync } from '../src/analysis/mpegts/sync.ts'
import {
  encodeCleanTs,
  feed,
  hasPayload,
  PACKET_SIZE,
  pidOf,
  removeTempFolder,
  splitPackets,
} from './mpegts-helpers.ts'

test.after(removeTempFolder)

/** Builds a null packet whose payload bytes carry `marker`, so tests can tell packets apart. */
function nullPacket(marker: number): Buffer {
  const packet = Buffer.alloc(PACKET_SIZE, marker)
  packet.set([0x47, 0x1f, 0xff, 0x10], 0)
  return packet
}

function collect(): { sync: PacketSync; markers: number[] } {
  const markers: number[] = []
  const sync = new PacketSync((packet) => markers.push(packet[100]!))
  return { sync, markers }
}

function nullPackets(count: number, firstMarker = 1): Buffer[] {
  return Array.from({ length: count }, (_, index) => nullPacket(firstMarker + index))
}

/** Bytes that contain no sync byte. */
function garbage(length: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, index) => (index * 37 + 11) % 0x47))
}

test('sync waits for five sync bytes', () => {
  const { sync, markers } = collect()
  sync.push(Buffer.concat(nullPackets(4)))
  assert.equal(markers, [])
  assert.is(sync.inSync, false)
  assert.is(sync.pendingBytes, 4 * PACKET_SIZE)

  sync.push(nullPacket(5))
  assert.equal(markers, [1, 2, 3, 4, 5])
  assert.is(sync.inSync, true)
  assert.equal(sync.counters, { syncLosses: 0, syncByteErrors: 0, discardedBytes: 0 })
})

test('sync skips a partial first packet', () => {
  const { sync, markers } = collect()
  const partial = nullPacket(9).subarray(88)
  sync.push(Buffer.concat([partial, ...nullPackets(6)]))
  assert.equal(markers, [1, 2, 3, 4, 5, 6])
  assert.equal(sync.counters, { syncLosses: 0, syncByteErrors: 0, discardedBytes: 100 })
})

test('sync rejects a lone 0x47 in junk', () => {
  const { sync, markers } = collect()
  const junk = Buffer.concat([garbage(10), Buffer.from([0x47]), garbage(50)])
  sync.push(Buffer.concat([junk, ...nullPackets(5)]))
  assert.equal(markers, [1, 2, 3, 4, 5])
  assert.is(sync.counters.discardedBytes, 61)
})

test('one corrupted sync byte is an error without loss', () => {
  const { sync, markers } = collect()
  const packets = nullPackets(8)
  packets[5] = Buffer.from(packets[5]!)
  packets[5][0] = 0x46
  sync.push(Buffer.concat(packets))
  // The damaged packet is dropped, and its neighbours stay.
  assert.equal(markers, [1, 2, 3, 4, 5, 7, 8])
  assert.equal(sync.counters, { syncLosses: 0, syncByteErrors: 1, discardedBytes: 0 })
  assert.is(sync.inSync, true)
})

test('two corrupted sync bytes lose sync', () => {
  const { sync, markers } = collect()
  const packets = nullPackets(14)
  for (const index of [6, 7]) {
    packets[index] = Buffer.from(packets[index]!)
    packets[index][0] = 0x00
  }
  sync.push(Buffer.concat(packets))
  // Packets 7 and 8 carry no sync byte, so the search restarts in them and
  // locks again on packet 9.
  assert.equal(markers, [1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14])
  assert.equal(sync.counters, { syncLosses: 1, syncByteErrors: 2, discardedBytes: 2 * PACKET_SIZE })
  assert.is(sync.inSync, true)
})

test('sync keeps packets after inserted garbage', () => {
  const { sync, markers } = collect()
  const packets = nullPackets(12)
  sync.push(Buffer.concat([...packets.slice(0, 6), garbage(500), ...packets.slice(6)]))
  assert.equal(markers, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
  assert.equal(sync.counters, { syncLosses: 1, syncByteErrors: 2, discardedBytes: 500 })
})

test('sync decisions wait across 1-byte chunks', () => {
  const whole = collect()
  const bytewise = collect()
  const packets = nullPackets(20)
  packets[3] = Buffer.from(packets[3]!)
  packets[3][0] = 0x00
  const data = Buffer.concat([garbage(70), ...packets.slice(0, 10), garbage(300), ...packets.slice(10)])

  whole.sync.push(data)
  for (const byte of data) bytewise.sync.push(Buffer.from([byte]))
  assert.equal(bytewise.markers, whole.markers)
  assert.equal(bytewise.sync.counters, whole.sync.counters)
})

// ffmpeg output with damage inserted by the test.

const clean = splitPackets(encodeCleanTs())
const VIDEO_PID = 0x200

function analyze(data: Buffer): ReturnType<TsAnalyzer['snapshot']> {
  const analyzer = new TsAnalyzer()
  feed(analyzer, data)
  return analyzer.snapshot()
}

test('garbage mid-stream: one sync loss, no packet lost', () => {
  const data = Buffer.concat([...clean.slice(0, 200), garbage(500), ...clean.slice(200)])
  const report = analyze(data)
  assert.is(report.errors.syncLoss, 1)
  assert.is(report.errors.syncByteError, 2)
  assert.is(report.discardedBytes, 500)
  assert.is(report.packets, clean.length)
  assert.is(report.errors.continuityCountError, 0)
  assert.is(report.errors.patError, 0)
  assert.is(report.errors.pmtError, 0)
  assert.is(report.inSync, true)
  assert.is(report.programs.length, 1)
})

test('bytes cut from a packet: resync costs the next packet', () => {
  // Cut 100 bytes out of video packet k. The framer takes k (now ending
  // with the start of k+1), finds no sync byte at offset 100 of k+1 and of
  // k+2, loses sync and locks again on k+2: packet k+1 is lost.
  const k = clean.findIndex((packet, index) => {
    const next = clean[index + 1]
    const after = clean[index + 2]
    if (next === undefined || after === undefined) return false
    return (
      index > 100 &&
      pidOf(packet) === VIDEO_PID &&
      pidOf(next) === VIDEO_PID &&
      hasPayload(next) &&
      next[100] !== 0x47 &&
      after[100] !== 0x47
    )
  })
  assert.ok(k > 0, 'no suitable video packet in the test stream')

  const cut = clean[k]!.subarray(0, PACKET_SIZE - 100)
  const data = Buffer.concat([...clean.slice(0, k), cut, ...clean.slice(k + 1)])
  const report = analyze(data)
  assert.is(report.errors.syncLoss, 1)
  assert.is(report.errors.syncByteError, 2)
  assert.is(report.discardedBytes, 88)
  assert.is(report.packets, clean.length - 1)
  assert.is(report.errors.continuityCountError, 1)
  const video = report.pids.find((pid) => pid.pid === VIDEO_PID)
  assert.is(video?.continuityCountErrors, 1)
})

test('stream joined mid-packet: no error', () => {
  const data = Buffer.concat(clean).subarray(PACKET_SIZE * 10 + 77)
  const report = analyze(data)
  assert.is(report.discardedBytes, PACKET_SIZE - 77)
  assert.is(report.packets, clean.length - 11)
  assert.equal(report.errors, {
    syncLoss: 0,
    syncByteError: 0,
    patError: 0,
    continuityCountError: 0,
    pmtError: 0,
    pidError: 0,
    transportError: 0,
    crcError: 0,
  })
})

test.run()
