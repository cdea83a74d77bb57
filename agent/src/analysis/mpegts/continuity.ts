// Continuity counter check, ETSI TR 101 290 V1.4.1, 5.2.1 item 1.4
// (Continuity_count_error): packets of one PID that arrive out of order, a
// packet that arrives more than twice, or a lost packet.
//
// The 4-bit continuity_counter counts the packets of a PID that carry a
// payload (ISO/IEC 13818-1, 2.4.3.3). So:
// - A packet with only an adaptation field is not checked and does not move
//   the reference value.
// - One duplicate (the same counter twice in a row) is allowed, and a third
//   packet with that counter is an error.
// - discontinuity_indicator in the adaptation field allows a jump, and the
//   packet's counter becomes the new reference.
// - Null packets (PID 0x1FFF) carry no meaningful counter, and the caller
//   leaves them out.
// Each jump counts as one error, however many packets were lost.

import type { TsPacketHeader } from './packet.ts'

export const CC_STATUS = {
  /** First packet with a payload on this PID: nothing to compare with. */
  first: 'first',
  /** The counter follows the previous one. */
  next: 'next',
  /** The allowed single repeat of the previous packet. Its payload is to be ignored. */
  duplicate: 'duplicate',
  /** The counter jumped, and discontinuity_indicator allowed it. */
  discontinuity: 'discontinuity',
  /** Continuity_count_error. */
  error: 'error',
  /** No payload, so the counter is not checked. */
  unchecked: 'unchecked',
} as const

export type CcStatus = (typeof CC_STATUS)[keyof typeof CC_STATUS]

interface PidCounter {
  last: number
  /** Repeats of `last` seen so far. */
  repeats: number
}

/** The continuity counters of every PID seen so far. */
export class ContinuityChecker {
  private readonly counters = new Map<number, PidCounter>()

  check(header: TsPacketHeader): CcStatus {
    const counter = this.counters.get(header.pid)

    if (!header.hasPayload) {
      // A packet without payload may still announce a discontinuity, so the
      // next counter is taken as a fresh start.
      if (header.discontinuity) this.counters.delete(header.pid)
      return CC_STATUS.unchecked
    }

    const cc = header.continuityCounter
    if (counter === undefined) {
      this.counters.set(header.pid, { last: cc, repeats: 0 })
      return CC_STATUS.first
    }

    return this.compare(counter, cc, header.discontinuity)
  }

  /** Forgets every PID, as after a change of source. */
  clear(): void {
    this.counters.clear()
  }

  private compare(counter: PidCounter, cc: number, discontinuity: boolean): CcStatus {
    if (cc === counter.last && !discontinuity) {
      counter.repeats += 1
      return counter.repeats === 1 ? CC_STATUS.duplicate : CC_STATUS.error
    }

    const expected = (counter.last + 1) & 0x0f
    counter.last = cc
    counter.repeats = 0

    if (cc === expected) return CC_STATUS.next
    if (discontinuity) return CC_STATUS.discontinuity
    return CC_STATUS.error
  }
}
