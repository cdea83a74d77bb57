// Users and roles, agent tokens and alert rules. Only admins change them;
// any user may change their own password.
import { useState } from 'preact/hooks'
import { deleteJson, enc, getJson, postJson } from '../api.ts'
import { ActionButton, ErrorMessage, useLoad } from '../components.tsx'
import { formatAgo, formatLabels, parseLabels, parseList } from '../format.ts'
import { isAdmin, type Session } from '../session.ts'
import type { AgentToken, AlertChannel, AlertRule, Role, User } from '../types.ts'

const ROLES: Role[] = ['viewer', 'operator', 'admin']

function OwnPassword({ session }: { session: Session }) {
  const [password, setPassword] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [done, setDone] = useState(false)
  const submit = async (event: Event) => {
    event.preventDefault()
    try {
      await postJson(`/api/config/user/v1/${enc(session.username)}/update`, { password })
      setPassword('')
      setError(null)
      setDone(true)
    } catch (err) {
      setError(err)
    }
  }
  return (
    <form class="inline-form" onSubmit={submit}>
      <label>
        new password for {session.username}
        <input type="password" name="own-password" autocomplete="new-password" minLength={8} required value={password} onInput={(event) => setPassword(event.currentTarget.value)} />
      </label>
      <button type="submit">change password</button>
      {done ? <span class="muted small">Changed. Older tokens stop working, so log in again.</span> : null}
      <ErrorMessage error={error} />
    </form>
  )
}

