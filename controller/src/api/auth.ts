import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { ControllerContext } from '../context.ts'
import { Unauthorized } from '../errors.ts'
import type { Auth } from '../auth/plugin.ts'
import { hashPassword, MAX_PASSWORD_LENGTH, needsRehash, verifyAgainstDummy, verifyPassword } from '../auth/passwords.ts'
import { Access } from '../auth/roles.ts'
import type { UserCredentials, UserStore } from '../repository/index.ts'
import { ErrorBody } from './schemas.ts'

const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH }),
  },
  { additionalProperties: false },
)

const LoginResponse = Type.Object({
  token: Type.String(),
  /** ISO 8601 time after which the token is rejected. */
  expires_at: Type.String(),
})

/** Returns the user when the password matches. An unknown user takes as long as a known one. */
async function checkPassword(users: UserStore, username: string, password: string): Promise<UserCredentials | undefined> {
  const user = await users.getCredentials(username)
  if (user === undefined) {
    await verifyAgainstDummy(password)
    return undefined
  }
  return (await verifyPassword(password, user.password_hash)) ? user : undefined
}

/** Registers the login route, which exchanges a username and password for a JWT. */
export async function authRoutes(app: FastifyInstance, context: ControllerContext, auth: Auth): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { users } = context.repository

  api.post(
    '/api/auth/jwt/v1',
    {
      config: { access: Access.public, rateLimit: auth.loginRateLimit },
      schema: { body: LoginBody, response: { 200: LoginResponse, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody } },
    },
    async (request) => {
      const { username, password } = request.body
      const user = await checkPassword(users, username, password)
      if (user === undefined) {
        request.log.warn({ username, remote_address: request.ip }, 'login failed')
        throw new Unauthorized('invalid username or password')
      }

      await users.recordLogin(user.id)
      if (needsRehash(user.password_hash)) {
        await users.replacePasswordHash(user.id, await hashPassword(password))
        request.log.info({ user_id: user.id }, 'password hash upgraded to the current scrypt parameters')
      }
      const issued = await auth.jwt.issue(user.id, user.token_version)
      request.log.info({ user_id: user.id, role: user.role, remote_address: request.ip }, 'login succeeded')
      return { token: issued.token, expires_at: issued.expiresAt.toISOString() }
    },
  )
}
