// Cuts a byte stream that arrives in chunks of any size and alignment into
// 188-byte packets, following the sync byte hysteresis of ETSI TR 101 290
// V1.4.1, 5.2.1:
//
// - 1.1 TS_sync_loss: the analyzer acquires sync after SYNC_LOCK_PACKETS
//   consecutive packets that start with 0x47, and loses it after two or more
//   consecutive packets whose sync byte is corrupted.
// - 1.2 Sync_byte_error: while in sync, a packet position contains a byte other
//   than 0x47.
//
// Every decision waits until the bytes it needs have arrived, so the packets
// and counts do not depend on how the input was split into chunks.
//
// NOTE: only 188-byte packets are framed. A source that sends 204-byte
// packets (188 plus 16 Reed-Solomon bytes) never gets in sync.

import { SYNC_BYTE, TS_PACKET_SIZE } from './packet.ts'

/** Consecutive packets that must start with 0x47 before sync is acquired, as TR 101 290 proposes. */
export const SYNC_LOCK_PACKETS = 5

const LOCK_SPAN = (SYNC_LOCK_PACKETS - 1) * TS_PACKET_SIZE

/** Next framer position, and whether the framer must wait there for more bytes. */
interface Step {
  offset: number
  wait: boolean
}

export interface SyncCounters {
  /** Times sync was lost (1.1). The first acquisition at the start is not a loss. */
  syncLosses: number
  /** Packet positions without 0x47 while in sync (1.2). */
  syncByteErrors: number
  /** Bytes skipped while searching for sync, including bytes before the first packet. */
  discardedBytes: number
}

/**
 * Packet framer with sync hysteresis. `push()` hands every packet that starts
 * with 0x47 to `onPacket` as a view into a temporary buffer, so the receiver
 * copies what it keeps.
 *
 * A packet whose sync byte is corrupted is dropped, even when its neighbours
 * keep the framer in sync, because its other bytes are just as likely to be
 * damaged. The continuity counter of its PID then reports the loss.
 */
export class PacketSync {
  readonly counters: SyncCounters = { syncLosses: 0, syncByteErrors: 0, discardedBytes: 0 }
  private locked = false
  private pending: Buffer = Buffer.alloc(0)

  constructor(private readonly onPacket: (packet: Buffer) => void) {}

  get inSync(): boolean {
    return this.locked
  }

  /** Bytes kept from earlier chunks until a decision can be made on them. */
  get pendingBytes(): number {
    return this.pending.length
  }

  push(chunk: Buffer): void {
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    let offset = 0

    for (;;) {
      const step = this.locked ? this.readLocked(data, offset) : this.hunt(data, offset)
      offset = step.offset
      if (step.wait) break
    }

    // A copy, so that a large chunk is not kept alive by a small remainder.
    this.pending = Buffer.from(data.subarray(offset))
  }

  /** Zeroes the counters. The framer keeps its sync state and pending bytes. */
  resetCounters(): void {
    this.counters.syncLosses = 0
    this.counters.syncByteErrors = 0
    this.counters.discardedBytes = 0
  }

  /** Handles the packet position at `offset` while in sync. */
  private readLocked(data: Buffer, offset: number): Step {
    if (offset + TS_PACKET_SIZE > data.length) return { offset, wait: true }

    if (data[offset] === SYNC_BYTE) {
      this.onPacket(data.subarray(offset, offset + TS_PACKET_SIZE))
      return { offset: offset + TS_PACKET_SIZE, wait: false }
    }

    // One corrupted sync byte keeps the sync, two in a row lose it, so the
    // decision needs the sync byte of the following packet.
    const following = offset + TS_PACKET_SIZE
    if (following >= data.length) return { offset, wait: true }

    if (data[following] === SYNC_BYTE) {
      this.counters.syncByteErrors += 1
      return { offset: following, wait: false }
    }

    this.counters.syncByteErrors += 2
    this.counters.syncLosses += 1
    this.locked = false
    // The search starts right after the first bad sync byte, so bytes that
    // were inserted into the stream cost no real packet after them.
    this.counters.discardedBytes += 1
    return { offset: offset + 1, wait: false }
  }

  /**
   * Searches for SYNC_LOCK_PACKETS sync bytes 188 bytes apart, starting at
   * `offset`, and locks on the first of them. Bytes passed over are discarded.
   */
  private hunt(data: Buffer, offset: number): Step {
    let candidate = offset

    for (;;) {
      const found = data.indexOf(SYNC_BYTE, candidate)
      const stop = found < 0 ? data.length : found
      this.counters.discardedBytes += stop - candidate
      if (found < 0) return { offset: data.length, wait: true }

      const verdict = checkLock(data, found)
      if (verdict === 'wait') return { offset: found, wait: true }
      if (verdict === 'locked') {
        this.locked = true
        return { offset: found, wait: false }
      }

      this.counters.discardedBytes += 1
      candidate = found + 1
    }
  }
}

function checkLock(data: Buffer, start: number): 'locked' | 'rejected' | 'wait' {
  const end = start + LOCK_SPAN
  for (let position = start + TS_PACKET_SIZE; position <= end; position += TS_PACKET_SIZE) {
    if (position >= data.length) return 'wait'
    if (data[position] !== SYNC_BYTE) return 'rejected'
  }
  return 'locked'
}
