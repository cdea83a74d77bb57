// monit tokens: create, list and revoke agent tokens (admin only).
import { print, printJson, text, type Column } from '../output.ts'
import { connect, dispatch, expectPositionals, parseFlags, positional, type Action, type Command, deleteAction, listAction } from './shared.ts'

const base = '/api/config/agent-tokens/v1'

interface AgentToken {
  id: string
  name: string
  created_at: string
  last_used_at: string | null
  revoked_at: string | null
}

const columns: Column<AgentToken>[] = [
  { header: 'id', value: (token) => token.id },
  { header: 'name', value: (token) => token.name },
  { header: 'status', value: (token) => (token.revoked_at === null ? 'active' : 'revoked') },
  { header: 'created', value: (token) => token.created_at },
  { header: 'last used', value: (token) => text(token.last_used_at) },
  { header: 'revoked', value: (token) => text(token.revoked_at) },
]

const create: Action = {
  usage: 'tokens create NAME',
  summary: 'create an agent token and print it; the controller shows it this once only',
  async run(args, usage) {
    const { values, positionals } = parseFlags(args, {}, 'tokens create')
    const name = positional(positionals, 0, 'NAME', usage)
    expectPositionals(positionals, 1, usage)
    const client = await connect(values.controller)
    const created = (await client.request('POST', `${base}/${encodeURIComponent(name)}/create`)) as AgentToken & {
      token: string
    }
    if (values.json) {
      printJson(created)
      return
    }
    // The token alone on stdout, so that `monit tokens create edge-1 > token` stores just the token.
    print(`${created.token}\n`)
    process.stderr.write(`created agent token ${created.id} (${created.name}); store it now, it is not shown again\n`)
  },
}

const list = listAction<AgentToken>('tokens list', 'list agent tokens, without their secrets', base, 'tokens', columns)

const revoke = deleteAction(
  'tokens revoke',
  'revoke an agent token; the controller disconnects agents using it within its --token-recheck seconds',
  base,
  'revoked agent token',
)

export const tokensCommand: Command = {
  name: 'tokens',
  summary: 'create, list and revoke agent tokens',
  run: (args) => dispatch('tokens', 'Create, list and revoke agent tokens (admin only).', { create, list, revoke }, args),
}
