// Country and region of a client address from a MaxMind DB (`.mmdb`) file,
// such as GeoLite2-City or GeoIP2-City. Without a database, or for an address
// the database does not contain, both fields are empty.
import { LRUCache } from 'lru-cache'
import maxmind, { type CityResponse, type Reader } from 'maxmind'
import type { Logger } from 'pino'

export interface GeoLocation {
  /** ISO 3166-1 alpha-2 country code, such as `GB`; '' if unknown. */
  country: string
  /**
   * The largest subdivision's ISO 3166-2 code without the country part
   * (`ENG`), else its English name; '' if unknown.
   */
  region: string
}

const UNKNOWN: GeoLocation = Object.freeze({ country: '', region: '' })

/** Looks up client addresses, caching each address's result in an LRU. */
export class GeoIpLookup {
  readonly #reader: Reader<CityResponse> | undefined
  readonly #cache: LRUCache<string, GeoLocation>

  constructor(reader: Reader<CityResponse> | undefined, cacheSize = 50_000) {
    this.#reader = reader
    this.#cache = new LRUCache({ max: cacheSize })
  }

  /**
   * Opens the database at `path`. A missing or unreadable file is logged
   * once and gives a lookup that always returns empty fields, so the
   * controller still starts.
   * NOTE: the file is read once, so a replaced database takes effect at the next start.
   */
  static async open(path: string | undefined, logger: Logger): Promise<GeoIpLookup> {
    if (path === undefined) {
      logger.info('no GeoIP database configured (--geoip-db); country and region stay empty')
      return new GeoIpLookup(undefined)
    }
    try {
      const reader = await maxmind.open<CityResponse>(path)
      const { databaseType, buildEpoch } = reader.metadata
      logger.info({ path, databaseType, buildEpoch }, 'GeoIP database opened')
      return new GeoIpLookup(reader)
    } catch (error) {
      logger.error({ path, err: error }, 'GeoIP database could not be opened; country and region stay empty')
      return new GeoIpLookup(undefined)
    }
  }

  get enabled(): boolean {
    return this.#reader !== undefined
  }

  /** Returns the country and region of an IPv4 or IPv6 address, or empty fields. */
  lookup(address: string): GeoLocation {
    if (this.#reader === undefined) return UNKNOWN
    const cached = this.#cache.get(address)
    if (cached !== undefined) return cached
    const location = this.#find(address)
    this.#cache.set(address, location)
    return location
  }

  #find(address: string): GeoLocation {
    let record: CityResponse | null
    try {
      record = this.#reader!.get(address)
    } catch {
      // Not an IP address (the reader throws); request.ip always is one.
      return UNKNOWN
    }
    if (record === null) return UNKNOWN
    const subdivision = record.subdivisions?.[0]
    return {
      country: record.country?.iso_code ?? '',
      region: subdivision?.iso_code ?? subdivision?.names?.en ?? '',
    }
  }
}
