// The fixed 4-byte header of an MPEG transport stream packet and the part of
// its adaptation field that the analyzer needs (ISO/IEC 13818-1, 2.4.3.2 and
// 2.4.3.4). Pure: the functions read a Buffer and allocate nothing else.

export const TS_PACKET_SIZE = 188
export const SYNC_BYTE = 0x47

export const PAT_PID = 0x0000
export const NULL_PID = 0x1fff

/** A PCR counts 27 MHz ticks: PCR_base (33 bits) * 300 + PCR_extension. */
export const PCR_TICKS_PER_MS = 27_000
/** PCR values wrap here: 2^33 * 300 ticks, about 26.5 hours. */
export const PCR_WRAP = 2 ** 33 * 300

export interface TsPacketHeader {
  pid: number
  /** transport_error_indicator: a demodulator upstream marked the packet as damaged. */
  transportError: boolean
  /** payload_unit_start_indicator: a PES packet or a PSI section starts here. */
  unitStart: boolean
  /** transport_scrambling_control, 0 when the payload is not scrambled. */
  scrambling: number
  continuityCounter: number
  hasPayload: boolean
  /** discontinuity_indicator of the adaptation field. */
  discontinuity: boolean
  /** Program clock reference in 27 MHz ticks, when the adaptation field carries one. */
  pcr: number | undefined
  /** Offset of the payload in the packet, or TS_PACKET_SIZE when there is none. */
  payloadOffset: number
  /** The adaptation_field_length does not fit the packet, so nothing after the header is usable. */
  malformed: boolean
}

/**
 * Parses the header of one 188-byte packet whose first byte is the sync byte.
 * The caller checks the sync byte and the length.
 */
export function parsePacketHeader(packet: Buffer): TsPacketHeader {
  const b1 = packet[1]!
  const b3 = packet[3]!
  const control = (b3 >> 4) & 0x03
  const header: TsPacketHeader = {
    pid: ((b1 & 0x1f) << 8) | packet[2]!,
    transportError: (b1 & 0x80) !== 0,
    unitStart: (b1 & 0x40) !== 0,
    scrambling: b3 >> 6,
    continuityCounter: b3 & 0x0f,
    // adaptation_field_control: 01 payload only, 10 adaptation field only,
    // 11 both, 00 reserved (the packet is to be discarded).
    hasPayload: (control & 0x01) !== 0,
    discontinuity: false,
    pcr: undefined,
    payloadOffset: 4,
    malformed: false,
  }

  if ((control & 0x02) === 0) return header
  readAdaptationField(packet, header)
  return header
}

function readAdaptationField(packet: Buffer, header: TsPacketHeader): void {
  const length = packet[4]!
  // With a payload the field leaves at least one payload byte (0..182).
  // Without one it fills the packet (183).
  const maxLength = header.hasPayload ? 182 : 183
  if (length > maxLength) {
    // The continuity counter is still checked, so hasPayload keeps the
    // header's value, but no payload byte can be located.
    header.malformed = true
    header.payloadOffset = TS_PACKET_SIZE
    return
  }

  header.payloadOffset = header.hasPayload ? 5 + length : TS_PACKET_SIZE
  if (length === 0) return

  const flags = packet[5]!
  header.discontinuity = (flags & 0x80) !== 0
  if ((flags & 0x10) !== 0 && length >= 7) header.pcr = readPcr(packet, 6)
}

/** Reads the 6-byte PCR field at `offset` as 27 MHz ticks. */
export function readPcr(packet: Buffer, offset: number): number {
  // 33 bits do not fit the 32-bit bitwise operators, so the base is built
  // with multiplication.
  const base =
    packet[offset]! * 2 ** 25 +
    packet[offset + 1]! * 2 ** 17 +
    packet[offset + 2]! * 2 ** 9 +
    packet[offset + 3]! * 2 +
    (packet[offset + 4]! >> 7)
  const extension = ((packet[offset + 4]! & 0x01) << 8) | packet[offset + 5]!
  return base * 300 + extension
}

/** Returns the forward distance from `previous` to `next` in PCR ticks, across a wrap. */
export function pcrDelta(previous: number, next: number): number {
  const delta = next - previous
  return delta < 0 ? delta + PCR_WRAP : delta
}
