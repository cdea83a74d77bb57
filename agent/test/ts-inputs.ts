// MPEG-TS inputs for the tests of the agent's own TS reading. Real ffmpeg
// encodes each one (160x90 H.264 + AAC, 25 fps, 1 s GOP), the helpers edit
// it byte by byte, and writeTsInputs writes it as a one-segment HLS playlist:
//
//   cc-errors.m3u8     packets of the video PID dropped: 5 continuity errors
//   programs.m3u8      4 programmes, 2 of them empty, SCTE-35 in programme 1
//   late-video.m3u8    the first PMT lists audio only, version 1 adds video
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  AV_SOURCES,
  ccOf,
  encodeCleanTs,
  encodeTs,
  H264_AAC,
  pidOf,
  pmtSection,
  psiPackets,
  registrationDescriptor,
  scte35SpliceNull,
  splitPackets,
  type PmtOptions,
} from './mpegts-helpers.ts'

export const CLEAN_VIDEO_PID = 0x200
export const CLEAN_AUDIO_PID = 0x201
export const CLEAN_PMT_PID = 0x1500
export const SCTE35_PID = 0x1f0
/** Video packets dropped from cc-errors.ts, each one a Continuity_count_error. */
export const DROPPED_PACKETS = 5
/** Seconds of media in each input. */
export const INPUT_SECONDS = 6

/** Replaces every packet of `pmtPid` with a one-packet PMT built by `pmtAt(index)`, keeping its counter. */
function replacePmt(packets: Buffer[], pmtPid: number, pmtAt: (index: number) => PmtOptions): Buffer[] {
  return packets.map((packet, index) => {
    if (pidOf(packet) !== pmtPid) return packet
    const replacement = psiPackets(pmtPid, [pmtSection(pmtAt(index))], ccOf(packet))
    if (replacement.length !== 1) throw new Error('test PMT must fit one packet')
    return replacement[0]!
  })
}

/** Encodes the clean stream and removes DROPPED_PACKETS video packets, spread over its middle. */
export function ccErrorsTs(): Buffer {
  const packets = splitPackets(encodeCleanTs(INPUT_SECONDS))
  const video = packets.flatMap((packet, index) => (pidOf(packet) === CLEAN_VIDEO_PID ? [index] : []))
  const drop = new Set<number>()
  for (let i = 1; i <= DROPPED_PACKETS; i++) drop.add(video[Math.floor((video.length * i) / (DROPPED_PACKETS + 1))]!)
  return Buffer.concat(packets.filter((_, index) => !drop.has(index)))
}

/**
 * Four programmes: 1 with H.264, AAC and an SCTE-35 PID (two splice_null
 * sections after its first PMT, then silence), 2 with AAC, 3 and 4 empty.
 */
export function programsTs(): Buffer {
  const encoded = encodeTs('e2e-programs', [
    ...AV_SOURCES,
    '-t', String(INPUT_SECONDS),
    '-map', '0:v', '-map', '1:a', '-map', '1:a',
    ...H264_AAC,
    '-program', 'program_num=1:st=0:st=1',
    '-program', 'program_num=2:st=2',
    '-program', 'program_num=3',
    '-program', 'program_num=4',
  ])
  const withPmt = replacePmt(splitPackets(encoded), 0x1000, () => ({
    programNumber: 1,
    pcrPid: 0x100,
    descriptors: [registrationDescriptor('CUEI')],
    streams: [
      { type: 0x1b, pid: 0x100 },
      { type: 0x0f, pid: 0x101 },
      { type: 0x86, pid: SCTE35_PID },
    ],
  }))
  const firstPmt = withPmt.findIndex((packet) => pidOf(packet) === 0x1000)
  const splices = [...psiPackets(SCTE35_PID, [scte35SpliceNull()], 0), ...psiPackets(SCTE35_PID, [scte35SpliceNull()], 1)]
  return Buffer.concat([...withPmt.slice(0, firstPmt + 1), ...splices, ...withPmt.slice(firstPmt + 1)])
}

/** Encodes the clean stream and makes its PMT list audio only for the first quarter (video not sent), then audio and video. */
export function lateVideoTs(): Buffer {
  const clean = splitPackets(encodeCleanTs(INPUT_SECONDS))
  const addVideoAt = Math.floor(clean.length * 0.25)
  const video = { type: 0x1b, pid: CLEAN_VIDEO_PID }
  const audio = { type: 0x0f, pid: CLEAN_AUDIO_PID }
  const audioOnly = { programNumber: 7, version: 0, pcrPid: CLEAN_AUDIO_PID, streams: [audio] }
  const both = { programNumber: 7, version: 1, pcrPid: CLEAN_VIDEO_PID, streams: [video, audio] }
  const packets = replacePmt(clean, CLEAN_PMT_PID, (index) => (index < addVideoAt ? audioOnly : both))
  return Buffer.concat(packets.filter((packet, index) => pidOf(packet) !== CLEAN_VIDEO_PID || index >= addVideoAt))
}

/** Writes `name`.ts and a playlist `name`.m3u8 that lists it as its one segment. */
export function writeOneSegmentHls(dir: string, name: string, ts: Buffer, endList: boolean): void {
  writeFileSync(join(dir, `${name}.ts`), ts)
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${INPUT_SECONDS}`, '#EXT-X-MEDIA-SEQUENCE:0']
  lines.push(`#EXTINF:${INPUT_SECONDS}.0,`, `${name}.ts`)
  if (endList) lines.push('#EXT-X-ENDLIST')
  writeFileSync(join(dir, `${name}.m3u8`), `${lines.join('\n')}\n`)
}

/** Writes the three inputs into `dir` as one-segment HLS playlists. */
export function writeTsInputs(dir: string, endList = true): void {
  writeOneSegmentHls(dir, 'cc-errors', ccErrorsTs(), endList)
  writeOneSegmentHls(dir, 'programs', programsTs(), endList)
  writeOneSegmentHls(dir, 'late-video', lateVideoTs(), endList)
}
