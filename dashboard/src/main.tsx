// Entry point of the dashboard: login, navigation and the hash routes
// #/streams, #/streams/ID, #/agents, #/viewers and #/settings.
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import './styles.css'
import { useSessionForRequests } from './api.ts'
import { connectLive, useLiveState } from './live.ts'
import { loadSession, saveSession, type Session } from './session.ts'
import { initTheme, setTheme, useTheme } from './theme.ts'
import { LoginPage } from './pages/login.tsx'
import { StreamsPage } from './pages/streams.tsx'
import { StreamPage } from './pages/stream.tsx'
import { StreamForm } from './pages/stream-form.tsx'
import { AgentsPage } from './pages/agents.tsx'
import { ViewersPage } from './pages/viewers.tsx'
import { SettingsPage } from './pages/settings.tsx'

function useHash(): string {
  const [hash, setHash] = useState(location.hash)
  useEffect(() => {
    const update = () => setHash(location.hash)
    window.addEventListener('hashchange', update)
    return () => window.removeEventListener('hashchange', update)
  }, [])
  return hash
}

const NAV: [string, string][] = [
  ['#/streams', 'Streams'],
  ['#/agents', 'Agents'],
  ['#/viewers', 'Viewers'],
  ['#/settings', 'Settings'],
]

function Header({ session, onLogout, path }: { session: Session; onLogout: () => void; path: string }) {
  const theme = useTheme()
  const live = useLiveState()
  return (
    <header class="top">
      <a class="brand" href="#/streams">
        monit
      </a>
      <nav>
        {NAV.map(([href, label]) => (
          <a href={href} class={path.startsWith(href.slice(1)) ? 'active' : ''}>
            {label}
          </a>
        ))}
      </nav>
      <span class="spacer" />
      <span class={`live live-${live}`} title="live feed connection" data-live={live}>
        {live === 'open' ? 'live' : live}
      </span>
      <button type="button" class="theme-toggle" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} aria-label="switch between light and dark theme">
        {theme === 'dark' ? 'light' : 'dark'}
      </button>
      <span class="who" title={`signed in as ${session.username}`}>
        {session.username} <span class="muted">({session.role})</span>
      </span>
      <button type="button" onClick={onLogout}>
        log out
      </button>
    </header>
  )
}

function Route({ session, path }: { session: Session; path: string }) {
  const parts = path.split('/').filter((part) => part !== '').map(decodeURIComponent)
  const [page, id, action] = parts
  if (page === 'agents') return <AgentsPage session={session} />
  if (page === 'viewers') return <ViewersPage />
  if (page === 'settings') return <SettingsPage session={session} />
  if (page === 'streams' && id === 'new') return <StreamForm session={session} />
  if (page === 'streams' && id !== undefined && action === 'edit') return <StreamForm session={session} id={id} />
  if (page === 'streams' && id !== undefined) return <StreamPage session={session} id={id} />
  return <StreamsPage session={session} />
}

function App() {
  const [session, setSession] = useState<Session | null>(loadSession)
  const hash = useHash()
  const path = hash.replace(/^#/, '').split('?')[0] || '/streams'

  const logout = () => {
    saveSession(null)
    setSession(null)
  }
  useSessionForRequests(session, logout)
  useEffect(() => connectLive(session?.token ?? null), [session])

  if (session === null) {
    return (
      <LoginPage
        onLogin={(next) => {
          saveSession(next)
          setSession(next)
        }}
      />
    )
  }
  return (
    <>
      <Header session={session} onLogout={logout} path={path} />
      <main>
        <Route session={session} path={path} />
      </main>
    </>
  )
}

initTheme()
render(<App />, document.getElementById('app')!)
