import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { ControllerContext } from '../context.ts'
import { Access } from '../auth/roles.ts'
import { AgentList } from './schemas.ts'

/** Registers the agent listing. */
export async function agentRoutes(app: FastifyInstance, context: ControllerContext): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { repository, scheduler, hub } = context

  api.get('/api/agents/v1', { config: { access: Access.read }, schema: { response: { 200: AgentList } } }, async () => {
    const agents = await repository.listAgents()
    return {
      agents: agents.map((agent) => ({
        ...agent,
        // The hub is the live source of truth for this controller's connections.
        connected: hub.session(agent.id) !== undefined,
        streams: scheduler.streamsOf(agent.id),
      })),
    }
  })
}
