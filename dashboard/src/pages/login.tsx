import { useState } from 'preact/hooks'
import { ErrorMessage } from '../components.tsx'
import { logIn, type Session } from '../session.ts'

export function LoginPage({ onLogin }: { onLogin: (session: Session) => void }) {
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    try {
      onLogin(await logIn(username, password))
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <main class="login">
      <form class="card login-form" onSubmit={submit}>
        <h1>monit</h1>
        <p class="muted">Log in with a user of the controller's API.</p>
        <label>
          user
          <input name="username" autocomplete="username" required value={username} onInput={(event) => setUsername(event.currentTarget.value)} />
        </label>
        <label>
          password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(event) => setPassword(event.currentTarget.value)}
          />
        </label>
        <ErrorMessage error={error} />
        <button type="submit" class="primary" disabled={busy}>
          log in
        </button>
      </form>
    </main>
  )
}
