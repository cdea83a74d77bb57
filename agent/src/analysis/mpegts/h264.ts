// The parts of H.264 (ITU-T H.264, 7.3.2.1.1 and 7.4.2.1.1) that the probe
// needs from an access unit: the NAL unit types it starts with (an IDR slice
// marks a keyframe) and the picture size in the sequence parameter set.
// Pure: the functions read Buffers and keep no state.

export const NAL_TYPE = {
  /** Coded slice of a non-IDR picture. */
  slice: 1,
  /** Coded slice of an IDR picture: the access unit is a keyframe. */
  idr: 5,
  sps: 7,
} as const

/** Profiles whose SPS carries chroma_format_idc, bit depths and scaling matrices. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135])

const START_CODE = Buffer.from([0, 0, 1])

export interface NalUnit {
  type: number
  /** The NAL unit's bytes after the start code, header byte included, up to the next start code or the end. */
  data: Buffer
}

/**
 * Splits Annex B byte stream data at its 3- and 4-byte start codes. The last
 * unit runs to the end of `data`, so it may be cut short when `data` is only
 * the start of an access unit.
 */
export function splitNalUnits(data: Buffer): NalUnit[] {
  const starts: number[] = []
  // Buffer.indexOf searches natively, far faster than a loop over the bytes.
  for (let at = data.indexOf(START_CODE); at >= 0; at = data.indexOf(START_CODE, at + 3)) starts.push(at + 3)
  return starts.map((start, index) => {
    let end = index + 1 < starts.length ? starts[index + 1]! - 3 : data.length
    // A 4-byte start code leaves its leading zero at the end of this unit.
    if (index + 1 < starts.length && end > start && data[end - 1] === 0) end -= 1
    return { type: data[start]! & 0x1f, data: data.subarray(start, end) }
  })
}

/** Removes the emulation_prevention_three_byte of every 0x000003 sequence. */
export function unescapeRbsp(data: Buffer): Buffer {
  const out = Buffer.alloc(data.length)
  let length = 0
  let zeros = 0
  for (const byte of data) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0
      continue
    }
    out[length++] = byte
    zeros = byte === 0 ? zeros + 1 : 0
  }
  return out.subarray(0, length)
}

/** Reads bits most significant first, with the Exp-Golomb codes of H.264 9.1. */
class BitReader {
  private position = 0

  constructor(private readonly data: Buffer) {}

  bit(): number {
    const byte = this.data[this.position >> 3]
    if (byte === undefined) throw new RangeError('SPS ended early')
    const value = (byte >> (7 - (this.position & 7))) & 1
    this.position += 1
    return value
  }

  bits(count: number): number {
    let value = 0
    for (let i = 0; i < count; i++) value = value * 2 + this.bit()
    return value
  }

  /** ue(v) */
  unsigned(): number {
    let zeros = 0
    while (this.bit() === 0) {
      zeros += 1
      if (zeros > 31) throw new RangeError('Exp-Golomb code longer than 32 bits')
    }
    return 2 ** zeros - 1 + this.bits(zeros)
  }

  /** se(v) */
  signed(): number {
    const code = this.unsigned()
    return code % 2 === 1 ? (code + 1) / 2 : -code / 2
  }
}

export interface SpsInfo {
  profileIdc: number
  levelIdc: number
  /** Displayed width and height in pixels, after the frame cropping. */
  width: number
  height: number
}

/**
 * Parses a sequence parameter set NAL unit (header byte included, emulation
 * prevention bytes still in). Throws RangeError when it is cut short.
 */
export function parseSps(nal: Buffer): SpsInfo {
  const reader = new BitReader(unescapeRbsp(nal.subarray(1)))
  const profileIdc = reader.bits(8)
  reader.bits(8) // constraint_set flags and reserved_zero_2bits
  const levelIdc = reader.bits(8)
  reader.unsigned() // seq_parameter_set_id

  let chromaFormatIdc = 1
  let separateColourPlane = 0
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = reader.unsigned()
    if (chromaFormatIdc === 3) separateColourPlane = reader.bit()
    reader.unsigned() // bit_depth_luma_minus8
    reader.unsigned() // bit_depth_chroma_minus8
    reader.bit() // qpprime_y_zero_transform_bypass_flag
    if (reader.bit() === 1) skipScalingMatrix(reader, chromaFormatIdc === 3 ? 12 : 8)
  }

  reader.unsigned() // log2_max_frame_num_minus4
  const pocType = reader.unsigned()
  if (pocType === 0) {
    reader.unsigned() // log2_max_pic_order_cnt_lsb_minus4
  } else if (pocType === 1) {
    reader.bit() // delta_pic_order_always_zero_flag
    reader.signed() // offset_for_non_ref_pic
    reader.signed() // offset_for_top_to_bottom_field
    const cycle = reader.unsigned()
    for (let i = 0; i < cycle; i++) reader.signed()
  }
  reader.unsigned() // max_num_ref_frames
  reader.bit() // gaps_in_frame_num_value_allowed_flag
  const widthInMbs = reader.unsigned() + 1
  const heightInMapUnits = reader.unsigned() + 1
  const frameMbsOnly = reader.bit()
  if (frameMbsOnly === 0) reader.bit() // mb_adaptive_frame_field_flag
  reader.bit() // direct_8x8_inference_flag

  let crop = { left: 0, right: 0, top: 0, bottom: 0 }
  if (reader.bit() === 1) {
    crop = { left: reader.unsigned(), right: reader.unsigned(), top: reader.unsigned(), bottom: reader.unsigned() }
  }

  // Crop units of 7.4.2.1.1: ChromaArrayType 0 (monochrome or separate
  // colour planes) crops in luma samples, else in chroma samples.
  const chromaArrayType = separateColourPlane === 1 ? 0 : chromaFormatIdc
  const subWidth = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1
  const subHeight = chromaArrayType === 1 ? 2 : 1
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidth
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeight) * (2 - frameMbsOnly)

  return {
    profileIdc,
    levelIdc,
    width: widthInMbs * 16 - cropUnitX * (crop.left + crop.right),
    height: (2 - frameMbsOnly) * heightInMapUnits * 16 - cropUnitY * (crop.top + crop.bottom),
  }
}

function skipScalingMatrix(reader: BitReader, lists: number): void {
  for (let i = 0; i < lists; i++) {
    if (reader.bit() === 0) continue
    const size = i < 6 ? 16 : 64
    let last = 8
    let next = 8
    for (let j = 0; j < size; j++) {
      if (next !== 0) next = (last + reader.signed() + 256) % 256
      last = next === 0 ? last : next
    }
  }
}
