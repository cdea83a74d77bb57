// Chooses which variants, renditions and DASH representations one pass
// checks. Pure.
import type { MasterPlaylist, Rendition, Variant } from './hls.ts'

export const VARIANT_PRESETS = ['highest-lowest', 'highest', 'lowest', 'all'] as const
export type VariantPreset = (typeof VARIANT_PRESETS)[number]
/** A preset, or the variants whose bandwidths are closest to the listed ones (bit/s). */
export type VariantSelection = VariantPreset | { bandwidths: number[] }

export const RENDITION_SELECTIONS = ['none', 'audio', 'all'] as const
/** Alternative renditions of the chosen variants' groups that are checked too. */
export type RenditionSelection = (typeof RENDITION_SELECTIONS)[number]

/** Picks items by bandwidth, each once, in the order of the input. */
export function pickByBandwidth<T extends { bandwidth: number }>(
  items: readonly T[],
  selection: VariantSelection,
): T[] {
  if (items.length === 0) return []

  const picked = new Set<T>()
  if (selection === 'all') items.forEach((item) => picked.add(item))
  if (selection === 'highest' || selection === 'highest-lowest') picked.add(extreme(items, 1))
  if (selection === 'lowest' || selection === 'highest-lowest') picked.add(extreme(items, -1))
  if (typeof selection === 'object') {
    for (const bandwidth of selection.bandwidths) picked.add(closest(items, bandwidth))
  }

  return items.filter((item) => picked.has(item))
}

/** Returns the first item with the highest (sign 1) or lowest (sign -1) bandwidth. */
function extreme<T extends { bandwidth: number }>(items: readonly T[], sign: 1 | -1): T {
  let best = items[0]!
  for (const item of items) {
    if (sign * item.bandwidth > sign * best.bandwidth) best = item
  }
  return best
}

function closest<T extends { bandwidth: number }>(items: readonly T[], bandwidth: number): T {
  let best = items[0]!
  for (const item of items) {
    if (Math.abs(item.bandwidth - bandwidth) < Math.abs(best.bandwidth - bandwidth)) best = item
  }
  return best
}

/** Picks variants, each URI once (a stream may be listed with several audio groups). */
export function selectVariants(master: MasterPlaylist, selection: VariantSelection): Variant[] {
  const seen = new Set<string>()
  const unique = master.variants.filter((variant) => {
    if (seen.has(variant.uri)) return false
    seen.add(variant.uri)
    return true
  })

  return pickByBandwidth(unique, selection)
}

/** Renditions with their own playlist in the groups the chosen variants refer to. */
export function selectRenditions(
  master: MasterPlaylist,
  variants: readonly Variant[],
  selection: RenditionSelection,
): Rendition[] {
  if (selection === 'none') return []

  const groups = new Set<string>()
  for (const variant of variants) {
    if (variant.audioGroup) groups.add(`AUDIO/${variant.audioGroup}`)
    if (selection === 'all' && variant.videoGroup) groups.add(`VIDEO/${variant.videoGroup}`)
    if (selection === 'all' && variant.subtitlesGroup) {
      groups.add(`SUBTITLES/${variant.subtitlesGroup}`)
    }
  }

  const seen = new Set<string>()
  return master.renditions.filter((rendition) => {
    if (!rendition.uri || seen.has(rendition.uri)) return false
    if (!groups.has(`${rendition.type}/${rendition.groupId}`)) return false
    seen.add(rendition.uri)
    return true
  })
}
