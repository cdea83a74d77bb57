// Live feed client: one WebSocket to GET /api/live/v1/ws per tab, opened
// after login and reopened with a growing delay when it drops.
import { useEffect, useState } from 'preact/hooks'
import type { LiveMessage } from './types.ts'

export type LiveState = 'connecting' | 'open' | 'closed'
type Listener = (message: LiveMessage) => void

const MIN_RETRY_MS = 1000
const MAX_RETRY_MS = 30_000

const listeners = new Set<Listener>()
const stateListeners = new Set<(state: LiveState) => void>()
let socket: WebSocket | null = null
let state: LiveState = 'closed'
let retryMs = MIN_RETRY_MS
let retryTimer: number | undefined
let token: string | null = null

function setState(next: LiveState): void {
  state = next
  for (const listener of stateListeners) listener(next)
}

function open(): void {
  if (token === null) return
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/live/v1/ws`
  // A browser cannot set headers on a WebSocket, so the token goes in a subprotocol and stays out of the URL.
  const ws = new WebSocket(url, ['monit.live.v1', `bearer.${token}`])
  socket = ws
  setState('connecting')
  ws.onopen = () => {
    retryMs = MIN_RETRY_MS
    setState('open')
  }
  ws.onmessage = (event) => {
    let message: LiveMessage
    try {
      message = JSON.parse(String(event.data)) as LiveMessage
    } catch {
      console.warn('live feed: ignored a message that is not JSON')
      return
    }
    for (const listener of listeners) listener(message)
  }
  ws.onclose = () => {
    if (socket !== ws) return
    socket = null
    setState('closed')
    if (token === null) return
    retryTimer = window.setTimeout(open, retryMs)
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS)
  }
}

/** Opens the feed with the token, or with null closes it for good (logout). */
export function connectLive(newToken: string | null): void {
  if (newToken === token) return
  token = newToken
  window.clearTimeout(retryTimer)
  const old = socket
  socket = null
  old?.close()
  if (token === null) setState('closed')
  else open()
}

/** Calls listener with each live feed message while the component is mounted. */
export function useLive(listener: Listener, deps: unknown[] = []): void {
  useEffect(() => {
    listeners.add(listener)
    return () => {
      listeners.delete(listener)
    }
  }, deps)
}

/** Returns the state of the live feed connection and re-renders when it changes. */
export function useLiveState(): LiveState {
  const [value, setValue] = useState(state)
  useEffect(() => {
    stateListeners.add(setValue)
    setValue(state)
    return () => {
      stateListeners.delete(setValue)
    }
  }, [])
  return value
}
