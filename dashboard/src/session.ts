// The signed-in user, kept in sessionStorage so that it lasts as long as the tab.
import { ApiError, request } from './api.ts'
import type { Role, User } from './types.ts'

export interface Session {
  token: string
  username: string
  role: Role
  /** ISO 8601 time after which the server rejects the token. */
  expiresAt: string
}

const KEY = 'monit.session'

export function loadSession(): Session | null {
  const text = sessionStorage.getItem(KEY)
  if (text === null) return null
  try {
    const session = JSON.parse(text) as Session
    if (Date.parse(session.expiresAt) <= Date.now()) {
      sessionStorage.removeItem(KEY)
      return null
    }
    return session
  } catch {
    sessionStorage.removeItem(KEY)
    return null
  }
}

export function saveSession(session: Session | null): void {
  if (session === null) sessionStorage.removeItem(KEY)
  else sessionStorage.setItem(KEY, JSON.stringify(session))
}

/** Logs in and reads the user's own account for the role. */
export async function logIn(username: string, password: string): Promise<Session> {
  const login = (await (await request('POST', '/api/auth/jwt/v1', { username, password }, undefined)).json()) as {
    token: string
    expires_at: string
  }
  const response = await request('GET', `/api/config/user/v1/${encodeURIComponent(username)}`, undefined, login.token)
  const user = (await response.json()) as User
  if (user.role === undefined) throw new ApiError(500, 'the user record has no role')
  return { token: login.token, username: user.id, role: user.role, expiresAt: login.expires_at }
}

/** Returns whether the role may change streams and drain agents. */
export function canOperate(session: Session): boolean {
  return session.role === 'admin' || session.role === 'operator'
}

export function isAdmin(session: Session): boolean {
  return session.role === 'admin'
}
