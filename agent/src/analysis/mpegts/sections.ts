// Reassembles PSI sections from the payloads of one PID's packets
// (ISO/IEC 13818-1, 2.4.4). A section may span several packets, and one
// packet may end a section and start others. In a packet with
// payload_unit_start_indicator set, the first payload byte is the
// pointer_field: the number of bytes that still belong to the section in
// progress before the next section starts.

/** section_length is 12 bits, so a section is at most 3 + 4095 bytes long. */
const SECTION_HEADER_SIZE = 3
/** table_id 0xFF marks stuffing: the rest of the payload carries no section. */
const STUFFING_TABLE_ID = 0xff

export function sectionLength(header: Uint8Array): number {
  return SECTION_HEADER_SIZE + (((header[1]! & 0x0f) << 8) | header[2]!)
}

/** Section reassembly for one PID. */
export class SectionAssembler {
  private parts: Buffer[] = []
  private size = 0

  /**
   * Adds the payload of the PID's next packet and returns the sections that
   * it completes, as copies.
   */
  push(payload: Buffer, unitStart: boolean): Buffer[] {
    const sections: Buffer[] = []
    if (!unitStart) {
      if (this.size > 0) this.append(payload, sections)
      return sections
    }

    const pointer = payload[0]
    if (pointer === undefined || 1 + pointer > payload.length) {
      this.abort()
      return sections
    }

    if (this.size > 0) this.append(payload.subarray(1, 1 + pointer), sections)
    // A section still open here was cut short, since a new one starts.
    this.abort()
    this.split(payload.subarray(1 + pointer), sections)
    return sections
  }

  /** Drops the section in progress, as after a lost packet. */
  abort(): void {
    this.parts = []
    this.size = 0
  }

  private append(bytes: Buffer, sections: Buffer[]): void {
    this.parts.push(Buffer.from(bytes))
    this.size += bytes.length
    if (this.size < SECTION_HEADER_SIZE) return

    const joined = Buffer.concat(this.parts, this.size)
    const length = sectionLength(joined)
    if (joined.length < length) {
      this.parts = [joined]
      return
    }

    // Bytes after the end of the section, in a packet that did not start a
    // new one, are stuffing.
    sections.push(joined.subarray(0, length))
    this.abort()
  }

  /** Takes the sections that start in `bytes`, keeping an unfinished last one. */
  private split(bytes: Buffer, sections: Buffer[]): void {
    let offset = 0

    while (offset < bytes.length && bytes[offset] !== STUFFING_TABLE_ID) {
      const rest = bytes.subarray(offset)
      if (rest.length < SECTION_HEADER_SIZE) {
        this.append(rest, sections)
        return
      }

      const length = sectionLength(rest)
      if (rest.length < length) {
        this.append(rest, sections)
        return
      }

      sections.push(Buffer.from(rest.subarray(0, length)))
      offset += length
    }
  }
}
