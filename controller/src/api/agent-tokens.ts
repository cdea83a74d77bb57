import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import createError from '@fastify/error'
import Type from 'typebox'
import type { ControllerContext } from '../context.ts'
import { Access } from '../auth/roles.ts'
import { ErrorBody } from './schemas.ts'

const base = '/api/config/agent-tokens/v1'

export const AgentTokenNotFound = createError<[string]>(
  'MONIT_ERR_AGENT_TOKEN_NOT_FOUND',
  'agent token "%s" not found',
  404,
)

// The router keeps one parameter name per path position, and the delete route
// has :id there, so the create route also calls its token name `id`.
const NameParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$', description: 'name of the new token' }),
})

const TokenIdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' }),
})

const NullableString = Type.Union([Type.String(), Type.Null()])

const TokenView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  created_at: Type.String(),
  last_used_at: NullableString,
  revoked_at: NullableString,
})

const NewTokenView = Type.Object({ ...TokenView.properties, token: Type.String() })

const TokenList = Type.Object({ tokens: Type.Array(TokenView) })

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody }

/**
 * Registers the agent token routes for admins. The plaintext token is in the
 * create response only, because the database stores its hash.
 */
export async function agentTokenRoutes(app: FastifyInstance, context: ControllerContext): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { repository } = context

  api.get(base, { config: { access: Access.admin }, schema: { response: { 200: TokenList, ...errors } } }, async () => {
    return { tokens: await repository.listAgentTokens() }
  })

  api.post(
    `${base}/:id/create`,
    { config: { access: Access.admin }, schema: { params: NameParams, response: { 201: NewTokenView, ...errors } } },
    async (request, reply) => {
      const created = await repository.createAgentToken(request.params.id)
      request.log.info({ token_id: created.id, name: created.name, by: request.user?.id }, 'agent token created')
      reply.code(201)
      return created
    },
  )

  api.delete(
    `${base}/:id/delete`,
    {
      config: { access: Access.admin },
      schema: { params: TokenIdParams, response: { 200: Type.Object({ id: Type.String(), revoked: Type.Boolean() }), ...errors } },
    },
    async (request) => {
      const { id } = request.params
      if (!(await repository.revokeAgentToken(id))) throw new AgentTokenNotFound(id)
      request.log.info({ token_id: id, by: request.user?.id }, 'agent token revoked')
      return { id, revoked: true }
    },
  )
}
