// User-Agent parsing for player beacons: browser, OS and platform, with an
// LRU cache because a player sends the same User-Agent on every beacon.
import { LRUCache } from 'lru-cache'
import UAParser from 'ua-parser-js'

/** Platform values stored in the `platform` column when a beacon does not set its own. */
export const PLATFORMS = {
  desktop: 'desktop',
  mobile: 'mobile',
  tablet: 'tablet',
  smarttv: 'smarttv',
  console: 'console',
  wearable: 'wearable',
  embedded: 'embedded',
  xr: 'xr',
  bot: 'bot',
  /** The User-Agent does not say (an app's HTTP library, an unknown device). */
  unknown: '',
} as const

export type Platform = (typeof PLATFORMS)[keyof typeof PLATFORMS]

export interface UserAgentInfo {
  /** Browser or client name and major version, such as `Chrome 124` or `okhttp 4`; '' if unknown. */
  browser: string
  /** OS name and version, such as `Android 14` or `Mac OS 10.15.7`; '' if unknown. */
  os: string
  platform: Platform
}

/** The longest User-Agent stored and parsed; longer ones are cut to this many characters. */
export const MAX_USER_AGENT_LENGTH = 1024

const DEVICE_PLATFORMS: Readonly<Record<string, Platform>> = {
  mobile: PLATFORMS.mobile,
  tablet: PLATFORMS.tablet,
  smarttv: PLATFORMS.smarttv,
  console: PLATFORMS.console,
  wearable: PLATFORMS.wearable,
  embedded: PLATFORMS.embedded,
  xr: PLATFORMS.xr,
}

// ua-parser-js leaves the device type unset for desktops, so a desktop is
// recognised by its OS.
const DESKTOP_OS = new Set([
  'Windows',
  'Mac OS',
  'macOS',
  'Linux',
  'Ubuntu',
  'Debian',
  'Fedora',
  'Mint',
  'Arch',
  'openSUSE',
  'Gentoo',
  'Chromium OS',
  'FreeBSD',
  'OpenBSD',
  'NetBSD',
  'Solaris',
])

// Crawlers name themselves `...bot/2.1`, `...crawler/1.0` or `...spider/1.0`;
// scripts send the name of their HTTP tool first. The capture is the client name.
const CRAWLER = /\b([A-Za-z][\w-]*?(?:bot|crawler|spider))\/(\d+)/i
const HTTP_TOOL =
  /^(curl|Wget|python-requests|python-urllib|Go-http-client|HTTPie|libwww-perl|Scrapy)\/(\d+)/i
const HEADLESS = /\b(HeadlessChrome)\/(\d+)/

// The first product token, such as `okhttp/4.12.0`, `AppleCoreMedia/1.0.0.21E236`
// or `Roku/DVP-12.5`: it names an app or player library that ua-parser-js does
// not know. The version is kept only when it starts with a digit.
const PRODUCT = /^([A-Za-z][\w.-]*)(?:\/(\d+))?/

const EMPTY: UserAgentInfo = { browser: '', os: '', platform: PLATFORMS.unknown }

function joinNameVersion(name: string | undefined, version: string | undefined): string {
  if (!name) return ''
  return version ? `${name} ${version}` : name
}

function detectAutomation(userAgent: string): string | undefined {
  const match = CRAWLER.exec(userAgent) ?? HTTP_TOOL.exec(userAgent) ?? HEADLESS.exec(userAgent)
  return match ? joinNameVersion(match[1], match[2]) : undefined
}

function fallbackBrowser(userAgent: string): string {
  const match = PRODUCT.exec(userAgent)
  // Every browser starts with `Mozilla/5.0`, which names nothing.
  if (!match || match[1] === 'Mozilla') return ''
  return joinNameVersion(match[1], match[2])
}

function platformOf(deviceType: string | undefined, osName: string | undefined): Platform {
  if (deviceType !== undefined) return DEVICE_PLATFORMS[deviceType] ?? PLATFORMS.unknown
  if (osName !== undefined && DESKTOP_OS.has(osName)) return PLATFORMS.desktop
  return PLATFORMS.unknown
}

/** Cuts a User-Agent header to MAX_USER_AGENT_LENGTH and trims it: the text stored and parsed. */
export function normalizeUserAgent(header: string): string {
  return header.slice(0, MAX_USER_AGENT_LENGTH).trim()
}

/** Parses a User-Agent header without caching; see UserAgentParser for the cached form. */
export function parseUserAgent(header: string): UserAgentInfo {
  const userAgent = normalizeUserAgent(header)
  if (userAgent === '') return EMPTY

  const result = new UAParser(userAgent).getResult()
  const os = joinNameVersion(result.os.name, result.os.version)
  const automation = detectAutomation(userAgent)
  if (automation !== undefined) return { browser: automation, os, platform: PLATFORMS.bot }

  const browser = result.browser.name
    ? joinNameVersion(result.browser.name, result.browser.major)
    : fallbackBrowser(userAgent)
  return { browser, os, platform: platformOf(result.device.type, result.os.name) }
}

/**
 * Parses User-Agent headers through an LRU cache keyed by the normalized
 * text, so no key is longer than MAX_USER_AGENT_LENGTH characters.
 */
export class UserAgentParser {
  readonly #cache: LRUCache<string, UserAgentInfo>

  constructor(cacheSize = 10_000) {
    this.#cache = new LRUCache({ max: cacheSize })
  }

  /** Returns the parsed fields of a normalized User-Agent (see normalizeUserAgent). */
  parse(userAgent: string): UserAgentInfo {
    const cached = this.#cache.get(userAgent)
    if (cached !== undefined) return cached
    const info = parseUserAgent(userAgent)
    this.#cache.set(userAgent, info)
    return info
  }
}
