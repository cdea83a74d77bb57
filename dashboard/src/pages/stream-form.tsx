// Create or edit a stream (operators and admins).
import { useEffect, useState } from 'preact/hooks'
import { enc, getJson, postJson } from '../api.ts'
import { ErrorMessage } from '../components.tsx'
import { formatLabels, parseLabels } from '../format.ts'
import { canOperate, type Session } from '../session.ts'
import type { Stream } from '../types.ts'

interface Fields {
  id: string
  url: string
  desired: 'up' | 'down'
  interval: string
  sample: string
  timeout: string
  labels: string
  required: string
  weight: string
  pinned: string
}

const EMPTY: Fields = { id: '', url: '', desired: 'up', interval: '', sample: '', timeout: '', labels: '', required: '', weight: '', pinned: '' }

function fieldsOf(stream: Stream): Fields {
  return {
    id: stream.id,
    url: stream.url,
    desired: stream.desired_state,
    interval: String(stream.probe.interval_s),
    sample: String(stream.probe.sample_s),
    timeout: String(stream.probe.timeout_s),
    labels: formatLabels(stream.labels),
    required: formatLabels(stream.required_labels),
    weight: String(stream.weight),
    pinned: stream.pinned_agent_id ?? '',
  }
}

function integer(text: string, field: string): number | undefined {
  if (text.trim() === '') return undefined
  const value = Number(text)
  if (!Number.isInteger(value)) throw new Error(`${field}: "${text}" is not a whole number`)
  return value
}

/**
 * Builds the create body, or with `original` the update body of the fields
 * that changed. Empty optional fields are left out, so the server keeps or
 * defaults them.
 */
function bodyOf(fields: Fields, original?: Fields): Record<string, unknown> {
  const changed = (name: keyof Fields) => original === undefined || fields[name] !== original[name]
  const probe: Record<string, number> = {}
  const interval = integer(fields.interval, 'probe interval')
  const sample = integer(fields.sample, 'sample length')
  const timeout = integer(fields.timeout, 'timeout')
  if (interval !== undefined && changed('interval')) probe.interval_s = interval
  if (sample !== undefined && changed('sample')) probe.sample_s = sample
  if (timeout !== undefined && changed('timeout')) probe.timeout_s = timeout
  const body: Record<string, unknown> = {}
  if (changed('url')) body.url = fields.url.trim()
  if (changed('desired')) body.desired_state = fields.desired
  if (changed('labels')) body.labels = parseLabels(fields.labels, 'labels')
  if (changed('required')) body.required_labels = parseLabels(fields.required, 'required labels')
  if (Object.keys(probe).length > 0) body.probe = probe
  const weight = integer(fields.weight, 'weight')
  if (weight !== undefined && changed('weight')) body.weight = weight
  if (changed('pinned')) {
    if (fields.pinned.trim() !== '') body.pinned_agent_id = fields.pinned.trim()
    else if (original !== undefined) body.pinned_agent_id = null
  }
  return body
}

export function StreamForm({ session, id }: { session: Session; id?: string }) {
  const editing = id !== undefined
  const [fields, setFields] = useState<Fields>(EMPTY)
  const [original, setOriginal] = useState<Fields | undefined>(undefined)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)

  useEffect(() => {
    if (id === undefined) return
    getJson<Stream>(`/api/state/streams/v1/${enc(id)}`).then((stream) => {
      setFields(fieldsOf(stream))
      setOriginal(fieldsOf(stream))
    }, setError)
  }, [id])

  if (!canOperate(session)) return <p class="error">Role "{session.role}" may not change streams.</p>

  const set = (name: keyof Fields) => (event: Event) => setFields({ ...fields, [name]: (event.currentTarget as HTMLInputElement).value })
  const submit = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    try {
      const streamId = editing ? id : fields.id.trim()
      const action = editing ? 'update' : 'create'
      await postJson(`/api/state/streams/v1/${enc(streamId)}/${action}`, bodyOf(fields, editing ? original : undefined))
      location.hash = `#/streams/${enc(streamId)}`
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <div class="page">
      <div class="page-head">
        <a href="#/streams" class="muted">
          Streams
        </a>
        <span class="muted">/</span>
        <h1>{editing ? `edit ${id}` : 'add stream'}</h1>
      </div>
      <form class="card form stream-form" onSubmit={submit}>
        <label>
          id
          <input name="id" required disabled={editing} value={fields.id} onInput={set('id')} placeholder="news-1" />
        </label>
        <label class="wide">
          URL
          <input name="url" required value={fields.url} onInput={set('url')} placeholder="https://cdn.example.com/live/index.m3u8" />
        </label>
        <label>
          monitoring
          <select name="desired_state" value={fields.desired} onChange={set('desired')}>
            <option value="up">up</option>
            <option value="down">paused (down)</option>
          </select>
        </label>
        <label>
          probe interval (s)
          <input name="interval_s" type="number" min="2" max="3600" value={fields.interval} onInput={set('interval')} placeholder="default" />
        </label>
        <label>
          sample length (s)
          <input name="sample_s" type="number" min="1" max="60" value={fields.sample} onInput={set('sample')} placeholder="default" />
        </label>
        <label>
          timeout (s)
          <input name="timeout_s" type="number" min="1" max="120" value={fields.timeout} onInput={set('timeout')} placeholder="default" />
        </label>
        <label class="wide">
          labels
          <input name="labels" value={fields.labels} onInput={set('labels')} placeholder="region=eu, tier=gold" />
        </label>
        <label class="wide">
          required agent labels
          <input name="required_labels" value={fields.required} onInput={set('required')} placeholder="region=eu-west" />
        </label>
        <label>
          weight
          <input name="weight" type="number" min="1" max="10000" value={fields.weight} onInput={set('weight')} placeholder="1" />
        </label>
        <label>
          pinned agent
          <input name="pinned_agent_id" value={fields.pinned} onInput={set('pinned')} placeholder="none" />
        </label>
        <ErrorMessage error={error} class="wide" />
        <div class="wide actions">
          <button type="submit" class="primary" disabled={busy}>
            {editing ? 'save' : 'create'}
          </button>
          <a class="button" href={editing ? `#/streams/${enc(id)}` : '#/streams'}>
            cancel
          </a>
        </div>
      </form>
    </div>
  )
}
