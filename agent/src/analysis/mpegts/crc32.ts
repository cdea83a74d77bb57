// CRC-32 of MPEG-2 PSI sections (ISO/IEC 13818-1, Annex A): polynomial
// 0x04C11DB7, initial value 0xFFFFFFFF, bits processed most significant first,
// no final XOR. Running it over a whole section, CRC_32 field included,
// gives 0 for an intact section.

const TABLE = buildTable()

function buildTable(): Uint32Array {
  const table = new Uint32Array(256)
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 24
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1
    }
    table[byte] = crc >>> 0
  }
  return table
}

/** Computes the MPEG-2 CRC-32 of `data` as an unsigned 32-bit number. */
export function crc32Mpeg(data: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of data) {
    crc = ((crc << 8) ^ TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0
  }
  return crc
}
