import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { ControllerContext } from '../context.ts'
import type { Agent, AgentAssignment } from '../repository/index.ts'
import { Access } from '../auth/roles.ts'
import Type from 'typebox'
import { AgentInUse, AgentNotFound } from '../errors.ts'
import { AgentDetail, AgentIdParams, AgentList, ErrorBody } from './schemas.ts'

const base = '/api/agents/v1'

const errors = { 400: ErrorBody, 404: ErrorBody }

/** Reasons an agent cannot be deleted, each with what to do about it. */
const KEPT = {
  connected: 'is connected; stop it first',
  assigned: 'still has assignments; wait for --reassign-grace to move its streams, or drain it',
} as const

/** Registers the agent routes: list, one agent, drain, undrain and delete. */
export async function agentRoutes(app: FastifyInstance, context: ControllerContext): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { repository, scheduler, hub } = context

  const view = (agent: Agent, assignments: readonly AgentAssignment[]) => ({
    ...agent,
    // The hub is the live source of truth for this controller's connections.
    connected: hub.session(agent.id) !== undefined,
    load: assignments.reduce((sum, assignment) => sum + assignment.weight, 0),
    streams: [...new Set(assignments.map((assignment) => assignment.stream_id))],
  })

  const detail = async (id: string) => {
    const agent = await repository.getAgent(id)
    if (agent === undefined) throw new AgentNotFound(id)
    const assignments = await repository.listAgentAssignments(id)
    return { ...view(agent, assignments), assignments }
  }

  api.get(base, { config: { access: Access.read }, schema: { response: { 200: AgentList } } }, async () => {
    const [agents, assignments] = await Promise.all([repository.listAgents(), repository.listAssignments()])
    const byAgent = new Map<string, AgentAssignment[]>()
    for (const assignment of assignments) {
      const list = byAgent.get(assignment.agent_id)
      if (list === undefined) byAgent.set(assignment.agent_id, [assignment])
      else list.push(assignment)
    }
    return { agents: agents.map((agent) => view(agent, byAgent.get(agent.id) ?? [])) }
  })

  api.get(
    `${base}/:id`,
    { config: { access: Access.read }, schema: { params: AgentIdParams, response: { 200: AgentDetail, ...errors } } },
    async (request) => detail(request.params.id),
  )

  for (const action of ['drain', 'undrain'] as const) {
    api.post(
      `${base}/:id/${action}`,
      { config: { access: Access.operate }, schema: { params: AgentIdParams, response: { 200: AgentDetail, ...errors } } },
      async (request) => {
        const { id } = request.params
        const draining = action === 'drain'
        if (!(await repository.setAgentDraining(id, draining))) throw new AgentNotFound(id)
        request.log.info({ agent_id: id, draining }, draining ? 'agent draining' : 'agent no longer draining')
        await scheduler.reconcile()
        return detail(id)
      },
    )
  }

  api.delete(
    `${base}/:id/delete`,
    {
      config: { access: Access.operate },
      schema: { params: AgentIdParams, response: { 200: Type.Object({ id: Type.String(), deleted: Type.Boolean() }), 409: ErrorBody, ...errors } },
    },
    async (request) => {
      const { id } = request.params
      // The stored flag covers agents connected to other controllers; the hub covers this one's right now.
      const outcome = hub.session(id) !== undefined ? 'connected' : await repository.deleteAgent(id)
      if (outcome === 'not_found') throw new AgentNotFound(id)
      if (outcome !== 'deleted') throw new AgentInUse(id, KEPT[outcome])
      request.log.info({ agent_id: id }, 'agent deleted')
      return { id, deleted: true }
    },
  )
}
