import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { ControllerContext } from '../context.ts'
import { Forbidden, InvalidField, LastAdmin, UserExists, UserNotFound } from '../errors.ts'
import type { AuthUser } from '../auth/plugin.ts'
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../auth/passwords.ts'
import { Access, Role, ROLES } from '../auth/roles.ts'
import {
  DuplicateUserError,
  LastAdminError,
  UserNotFoundError,
  type User,
  type UserPatch,
  type UserSettings,
} from '../repository/index.ts'
import { ErrorBody } from './schemas.ts'

const base = '/api/config/user/v1'

const UserIdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' }),
})

const RoleField = Type.Enum([...ROLES])
const Password = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH })

const Settings = Type.Object(
  {
    /** IANA time zone name. */
    time_zone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** Stream ids, which need not exist. */
    default_streams: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' }), {
        maxItems: 100,
        uniqueItems: true,
      }),
    ),
  },
  { additionalProperties: false },
)

const UserCreateBody = Type.Object(
  { password: Password, role: RoleField, settings: Type.Optional(Settings) },
  { additionalProperties: false },
)

const UserUpdateBody = Type.Object(
  { password: Type.Optional(Password), role: Type.Optional(RoleField), settings: Type.Optional(Settings) },
  { additionalProperties: false },
)

const UserView = Type.Object({
  id: Type.String(),
  role: RoleField,
  settings: Type.Object({
    time_zone: Type.Optional(Type.String()),
    default_streams: Type.Optional(Type.Array(Type.String())),
  }),
  created_at: Type.String(),
  updated_at: Type.String(),
  last_login_at: Type.Union([Type.String(), Type.Null()]),
})

const UserList = Type.Object({ users: Type.Array(UserView) })

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody }

/** Checks the time zone and returns the settings with its canonical name (europe/paris: Europe/Paris). */
function normalizeSettings(settings: UserSettings): UserSettings {
  if (settings.time_zone === undefined) return settings
  let timeZone: string
  try {
    timeZone = new Intl.DateTimeFormat('en-US', { timeZone: settings.time_zone }).resolvedOptions().timeZone
  } catch {
    throw new InvalidField('body/settings/time_zone', `"${settings.time_zone}" is not an IANA time zone such as Europe/Paris`)
  }
  return { ...settings, time_zone: timeZone }
}

/** Returns the user the access hook found. Every route here has a role rule, so there is one. */
function caller(request: FastifyRequest): AuthUser {
  if (request.user === null) throw new Error('access hook did not set request.user')
  return request.user
}

/** Turns repository errors into API errors. */
function rethrow(id: string, err: unknown): never {
  if (err instanceof UserNotFoundError) throw new UserNotFound(id)
  if (err instanceof DuplicateUserError) throw new UserExists(id)
  if (err instanceof LastAdminError) throw new LastAdmin(id)
  throw err
}

/**
 * Registers the user routes. Admins may do everything, and any signed-in
 * user may read their own account and change their own password and settings.
 */
export async function userRoutes(app: FastifyInstance, context: ControllerContext): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { users } = context.repository

  const load = async (id: string): Promise<User> => {
    const user = await users.get(id)
    if (user === undefined) throw new UserNotFound(id)
    return user
  }

  api.get(base, { config: { access: Access.admin }, schema: { response: { 200: UserList, ...errors } } }, async () => {
    return { users: await users.list() }
  })

  api.get(
    `${base}/:id`,
    { config: { access: Access.adminOrSelf }, schema: { params: UserIdParams, response: { 200: UserView, ...errors } } },
    async (request) => load(request.params.id),
  )

  api.post(
    `${base}/:id/create`,
    {
      config: { access: Access.admin },
      schema: { params: UserIdParams, body: UserCreateBody, response: { 201: UserView, ...errors } },
    },
    async (request, reply) => {
      const { id } = request.params
      const settings = normalizeSettings(request.body.settings ?? {})
      // Checked before hashing, which takes a noticeable fraction of a second.
      if ((await users.get(id)) !== undefined) throw new UserExists(id)

      const passwordHash = await hashPassword(request.body.password)
      const user = await users.create({ id, password_hash: passwordHash, role: request.body.role, settings }).catch((err) => rethrow(id, err))
      request.log.info({ user_id: id, role: user.role, by: caller(request).id }, 'user created')
      reply.code(201)
      return user
    },
  )

  api.post(
    `${base}/:id/update`,
    {
      config: { access: Access.adminOrSelf },
      schema: { params: UserIdParams, body: UserUpdateBody, response: { 200: UserView, ...errors } },
    },
    async (request) => {
      const { id } = request.params
      const { password, role, settings } = request.body
      const by = caller(request)
      if (password === undefined && role === undefined && settings === undefined) {
        throw new InvalidField('body', 'give at least one of password, role, settings')
      }
      if (role !== undefined && by.role !== Role.admin) {
        throw new Forbidden('body/role: only an admin may change a role')
      }

      const patch: UserPatch = {}
      if (settings !== undefined) patch.settings = normalizeSettings(settings)
      if (role !== undefined) patch.role = role
      await load(id)
      if (password !== undefined) patch.password_hash = await hashPassword(password)

      const user = await users.update(id, patch).catch((err) => rethrow(id, err))
      request.log.info({ user_id: id, by: by.id, fields: Object.keys(request.body) }, 'user updated')
      return user
    },
  )

  api.delete(
    `${base}/:id/delete`,
    {
      config: { access: Access.admin },
      schema: {
        params: UserIdParams,
        response: { 200: Type.Object({ id: Type.String(), deleted: Type.Boolean() }), ...errors },
      },
    },
    async (request) => {
      const { id } = request.params
      const deleted = await users.delete(id).catch((err) => rethrow(id, err))
      if (!deleted) throw new UserNotFound(id)
      request.log.info({ user_id: id, by: caller(request).id }, 'user deleted')
      return { id, deleted: true }
    },
  )
}
