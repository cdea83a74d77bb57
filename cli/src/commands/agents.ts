// monit agents: list agents, show one, drain, undrain and delete.
import { formatRecord, formatTable, labelsText, print, printJson, text, type Column } from '../output.ts'
import { connect, dispatch, expectPositionals, parseFlags, positional, type Action, type Command, deleteAction, listAction } from './shared.ts'

const base = '/api/agents/v1'

/** The agent fields that the tables use. With --json the CLI prints the whole API object. */
interface Agent {
  id: string
  name: string
  version: string
  labels: Record<string, string>
  capacity: number
  load: number
  connected: boolean
  draining: boolean
  last_seen_at: string | null
  remote_address: string | null
  streams: string[]
  assignments?: { stream_id: string; slot: string; weight: number; status: string | null }[]
}

/** Returns offline, draining or online, in that order of precedence. */
function agentStatus(agent: Agent): string {
  if (!agent.connected) return 'offline'
  return agent.draining ? 'draining' : 'online'
}

const columns: Column<Agent>[] = [
  { header: 'id', value: (agent) => agent.id },
  { header: 'status', value: agentStatus },
  { header: 'load', value: (agent) => `${agent.load}/${agent.capacity}` },
  { header: 'streams', value: (agent) => String(agent.streams.length) },
  { header: 'version', value: (agent) => agent.version },
  { header: 'last seen', value: (agent) => text(agent.last_seen_at) },
  { header: 'labels', value: (agent) => labelsText(agent.labels) },
]

function printAgent(agent: Agent): void {
  print(
    formatRecord([
      ['id', agent.id],
      ['name', agent.name],
      ['status', agentStatus(agent)],
      ['draining', agent.draining ? 'yes' : 'no'],
      ['version', agent.version],
      ['load', `${agent.load} of capacity ${agent.capacity}`],
      ['labels', labelsText(agent.labels)],
      ['last seen', text(agent.last_seen_at)],
      ['address', text(agent.remote_address)],
    ]),
  )
  const assignments = agent.assignments ?? []
  if (assignments.length === 0) return
  print('\n')
  print(
    formatTable(assignments, [
      { header: 'stream', value: (row) => row.stream_id },
      { header: 'slot', value: (row) => text(row.slot) },
      { header: 'weight', value: (row) => String(row.weight) },
      { header: 'status', value: (row) => text(row.status) },
    ]),
  )
}

const list = listAction<Agent>('agents list', 'list agents with their status, load and labels', base, 'agents', columns)

/** An action that takes an agent id and prints the agent the API returns. */
function agentAction(name: string, summary: string, method: 'GET' | 'POST', suffix: string): Action {
  return {
    usage: `agents ${name} ID`,
    summary,
    async run(args, usage) {
      const { values, positionals } = parseFlags(args, {}, `agents ${name}`)
      const id = positional(positionals, 0, 'ID', usage)
      expectPositionals(positionals, 1, usage)
      const client = await connect(values.controller)
      const agent = await client.request(method, `${base}/${encodeURIComponent(id)}${suffix}`)
      if (values.json) printJson(agent)
      else printAgent(agent as Agent)
    },
  }
}

const remove = deleteAction('agents delete', 'remove an agent that is gone for good (disconnected, with no streams left)', base, 'deleted agent')

const actions: Record<string, Action> = {
  list,
  show: agentAction('show', 'print one agent with its assignments', 'GET', ''),
  drain: agentAction('drain', 'stop giving the agent streams and move its streams away', 'POST', '/drain'),
  undrain: agentAction('undrain', 'give the agent streams again', 'POST', '/undrain'),
  delete: remove,
}

export const agentsCommand: Command = {
  name: 'agents',
  summary: 'list, drain, undrain and delete agents',
  run: (args) => dispatch('agents', 'List, drain, undrain and delete agents.', actions, args),
}