function Users({ session }: { session: Session }) {
  const users = useLoad(() => getJson<{ users: User[] }>('/api/config/user/v1'), [])
  const [error, setError] = useState<unknown>(null)
  const [id, setId] = useState('')
  const [password, setPassword] = useState('')
  const [role, setRole] = useState<Role>('viewer')

  const create = async (event: Event) => {
    event.preventDefault()
    try {
      await postJson(`/api/config/user/v1/${enc(id.trim())}/create`, { password, role })
      setId('')
      setPassword('')
      setError(null)
      users.reload()
    } catch (err) {
      setError(err)
    }
  }
  const changeRole = async (user: User, next: Role) => {
    try {
      await postJson(`/api/config/user/v1/${enc(user.id)}/update`, { role: next })
      setError(null)
    } catch (err) {
      setError(err)
    }
    users.reload()
  }

  return (
    <>
      <ErrorMessage error={users.error} />
      <ErrorMessage error={error} />
      <table class="table users">
        <thead>
          <tr>
            <th>user</th>
            <th>role</th>
            <th>last login</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(users.data?.users ?? []).map((user) => (
            <tr data-user-id={user.id}>
              <td>{user.id}</td>
              <td>
                <select value={user.role} aria-label={`role of ${user.id}`} onChange={(event) => changeRole(user, event.currentTarget.value as Role)}>
                  {ROLES.map((value) => (
                    <option value={value}>{value}</option>
                  ))}
                </select>
              </td>
              <td>{formatAgo(user.last_login_at)}</td>
              <td>
                {user.id === session.username ? null : (
                  <ActionButton
                    class="danger"
                    onError={setError}
                    confirm={`Delete user ${user.id}?`}
                    onClick={async () => {
                      await deleteJson(`/api/config/user/v1/${enc(user.id)}/delete`)
                      users.reload()
                    }}
                  >
                    delete
                  </ActionButton>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="inline-form" onSubmit={create}>
        <label>
          user
          <input name="new-user" required value={id} onInput={(event) => setId(event.currentTarget.value)} />
        </label>
        <label>
          password
          <input type="password" name="new-user-password" autocomplete="new-password" minLength={8} required value={password} onInput={(event) => setPassword(event.currentTarget.value)} />
        </label>
        <label>
          role
          <select name="new-user-role" value={role} onChange={(event) => setRole(event.currentTarget.value as Role)}>
            {ROLES.map((value) => (
              <option value={value}>{value}</option>
            ))}
          </select>
        </label>
        <button type="submit">add user</button>
      </form>
    </>
  )
}

function AgentTokens() {
  const tokens = useLoad(() => getJson<{ tokens: AgentToken[] }>('/api/config/agent-tokens/v1'), [])
  const [error, setError] = useState<unknown>(null)
  const [name, setName] = useState('')
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null)

  const create = async (event: Event) => {
    event.preventDefault()
    try {
      const token = await postJson<AgentToken & { token: string }>(`/api/config/agent-tokens/v1/${enc(name.trim())}/create`)
      setCreated({ name: token.name, token: token.token })
      setName('')
      setError(null)
      tokens.reload()
    } catch (err) {
      setError(err)
    }
  }

  return (
    <>
      <ErrorMessage error={tokens.error} />
      <ErrorMessage error={error} />
      {created ? (
        <div class="card notice" role="status">
          <p>
            Token <strong>{created.name}</strong>, shown only now: copy it to the agent's <code>MONIT_AGENT_TOKEN</code>.
          </p>
          <code class="secret" data-new-token>
            {created.token}
          </code>
          <button type="button" onClick={() => setCreated(null)}>
            done
          </button>
        </div>
      ) : null}
      <table class="table tokens">
        <thead>
          <tr>
            <th>name</th>
            <th>created</th>
            <th>last used</th>
            <th>state</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(tokens.data?.tokens ?? []).map((token) => (
            <tr>
              <td>{token.name}</td>
              <td>{formatAgo(token.created_at)}</td>
              <td>{formatAgo(token.last_used_at)}</td>
              <td>{token.revoked_at === null ? 'active' : `revoked ${formatAgo(token.revoked_at)}`}</td>
              <td>
                {token.revoked_at === null ? (
                  <ActionButton
                    class="danger"
                    onError={setError}
                    confirm={`Revoke token ${token.name}? Agents using it are disconnected.`}
                    onClick={async () => {
                      await deleteJson(`/api/config/agent-tokens/v1/${enc(token.id)}/delete`)
                      tokens.reload()
                    }}
                  >
                    revoke
                  </ActionButton>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="inline-form" onSubmit={create}>
        <label>
          token name
          <input name="token-name" required value={name} onInput={(event) => setName(event.currentTarget.value)} placeholder="edge-1" />
        </label>
        <button type="submit">create token</button>
      </form>
    </>
  )
}

interface RuleFields {
  id: string
  name: string
  streams: string
  labels: string
  statuses: string
  pattern: string
  forS: string
  channels: string[]
}

const EMPTY_RULE: RuleFields = { id: '', name: '', streams: '', labels: '', statuses: 'down', pattern: '', forS: '60', channels: [] }

function ruleBody(fields: RuleFields): Record<string, unknown> {
  const body: Record<string, unknown> = {
    statuses: fields.statuses === 'both' ? ['down', 'degraded'] : [fields.statuses],
    for_s: Number(fields.forS || '0'),
    channels: fields.channels,
  }
  if (fields.name.trim() !== '') body.name = fields.name.trim()
  const streams = parseList(fields.streams)
  if (streams.length > 0) body.stream_ids = streams
  const labels = parseLabels(fields.labels, 'labels')
  if (Object.keys(labels).length > 0) body.labels = labels
  if (fields.pattern.trim() !== '') body.reason_pattern = fields.pattern.trim()
  return body
}

/** Returns the streams a rule covers: its stream ids, its label selector, or every stream. */
function ruleScope(rule: AlertRule): string {
  if (rule.stream_ids !== null) return rule.stream_ids.join(', ')
  if (rule.labels !== null) return formatLabels(rule.labels)
  return 'every stream'
}

function AlertRules({ session }: { session: Session }) {
  const rules = useLoad(() => getJson<{ rules: AlertRule[] }>('/api/config/alerts/v1/rules'), [])
  const channels = useLoad(() => getJson<{ channels: AlertChannel[] }>('/api/config/alerts/v1/channels'), [])
  const [error, setError] = useState<unknown>(null)
  const [fields, setFields] = useState<RuleFields>(EMPTY_RULE)
  const admin = isAdmin(session)
  const set = (name: keyof RuleFields) => (event: Event) => setFields({ ...fields, [name]: (event.currentTarget as HTMLInputElement).value })

  const create = async (event: Event) => {
    event.preventDefault()
    try {
      await postJson(`/api/config/alerts/v1/rules/${enc(fields.id.trim())}/create`, ruleBody(fields))
      setFields(EMPTY_RULE)
      setError(null)
      rules.reload()
    } catch (err) {
      setError(err)
    }
  }

  return (
    <>
      <ErrorMessage error={rules.error} />
      <ErrorMessage error={channels.error} />
      <ErrorMessage error={error} />
      {rules.data?.rules.length === 0 ? <p class="muted">No alert rules.</p> : null}
      <table class="table rules">
        <thead>
          <tr>
            <th>rule</th>
            <th>covers</th>
            <th>when</th>
            <th>channels</th>
            <th>enabled</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(rules.data?.rules ?? []).map((rule) => (
            <tr>
              <td>
                {rule.name || rule.id}
                {rule.name && rule.name !== rule.id ? <span class="muted small"> {rule.id}</span> : null}
              </td>
              <td>{ruleScope(rule)}</td>
              <td>
                {rule.statuses.join(' or ')} for {rule.for_s} s{rule.reason_pattern ? `, reason matches /${rule.reason_pattern}/i` : ''}
              </td>
              <td>{rule.channels.join(', ')}</td>
              <td>
                <input
                  type="checkbox"
                  checked={rule.enabled}
                  disabled={!admin}
                  aria-label={`rule ${rule.id} enabled`}
                  onChange={async (event) => {
                    try {
                      await postJson(`/api/config/alerts/v1/rules/${enc(rule.id)}/update`, { enabled: event.currentTarget.checked })
                      setError(null)
                    } catch (err) {
                      setError(err)
                    }
                    rules.reload()
                  }}
                />
              </td>
              <td>
                {admin ? (
                  <ActionButton
                    class="danger"
                    onError={setError}
                    confirm={`Delete alert rule ${rule.id}? Its open alerts resolve.`}
                    onClick={async () => {
                      await deleteJson(`/api/config/alerts/v1/rules/${enc(rule.id)}/delete`)
                      rules.reload()
                    }}
                  >
                    delete
                  </ActionButton>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {admin ? (
        <form class="card form rule-form" onSubmit={create}>
          <label>
            id
            <input name="rule-id" required value={fields.id} onInput={set('id')} placeholder="news-down" />
          </label>
          <label>
            name
            <input name="rule-name" value={fields.name} onInput={set('name')} />
          </label>
          <label>
            streams
            <input name="rule-streams" value={fields.streams} onInput={set('streams')} placeholder="all, or news-1, news-2" />
          </label>
          <label>
            or labels
            <input name="rule-labels" value={fields.labels} onInput={set('labels')} placeholder="region=eu" />
          </label>
          <label>
            status
            <select name="rule-statuses" value={fields.statuses} onChange={set('statuses')}>
              <option value="down">down</option>
              <option value="degraded">degraded</option>
              <option value="both">down or degraded</option>
            </select>
          </label>
          <label>
            for (s)
            <input name="rule-for" type="number" min="0" max="86400" value={fields.forS} onInput={set('forS')} />
          </label>
          <label>
            reason pattern
            <input name="rule-pattern" value={fields.pattern} onInput={set('pattern')} placeholder="any" />
          </label>
          <label>
            channels
            <select
              name="rule-channels"
              multiple
              onChange={(event) => setFields({ ...fields, channels: [...event.currentTarget.selectedOptions].map((option) => option.value) })}
            >
              {(channels.data?.channels ?? []).map((channel) => (
                <option value={channel.id} selected={fields.channels.includes(channel.id)}>
                  {channel.name || channel.id} ({channel.type})
                </option>
              ))}
            </select>
          </label>
          {channels.data?.channels.length === 0 ? (
            <p class="muted small wide">A rule needs a channel; add one with POST /api/config/alerts/v1/channels/ID/create.</p>
          ) : null}
          <div class="wide actions">
            <button type="submit">add rule</button>
          </div>
        </form>
      ) : null}
    </>
  )
}

export function SettingsPage({ session }: { session: Session }) {
  const admin = isAdmin(session)
  return (
    <div class="page settings-page">
      <div class="page-head">
        <h1>Settings</h1>
      </div>
      <section class="card">
        <h2>Your account</h2>
        <p class="muted small">
          Signed in as {session.username} with role {session.role}.
        </p>
        <OwnPassword session={session} />
      </section>
      {admin ? (
        <section class="card">
          <h2>Users and roles</h2>
          <p class="muted small">Viewers read; operators also change streams and drain agents; admins also manage users, tokens and alerts.</p>
          <Users session={session} />
        </section>
      ) : null}
      {admin ? (
        <section class="card">
          <h2>Agent tokens</h2>
          <AgentTokens />
        </section>
      ) : null}
      <section class="card">
        <h2>Alert rules</h2>
        <AlertRules session={session} />
      </section>
      {!admin ? <p class="muted small">Users, agent tokens and alert rule changes need the admin role.</p> : null}
    </div>
  )
}
