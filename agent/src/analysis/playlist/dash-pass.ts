// One pass over a DASH stream: the chosen representations of the period
// playing now, each with its newest segments downloaded.
//
// NOTE: DASH representations are not tracked across passes (no stale or
// reset detection); only the availability of the newest segments is checked.
import { redactUrl } from '../../media/protocols.ts'
import { currentPeriod, newestDashSegments } from './dash-segments.ts'
import { parseMpd, type DashManifest, type DashRepresentation } from './dash.ts'
import { boundPassBy, downloadSegment, type FetchedText, type PassContext } from './pass.ts'
import { summariseSegments, type VariantReport } from './report.ts'
import { pickByBandwidth, type RenditionSelection, type VariantSelection } from './select.ts'

export interface DashPassOptions {
  variants: VariantSelection
  renditions: RenditionSelection
}

export type DashPassResult =
  { ok: true; manifest: DashManifest; variants: VariantReport[] } | { ok: false; reason: string }

/** Checks the chosen representations of a DASH stream whose manifest is `top`. */
export async function runDashPass(
  context: PassContext,
  top: FetchedText,
  options: DashPassOptions,
): Promise<DashPassResult> {
  let manifest: DashManifest
  try {
    manifest = parseMpd(top.text, top.url)
  } catch (error) {
    return { ok: false, reason: (error as Error).message }
  }

  const now = context.now()
  const period = currentPeriod(manifest, now)
  if (!period) return { ok: true, manifest, variants: [] }

  if (manifest.maxSegmentDuration !== undefined) boundPassBy(context, manifest.maxSegmentDuration)
  const chosen = chooseRepresentations(period.representations, options)
  const variants = await Promise.all(
    chosen.map((representation) => {
      const result = newestDashSegments(manifest, period, representation, now, context.segments)
      return checkRepresentation(context, representation, result)
    }),
  )
  return { ok: true, manifest, variants }
}

/**
 * Applies the variant selection to the video representations (to all of
 * them when there is no video), and to audio and text ones as the rendition
 * selection requests. Representations whose segments cannot be located are
 * chosen only when no other one is left, so that the report names the reason.
 */
function chooseRepresentations(
  all: readonly DashRepresentation[],
  options: DashPassOptions,
): DashRepresentation[] {
  const supported = all.filter((representation) => !representation.unsupported)
  const representations = supported.length > 0 ? supported : all
  const ofType = (type: string) =>
    representations.filter((representation) => representation.contentType === type)
  const video = ofType('video')
  if (video.length === 0) return pickByBandwidth(representations, options.variants)

  const chosen = pickByBandwidth(video, options.variants)
  if (options.renditions !== 'none') {
    chosen.push(...pickByBandwidth(ofType('audio'), options.variants))
  }
  if (options.renditions === 'all') {
    chosen.push(...pickByBandwidth(ofType('text'), options.variants))
  }
  return chosen
}

async function checkRepresentation(
  context: PassContext,
  representation: DashRepresentation,
  located: ReturnType<typeof newestDashSegments>,
): Promise<VariantReport> {
  const report = representationReport(representation)
  if (!located.ok) {
    report.reason = located.reason
    return report
  }

  const first = located.segments[0]
  if (first) boundPassBy(context, first.duration)

  report.available = true
  report.segments = await Promise.all(
    located.segments.map((segment) =>
      downloadSegment(context, {
        url: segment.url,
        sequence: segment.number,
        duration: segment.duration,
      }),
    ),
  )
  summariseSegments(report)
  return report
}

function representationReport(representation: DashRepresentation): VariantReport {
  const report: VariantReport = {
    id: representation.id,
    role: 'representation',
    url: redactUrl(representation.baseUrl),
    bandwidth: representation.bandwidth,
    available: false,
    segments: [],
  }
  if (representation.width !== undefined && representation.height !== undefined) {
    report.resolution = `${representation.width}x${representation.height}`
  }
  if (representation.codecs) report.codecs = representation.codecs
  return report
}
