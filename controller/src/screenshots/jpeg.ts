// Reads the picture size from a JPEG's frame header (SOFn marker) without
// decoding it. Pure.

export interface JpegSize {
  width: number
  height: number
}

/** Markers that stand alone, without a length field: TEM, RST0-7, SOI, EOI. */
function standalone(marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)
}

/** Returns whether a marker is SOF0-SOF15; DHT (C4), JPG (C8) and DAC (CC) share that range. */
function startOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
}

/** Returns whether the data starts with the JPEG SOI marker followed by another marker. */
export function isJpeg(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff
}

/** Reads the width and height from the first SOFn segment; returns undefined for data that is not a readable JPEG. */
export function jpegSize(data: Uint8Array): JpegSize | undefined {
  if (!isJpeg(data)) return undefined
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  let offset = 2
  while (offset + 4 <= view.length) {
    if (view[offset] !== 0xff) return undefined
    const marker = view[offset + 1]!
    // 0xFF may repeat as fill before a marker.
    if (marker === 0xff) {
      offset += 1
      continue
    }
    if (standalone(marker)) {
      offset += 2
      continue
    }
    const length = view.readUInt16BE(offset + 2)
    if (length < 2) return undefined
    if (startOfFrame(marker)) {
      if (offset + 9 > view.length) return undefined
      return { height: view.readUInt16BE(offset + 5), width: view.readUInt16BE(offset + 7) }
    }
    // The frame header comes before the first scan (SOS), and compressed data follows SOS.
    if (marker === 0xda) return undefined
    offset += 2 + length
  }
  return undefined
}
