import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { DuplicateUserError, type UserStore } from '../repository/index.ts'
import { hashPassword } from './passwords.ts'
import { Role } from './roles.ts'

export const FIRST_ADMIN_ID = 'admin'

/**
 * Creates the user `admin` when the users table is empty, with the
 * configured password or a random one. A random password is printed once to
 * stdout, never to the log. Returns whether this call created the user.
 */
export async function ensureFirstAdmin(
  users: UserStore,
  configuredPassword: string | undefined,
  logger: Logger,
  print: (text: string) => void = (text) => process.stdout.write(text),
): Promise<boolean> {
  if ((await users.count()) > 0) {
    if (configuredPassword !== undefined) {
      logger.info('users exist, so the admin password setting is not used')
    }
    return false
  }

  const password = configuredPassword ?? randomBytes(18).toString('base64url')
  try {
    await users.create({ id: FIRST_ADMIN_ID, password_hash: await hashPassword(password), role: Role.admin })
  } catch (err) {
    // Another controller on the same database created it first.
    if (err instanceof DuplicateUserError) return false
    throw err
  }

  const source = configuredPassword === undefined ? 'random' : 'configured'
  logger.info({ user_id: FIRST_ADMIN_ID, password_source: source }, 'created the first admin user')
  if (configuredPassword === undefined) {
    print(
      `\nCreated the API user "${FIRST_ADMIN_ID}" with the password\n\n    ${password}\n\n` +
        'It is shown only this once. Log in with POST /api/auth/jwt/v1 and change it with\n' +
        `POST /api/config/user/v1/${FIRST_ADMIN_ID}/update.\n\n`,
    )
  }
  return true
}
