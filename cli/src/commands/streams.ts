// monit streams: list, show, create, update, up, down and delete streams.
import { usageError, type ApiClient } from '../client.ts'
import { formatRecord, labelsText, print, printJson, text, type Column } from '../output.ts'
import {
  connect,
  dispatch,
  expectPositionals,
  parseFlags,
  parseInteger,
  parsePairs,
  positional,
  listAction,
  type Action,
  type Command,
} from './shared.ts'

const base = '/api/state/streams/v1'

/** The stream fields that the tables use. With --json the CLI prints the whole API object. */
interface Stream {
  id: string
  url: string
  desired_state: string
  status: string | null
  status_reason: string | null
  agent_id: string | null
  unassigned_reason: string | null
  weight: number
  pinned_agent_id: string | null
  labels: Record<string, string>
  required_labels: Record<string, string>
  probe: {
    interval_s: number
    sample_s: number
    timeout_s: number
    av_interval_s?: number
    av_sample_s?: number
    screenshot_interval_s?: number
    page_url?: string
    page_interval_s?: number
    min_bitrate?: number
  }
  assignments: { agent_id: string; slot: string; status: string | null }[]
  created_at: string
  updated_at: string
}

const columns: Column<Stream>[] = [
  { header: 'id', value: (stream) => stream.id },
  { header: 'desired', value: (stream) => stream.desired_state },
  { header: 'status', value: (stream) => text(stream.status) },
  { header: 'agent', value: (stream) => text(stream.agent_id) },
  { header: 'weight', value: (stream) => String(stream.weight) },
  { header: 'url', value: (stream) => stream.url },
]

function printStream(stream: Stream): void {
  const probe = stream.probe
  const agents = stream.assignments.map((assignment) => assignment.agent_id).join(',')
  print(
    formatRecord([
      ['id', stream.id],
      ['url', stream.url],
      ['desired state', stream.desired_state],
      ['status', `${text(stream.status)}${stream.status_reason ? ` (${stream.status_reason})` : ''}`],
      ['agents', text(agents)],
      ['unassigned', text(stream.unassigned_reason)],
      ['probe', `every ${probe.interval_s} s, sample ${probe.sample_s} s, timeout ${probe.timeout_s} s`],
      ['av check', checkText(probe.av_interval_s, probe.av_sample_s === undefined ? '' : `, sample ${probe.av_sample_s} s`)],
      ['screenshots', checkText(probe.screenshot_interval_s, '')],
      ['player page', probe.page_url === undefined ? '-' : `${probe.page_url} (${checkText(probe.page_interval_s, '')})`],
      ['min bitrate', probe.min_bitrate === undefined ? '-' : `${probe.min_bitrate} bit/s`],
      ['weight', String(stream.weight)],
      ['pinned agent', text(stream.pinned_agent_id)],
      ['labels', labelsText(stream.labels)],
      ['required labels', labelsText(stream.required_labels)],
      ['created', stream.created_at],
      ['updated', stream.updated_at],
    ]),
  )
}

/** Describes a check's interval setting: unset (agent default), off, or every N s. */
function checkText(intervalS: number | undefined, extra: string): string {
  if (intervalS === undefined) return `agent default${extra}`
  if (intervalS === 0) return 'off'
  return `every ${intervalS} s${extra}`
}

const streamFlags = {
  url: { type: 'string' },
  label: { type: 'string', multiple: true },
  interval: { type: 'string' },
  sample: { type: 'string' },
  timeout: { type: 'string' },
  require: { type: 'string', multiple: true },
  weight: { type: 'string' },
  pin: { type: 'string' },
  'av-interval': { type: 'string' },
  'av-sample': { type: 'string' },
  'screenshot-interval': { type: 'string' },
  'page-url': { type: 'string' },
  'page-interval': { type: 'string' },
  'min-bitrate': { type: 'string' },
} as const

const streamFlagHelp = `Flags:
  --url URL        stream URL: http, https, rtmp, rtmps, srt, udp or rtp
  --label k=v      label of the stream; repeat for more (on update, replaces all labels)
  --interval S     seconds between probes (2 to 3600)
  --sample S       seconds of each probe's sample window (1 to 60, shorter than the interval)
  --timeout S      seconds before a probe times out (1 to 120)
  --require k=v    agent label the stream requires; repeat for more (on update, replaces all)
  --weight N       load units the stream puts on an agent (1 to 10000)
  --pin AGENT      run only on this agent; on update, --pin '' removes the pin
  --av-interval S  seconds between picture and sound checks (0 turns them off, up to 86400)
  --av-sample S    seconds of media each picture and sound check decodes (1 to 120)
  --screenshot-interval S
                   seconds between screenshots (0 turns them off, up to 86400)
  --page-url URL   http(s) web player page that the agent loads in headless Chromium
  --page-interval S
                   seconds between player page checks (0 turns them off, up to 86400)
  --min-bitrate N  bit/s below which the stream is degraded as "low bitrate"
The check flags given as '' on update clear the setting, so the agent's default applies.`

interface StreamFlagValues {
  url?: string
  label?: string[]
  interval?: string
  sample?: string
  timeout?: string
  require?: string[]
  weight?: string
  pin?: string
  'av-interval'?: string
  'av-sample'?: string
  'screenshot-interval'?: string
  'page-url'?: string
  'page-interval'?: string
  'min-bitrate'?: string
}

