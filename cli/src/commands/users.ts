// monit users: list, show, create, update and delete API users.
import { usageError } from '../client.ts'
import { formatRecord, print, printJson, text, type Column } from '../output.ts'
import {
  connect,
  dispatch,
  expectPositionals,
  parseFlags,
  positional,
  readPassword,
  deleteAction,
  listAction,
  type Action,
  type Command,
} from './shared.ts'

const base = '/api/config/user/v1'

interface User {
  id: string
  role: string
  settings: { time_zone?: string; default_streams?: string[] }
  created_at: string
  updated_at: string
  last_login_at: string | null
}

const columns: Column<User>[] = [
  { header: 'id', value: (user) => user.id },
  { header: 'role', value: (user) => user.role },
  { header: 'last login', value: (user) => text(user.last_login_at) },
  { header: 'created', value: (user) => user.created_at },
]

function printUser(json: boolean, user: unknown): void {
  if (json) {
    printJson(user)
    return
  }
  const fields = user as User
  print(
    formatRecord([
      ['id', fields.id],
      ['role', fields.role],
      ['time zone', text(fields.settings.time_zone)],
      ['default streams', text(fields.settings.default_streams?.join(','))],
      ['last login', text(fields.last_login_at)],
      ['created', fields.created_at],
      ['updated', fields.updated_at],
    ]),
  )
}

const createHelp = `Flags:
  --role R            admin, operator or viewer
  --password-stdin    read the password from stdin; without it, from MONIT_PASSWORD`

const updateHelp = `Flags:
  --role R            new role: admin, operator or viewer (admins only)
  --password-stdin    set a new password, read from stdin`

const userFlags = {
  role: { type: 'string' },
  'password-stdin': { type: 'boolean' },
} as const

const list = listAction<User>('users list', 'list users and their roles (admin only)', base, 'users', columns)

const show: Action = {
  usage: 'users show ID',
  summary: 'print one user (admins, or the user itself)',
  async run(args, usage) {
    const { values, positionals } = parseFlags(args, {}, 'users show')
    const id = positional(positionals, 0, 'ID', usage)
    expectPositionals(positionals, 1, usage)
    const client = await connect(values.controller)
    printUser(values.json ?? false, await client.request('GET', `${base}/${encodeURIComponent(id)}`))
  },
}

const create: Action = {
  usage: 'users create ID --role R [--password-stdin]',
  summary: 'create a user with a role and password (admin only)',
  details: createHelp,
  async run(args, usage) {
    const { values, positionals } = parseFlags(args, userFlags, 'users create')
    const id = positional(positionals, 0, 'ID', usage)
    expectPositionals(positionals, 1, usage)
    if (values.role === undefined) throw usageError(`missing --role; usage: monit ${usage}`)
    const password = await readPassword(values['password-stdin'], 'users create')
    const client = await connect(values.controller)
    const body = { role: values.role, password }
    printUser(values.json ?? false, await client.request('POST', `${base}/${encodeURIComponent(id)}/create`, body))
  },
}

const update: Action = {
  usage: 'users update ID [--role R] [--password-stdin]',
  summary: "change a user's role (admin only) or password",
  details: updateHelp,
  async run(args, usage) {
    const { values, positionals } = parseFlags(args, userFlags, 'users update')
    const id = positional(positionals, 0, 'ID', usage)
    expectPositionals(positionals, 1, usage)
    const body: Record<string, string> = {}
    if (values.role !== undefined) body.role = values.role
    // Only an explicit flag changes the password, so a MONIT_PASSWORD left set for login never does.
    if (values['password-stdin']) body.password = await readPassword(true, 'users update')
    if (Object.keys(body).length === 0) throw usageError(`nothing to change; give --role or --password-stdin`)
    const client = await connect(values.controller)
    printUser(values.json ?? false, await client.request('POST', `${base}/${encodeURIComponent(id)}/update`, body))
  },
}

const remove = deleteAction('users delete', 'delete a user (admin only); the last admin cannot be deleted', base, 'deleted user')

export const usersCommand: Command = {
  name: 'users',
  summary: 'list and change API users',
  run: (args) => dispatch('users', 'List and change API users.', { list, show, create, update, delete: remove }, args),
}
