// monit login and monit logout: get a JWT from the controller and store it.
import { ApiClient, removeCredentials, saveCredentials, usageError } from '../client.ts'
import { print, printJson } from '../output.ts'
import { controllerOverride, exitCodeHelp, expectPositionals, globalHelp, parseFlags, readPassword, type Command } from './shared.ts'

const loginHelp = `Usage: monit login --controller URL --username USER [--password-stdin]

Logs in and stores the controller URL and token in
\${XDG_CONFIG_HOME:-~/.config}/monit/credentials.json (mode 0600), or in
MONIT_CONFIG_DIR when that is set. The password is read from stdin with
--password-stdin, else from MONIT_PASSWORD; it is never taken from argv.

Flags:
  --username USER   user to log in as
  --password-stdin  read the password from stdin

${globalHelp}

${exitCodeHelp}
`

const logoutHelp = `Usage: monit logout

Deletes the stored credentials. The token stays valid on the controller until it expires.

${exitCodeHelp}
`

export const loginCommand: Command = {
  name: 'login',
  summary: 'log in to a controller and store the token',
  async run(args) {
    const { values, positionals } = parseFlags(args, { username: { type: 'string' }, 'password-stdin': { type: 'boolean' } }, 'login')
    if (values.help) {
      print(loginHelp)
      return
    }
    expectPositionals(positionals, 0, 'login --controller URL --username USER [--password-stdin]')
    const controller = controllerOverride(values.controller)
    if (controller === undefined) throw usageError('missing --controller URL (or MONIT_CONTROLLER)')
    if (values.username === undefined) throw usageError('missing --username USER')
    const password = await readPassword(values['password-stdin'], 'login')

    const client = new ApiClient(controller)
    const body = { username: values.username, password }
    const result = (await client.request('POST', '/api/auth/jwt/v1', body)) as { token: string; expires_at: string }
    const path = await saveCredentials({ controller, token: result.token, expires_at: result.expires_at })
    if (values.json) printJson({ controller, expires_at: result.expires_at, credentials: path })
    else print(`logged in to ${controller} as ${values.username}; token expires at ${result.expires_at}\n`)
  },
}

export const logoutCommand: Command = {
  name: 'logout',
  summary: 'delete the stored token',
  async run(args) {
    const { values, positionals } = parseFlags(args, {}, 'logout')
    if (values.help) {
      print(logoutHelp)
      return
    }
    expectPositionals(positionals, 0, 'logout')
    const removed = await removeCredentials()
    print(removed ? 'logged out\n' : 'not logged in\n')
  },
}
