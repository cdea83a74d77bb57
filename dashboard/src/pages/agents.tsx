// The agent status view: a fleet summary, then each agent's connection,
// version, labels, load against capacity and streams. Connects and
// disconnects arrive on the live feed.
import { useState } from 'preact/hooks'
import { enc, getJson, postJson } from '../api.ts'
import { ActionButton, ErrorMessage, useInterval, useLoad } from '../components.tsx'
import { formatAgo, formatLabels } from '../format.ts'
import { useLive } from '../live.ts'
import { canOperate, type Session } from '../session.ts'
import type { Agent } from '../types.ts'

function Summary({ agents }: { agents: Agent[] }) {
  const connected = agents.filter((agent) => agent.connected)
  const capacity = connected.reduce((sum, agent) => sum + agent.capacity, 0)
  const load = connected.reduce((sum, agent) => sum + agent.load, 0)
  const streams = agents.reduce((sum, agent) => sum + agent.streams.length, 0)
  const items: [string, string, string][] = [
    ['agents', String(agents.length), 'fleet-agents'],
    ['connected', String(connected.length), 'fleet-connected'],
    ['offline', String(agents.length - connected.length), 'fleet-offline'],
    ['draining', String(agents.filter((agent) => agent.draining).length), 'fleet-draining'],
    ['load / capacity', `${load} / ${capacity}`, 'fleet-load'],
    ['assigned streams', String(streams), 'fleet-streams'],
  ]
  return (
    <div class="summary">
      {items.map(([label, value, id]) => (
        <div class="card stat" data-stat={id}>
          <div class="stat-value">{value}</div>
          <div class="muted small">{label}</div>
        </div>
      ))}
    </div>
  )
}

function LoadBar({ load, capacity }: { load: number; capacity: number }) {
  const share = capacity > 0 ? Math.min(1, load / capacity) : 0
  return (
    <div class="loadbar" title={`${load} of ${capacity} weight units`} role="meter" aria-valuenow={load} aria-valuemin={0} aria-valuemax={capacity}>
      <span class={share > 0.9 ? 'full' : ''} style={{ width: `${share * 100}%` }} />
    </div>
  )
}

export function AgentsPage({ session }: { session: Session }) {
  const agents = useLoad(() => getJson<{ agents: Agent[] }>('/api/agents/v1'), [])
  const [override, setOverride] = useState<Map<string, boolean>>(new Map())
  const [actionError, setActionError] = useState<unknown>(null)
  useInterval(agents.reload, 15_000)
  useLive((message) => {
    if (message.type !== 'agent') return
    // Shows the change at once, then reloads for last seen, load and streams.
    setOverride((old) => new Map(old).set(message.agent_id, message.connected))
    agents.reload()
  })

  const list = (agents.data?.agents ?? []).map((agent) => {
    const connected = override.get(agent.id)
    return connected === undefined || agents.loading === false ? agent : { ...agent, connected }
  })
  const drain = async (agent: Agent, action: 'drain' | 'undrain') => {
    await postJson(`/api/agents/v1/${enc(agent.id)}/${action}`)
    agents.reload()
  }

  return (
    <div class="page agents-page">
      <div class="page-head">
        <h1>Agents</h1>
      </div>
      <ErrorMessage error={agents.error} />
      <ErrorMessage error={actionError} />
      <Summary agents={list} />
      {agents.data !== undefined && list.length === 0 ? <p class="empty">No agent has connected yet.</p> : null}
      <div class="agent-list">
        {list.map((agent) => (
          <section class="card agent" data-agent-id={agent.id} data-connected={String(agent.connected)}>
            <div class="agent-head">
              <strong>{agent.name}</strong>
              {agent.name !== agent.id ? <span class="muted small">{agent.id}</span> : null}
              <span class={`badge ${agent.connected ? 'badge-up' : 'badge-down'}`} data-state={agent.connected ? 'connected' : 'offline'}>
                {agent.connected ? 'connected' : 'offline'}
              </span>
              {agent.draining ? <span class="badge badge-degraded">draining</span> : null}
              <span class="spacer" />
              {canOperate(session) ? (
                agent.draining ? (
                  <ActionButton onClick={() => drain(agent, 'undrain')} onError={setActionError}>
                    undrain
                  </ActionButton>
                ) : (
                  <ActionButton onClick={() => drain(agent, 'drain')} onError={setActionError} confirm={`Move every stream off ${agent.id}?`}>
                    drain
                  </ActionButton>
                )
              ) : null}
            </div>
            <dl class="small">
              <dt>last seen</dt>
              <dd>{agent.connected ? 'now' : formatAgo(agent.last_seen_at)}</dd>
              <dt>version</dt>
              <dd>{agent.version}</dd>
              <dt>address</dt>
              <dd>{agent.remote_address ?? '–'}</dd>
              <dt>labels</dt>
              <dd>{formatLabels(agent.labels) || '–'}</dd>
              <dt>load</dt>
              <dd>
                {agent.load} / {agent.capacity}
                <LoadBar load={agent.load} capacity={agent.capacity} />
              </dd>
              <dt>streams</dt>
              <dd>
                {agent.streams.length === 0
                  ? 'none'
                  : agent.streams.map((id, index) => (
                      <>
                        {index > 0 ? ', ' : ''}
                        <a href={`#/streams/${enc(id)}`}>{id}</a>
                      </>
                    ))}
              </dd>
            </dl>
          </section>
        ))}
      </div>
    </div>
  )
}
