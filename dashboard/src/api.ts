// REST client of the dashboard. Every call sends the signed-in user's token,
// and a failed call throws ApiError with the message the server returned.
import type { Session } from './session.ts'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message)
  }
}

let current: Session | null = null
let onUnauthorized: () => void = () => {}

/** Sets the session whose token the calls send, and what to do when the server rejects it (401). */
export function useSessionForRequests(session: Session | null, unauthorized: () => void): void {
  current = session
  onUnauthorized = unauthorized
}

async function errorOf(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`
  let code: string | undefined
  try {
    const body = (await response.json()) as { message?: unknown; code?: unknown }
    if (typeof body.message === 'string') message = body.message
    if (typeof body.code === 'string') code = body.code
  } catch {
    // Not JSON, so the status line is the message.
  }
  return new ApiError(response.status, message, code)
}

/** Sends a request with the session token and returns the response once it is 2xx. */
export async function request(method: string, path: string, body?: unknown, token = current?.token): Promise<Response> {
  const headers: Record<string, string> = {}
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  let response: Response
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  } catch (error) {
    throw new ApiError(0, `request to ${path} failed: ${(error as Error).message}; is the controller running?`)
  }
  if (response.ok) return response
  const error = await errorOf(response)
  if (response.status === 401 && token !== undefined && current !== null) onUnauthorized()
  throw error
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await request('GET', path)).json()) as T
}

export async function postJson<T>(path: string, body?: unknown): Promise<T> {
  return (await (await request('POST', path, body ?? {})).json()) as T
}

export async function deleteJson<T>(path: string): Promise<T> {
  return (await (await request('DELETE', path)).json()) as T
}

/** An image fetched with the token, as an object URL. */
export interface FetchedImage {
  url: string
  /** The Last-Modified header, which the screenshot routes set to the grab time, or null when absent. */
  lastModified: Date | null
}

/** Fetches an image with the token, or returns null on 404. */
export async function fetchImage(path: string): Promise<FetchedImage | null> {
  try {
    const response = await request('GET', path)
    const header = response.headers.get('last-modified')
    const lastModified = header === null ? null : new Date(header)
    const valid = lastModified !== null && !Number.isNaN(lastModified.getTime())
    return { url: URL.createObjectURL(await response.blob()), lastModified: valid ? lastModified : null }
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null
    throw error
  }
}

/** Builds a query string; arrays become comma-separated lists and undefined values are left out. */
export function query(params: Record<string, string | number | boolean | string[] | undefined>): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue
    search.set(key, Array.isArray(value) ? value.join(',') : String(value))
  }
  return search.toString()
}

export const enc = encodeURIComponent
