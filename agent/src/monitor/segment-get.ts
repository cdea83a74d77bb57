// Downloads one HLS segment with node:http(s) and passes its body on chunk
// by chunk. The probe uses this instead of fetch() because fetch's web
// streams cost about as much CPU per megabyte as the TS parsing itself, and
// an agent downloads a megabyte or more per probe.
import { Agent as HttpAgent, get as httpGet, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, get as httpsGet } from 'node:https'

const httpAgent = new HttpAgent({ keepAlive: true })
const httpsAgent = new HttpsAgent({ keepAlive: true })
const MAX_REDIRECTS = 5

export interface SegmentGetOptions {
  signal: AbortSignal
  /** Timeout of the whole download, ms. */
  timeoutMs: number
  maxBytes: number
  /** Returns false to stop the download, such as when the first bytes show the wrong format. */
  onChunk: (chunk: Buffer) => boolean
}

/**
 * Downloads `url`, following up to 5 redirects. Resolves with undefined when
 * the body was read whole or onChunk stopped it, else with the reason it
 * failed. Never rejects.
 */
export function getSegment(url: string, options: SegmentGetOptions): Promise<string | undefined> {
  const timeout = AbortSignal.timeout(options.timeoutMs)
  const signal = AbortSignal.any([options.signal, timeout])
  const reasonOf = (error: Error): string => {
    if (timeout.aborted) return `timed out after ${options.timeoutMs} ms`
    if (options.signal.aborted) return 'aborted'
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ECONNREFUSED') return 'connection refused'
    return code ? `${code}: ${error.message}` : error.message
  }
  return follow(url, MAX_REDIRECTS, signal, options, reasonOf)
}

function follow(
  url: string,
  redirects: number,
  signal: AbortSignal,
  options: SegmentGetOptions,
  reasonOf: (error: Error) => string,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    let target: URL
    try {
      target = new URL(url)
    } catch {
      resolve(`invalid segment URL: ${url}`)
      return
    }
    const secure = target.protocol === 'https:'
    if (!secure && target.protocol !== 'http:') {
      resolve(`unsupported segment URL scheme ${target.protocol}`)
      return
    }
    const get = secure ? httpsGet : httpGet
    const request = get(target, { agent: secure ? httpsAgent : httpAgent, signal }, (response: IncomingMessage) => {
      const status = response.statusCode ?? 0
      const location = response.headers.location
      if (status >= 300 && status < 400 && location !== undefined) {
        response.resume()
        if (redirects <= 0) return resolve('too many redirects')
        resolve(follow(new URL(location, target).href, redirects - 1, signal, options, reasonOf))
        return
      }
      if (status < 200 || status >= 300) {
        response.resume()
        return resolve(`HTTP ${status}`)
      }
      let bytes = 0
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        if (bytes > options.maxBytes) {
          response.destroy()
          return resolve(`segment larger than ${options.maxBytes} bytes`)
        }
        if (!options.onChunk(chunk)) {
          response.destroy()
          resolve(undefined)
        }
      })
      response.on('end', () => resolve(undefined))
      response.on('error', (error) => resolve(reasonOf(error)))
      response.on('aborted', () => resolve(reasonOf(new Error('connection closed before the end of the body'))))
    })
    request.on('error', (error) => resolve(reasonOf(error)))
  })
}
