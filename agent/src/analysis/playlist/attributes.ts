// Attribute lists of HLS tags (RFC 8216 section 4.2): comma-separated
// NAME=VALUE pairs whose values are integers, decimals, quoted strings,
// enumerated strings or WIDTHxHEIGHT resolutions. Pure.

/** Attribute values as written, with the quotes of quoted strings removed. */
export type AttributeList = ReadonlyMap<string, string>

const ATTRIBUTE_RE = /\s*([A-Z0-9-]+)\s*=\s*("[^"]*"|[^,]*)\s*(?:,|$)/gy

/**
 * Parses `NAME=VALUE,NAME="quoted, with commas"`. Parsing stops at the first
 * malformed pair, so a broken tail loses only the attributes after it.
 */
export function parseAttributeList(text: string): AttributeList {
  const attributes = new Map<string, string>()
  ATTRIBUTE_RE.lastIndex = 0

  for (let match = ATTRIBUTE_RE.exec(text); match; match = ATTRIBUTE_RE.exec(text)) {
    const name = match[1]!
    const raw = match[2]!.trim()
    const value = raw.startsWith('"') ? raw.slice(1, -1) : raw
    if (!attributes.has(name)) attributes.set(name, value)
    if (ATTRIBUTE_RE.lastIndex >= text.length) break
  }

  return attributes
}

/** Returns a non-negative decimal integer or decimal float attribute, or undefined. */
export function decimalAttribute(attributes: AttributeList, name: string): number | undefined {
  const value = attributes.get(name)
  if (value === undefined || !/^\d+(\.\d+)?$/.test(value)) return undefined

  return Number(value)
}

export interface Resolution {
  width: number
  height: number
}

/** Returns a RESOLUTION value such as `1280x720`, or undefined. */
export function resolutionAttribute(
  attributes: AttributeList,
  name: string,
): Resolution | undefined {
  const match = /^(\d+)x(\d+)$/i.exec(attributes.get(name) ?? '')
  if (!match) return undefined

  return { width: Number(match[1]), height: Number(match[2]) }
}

/** Returns an enumerated YES/NO value as a boolean, or undefined when it is missing or neither. */
export function booleanAttribute(attributes: AttributeList, name: string): boolean | undefined {
  const value = attributes.get(name)
  if (value === 'YES') return true
  if (value === 'NO') return false

  return undefined
}