/** The check settings' flags and the probe fields they set; '' sends null, which clears the setting. */
const CHECK_FLAGS = [
  ['av-interval', 'av_interval_s'],
  ['av-sample', 'av_sample_s'],
  ['screenshot-interval', 'screenshot_interval_s'],
  ['page-interval', 'page_interval_s'],
  ['min-bitrate', 'min_bitrate'],
] as const

/** Builds the create or update body from the flags, leaving out the ones not given. */
function streamBody(values: StreamFlagValues): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  if (values.url !== undefined) body.url = values.url
  const labels = parsePairs(values.label, 'label')
  if (labels !== undefined) body.labels = labels
  const required = parsePairs(values.require, 'require')
  if (required !== undefined) body.required_labels = required
  const weight = parseInteger(values.weight, 'weight')
  if (weight !== undefined) body.weight = weight
  if (values.pin !== undefined) body.pinned_agent_id = values.pin === '' ? null : values.pin

  const probe: Record<string, number | string | null> = {}
  for (const [flag, field] of CHECK_FLAGS) {
    const value = values[flag]
    if (value !== undefined) probe[field] = value === '' ? null : parseInteger(value, flag)!
  }
  const pageUrl = values['page-url']
  if (pageUrl !== undefined) probe.page_url = pageUrl === '' ? null : pageUrl
  const interval = parseInteger(values.interval, 'interval')
  const sample = parseInteger(values.sample, 'sample')
  const timeout = parseInteger(values.timeout, 'timeout')
  if (interval !== undefined) probe.interval_s = interval
  if (sample !== undefined) probe.sample_s = sample
  if (timeout !== undefined) probe.timeout_s = timeout
  if (Object.keys(probe).length > 0) body.probe = probe
  return body
}

/** Prints the API's JSON with --json, else the stream as key: value lines. */
function show(json: boolean, stream: unknown): void {
  if (json) printJson(stream)
  else printStream(stream as Stream)
}

/** Parses `ID` and the global flags and connects, for the actions that take only an id. */
async function idAction(args: string[], usage: string, name: string): Promise<{ id: string; json: boolean; client: ApiClient }> {
  const { values, positionals } = parseFlags(args, {}, name)
  const id = positional(positionals, 0, 'ID', usage)
  expectPositionals(positionals, 1, usage)
  return { id, json: values.json ?? false, client: await connect(values.controller) }
}

const list = listAction<Stream>('streams list', 'list streams with their desired state, status and agent', base, 'streams', columns)

const showAction: Action = {
  usage: 'streams show ID',
  summary: 'print one stream',
  async run(args, usage) {
    const { id, json, client } = await idAction(args, usage, 'streams show')
    show(json, await client.request('GET', `${base}/${encodeURIComponent(id)}`))
  },
}

const create: Action = {
  usage: 'streams create ID --url URL [flags]',
  summary: 'create a stream, monitored from now on',
  details: streamFlagHelp,
  async run(args, usage) {
    const { values, positionals } = parseFlags(args, streamFlags, 'streams create')
    const id = positional(positionals, 0, 'ID', usage)
    expectPositionals(positionals, 1, usage)
    if (values.url === undefined) throw usageError(`missing --url; usage: monit ${usage}`)
    const body = streamBody(values)
    const client = await connect(values.controller)
    show(values.json ?? false, await client.request('POST', `${base}/${encodeURIComponent(id)}/create`, body))
  },
}

const update: Action = {
  usage: 'streams update ID [flags]',
  summary: 'change the given fields of a stream',
  details: streamFlagHelp,
  async run(args, usage) {
    const { values, positionals } = parseFlags(args, streamFlags, 'streams update')
    const id = positional(positionals, 0, 'ID', usage)
    expectPositionals(positionals, 1, usage)
    const body = streamBody(values)
    if (Object.keys(body).length === 0) {
      throw usageError(`nothing to change; give at least one flag, see monit streams update --help`)
    }
    const client = await connect(values.controller)
    show(values.json ?? false, await client.request('POST', `${base}/${encodeURIComponent(id)}/update`, body))
  },
}

function stateAction(state: 'up' | 'down'): Action {
  return {
    usage: `streams ${state} ID`,
    summary: state === 'up' ? 'start monitoring a stream' : 'pause monitoring a stream',
    async run(args, usage) {
      const { id, json, client } = await idAction(args, usage, `streams ${state}`)
      show(json, await client.request('POST', `${base}/${encodeURIComponent(id)}/${state}`))
    },
  }
}

const remove: Action = {
  usage: 'streams delete ID',
  summary: 'delete a stream and stop monitoring it',
  async run(args, usage) {
    const { id, json, client } = await idAction(args, usage, 'streams delete')
    const result = await client.request('DELETE', `${base}/${encodeURIComponent(id)}/delete`)
    if (json) printJson(result)
    else print(`deleted stream ${id}\n`)
  },
}

const actions: Record<string, Action> = {
  list,
  show: showAction,
  create,
  update,
  up: stateAction('up'),
  down: stateAction('down'),
  delete: remove,
}

export const streamsCommand: Command = {
  name: 'streams',
  summary: 'list and change monitored streams',
  run: (args) => dispatch('streams', 'List and change monitored streams.', actions, args),
}
