// The viewer fields every beacon row gets from its request: browser, OS and
// platform from the User-Agent, and country and region from the client address.
import { InvalidField } from '../errors.ts'
import type { GeoIpLookup } from './geoip.ts'
import { normalizeUserAgent, type Platform, type UserAgentParser } from './ua.ts'

export interface ClientFields {
  platform: Platform
  os: string
  browser: string
  country: string
  region: string
  user_agent: string
}

/**
 * Returns the normalized User-Agent header. Throws InvalidField naming
 * `headers/user-agent` when it is missing or blank.
 */
export function requireUserAgent(header: string | undefined): string {
  const userAgent = header === undefined ? '' : normalizeUserAgent(header)
  if (userAgent === '') {
    throw new InvalidField('headers/user-agent', 'missing; send the User-Agent header of the player')
  }
  return userAgent
}

/** Combines the cached User-Agent parser and GeoIP lookup into the fields of one request. */
export class ClientResolver {
  readonly #userAgents: UserAgentParser
  readonly #geoip: GeoIpLookup

  constructor(userAgents: UserAgentParser, geoip: GeoIpLookup) {
    this.#userAgents = userAgents
    this.#geoip = geoip
  }

  /**
   * Resolves a normalized User-Agent (see requireUserAgent) and a client
   * address, which is request.ip, to the viewer fields.
   */
  resolve(userAgent: string, address: string): ClientFields {
    const { browser, os, platform } = this.#userAgents.parse(userAgent)
    const { country, region } = this.#geoip.lookup(address)
    return { platform, os, browser, country, region, user_agent: userAgent }
  }
}
