// Alert channels and rules under /api/config/alerts/v1 (admins write, every
// role reads), and the alerts with their deliveries under /api/query/alerts/v1.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { ControllerContext } from '../context.ts'
import { Access } from '../auth/roles.ts'
import {
  AlertChannelExists,
  AlertChannelInUse,
  AlertChannelNotFound,
  AlertChannelTestFailed,
  AlertNotFound,
  AlertRuleExists,
  AlertRuleNotFound,
  InvalidField,
} from '../errors.ts'
import {
  ChannelConfigError,
  maskChannel,
  mergeChannelConfig,
  parseChannelConfig,
} from '../alerts/channels.ts'
import { compileReasonPattern } from '../alerts/rules.ts'
import type { AlertService } from '../alerts/service.ts'
import {
  AlertStatus,
  type AlertChannel,
  type AlertRule,
  type ChannelSettings,
  type ChannelType,
} from '../alerts/types.ts'
import { DuplicateAlertObjectError, type AlertStore, type RuleInput } from '../repository/alerts.ts'
import { splitListParameter } from '../query/window.ts'
import { parseRange } from './time-range.ts'
import { ErrorBody } from './schemas.ts'
import {
  AlertIdParams,
  AlertsQuery,
  AlertsResponse,
  AlertView,
  ChannelCreateBody,
  ChannelList,
  ChannelTestResult,
  ChannelUpdateBody,
  ChannelView,
  DEFAULT_ALERT_LIMIT,
  DEFAULT_ALERT_SPAN_MS,
  DeletedView,
  IdParams,
  RuleCreateBody,
  RuleList,
  RuleUpdateBody,
  RuleView,
} from './alert-schemas.ts'

const channelsPath = '/api/config/alerts/v1/channels'
const rulesPath = '/api/config/alerts/v1/rules'
const alertsPath = '/api/query/alerts/v1'

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody }

type RouteAccessRule = (typeof Access)['read' | 'admin']

/** Route options: the access rule, and the schema with the error responses added. */
function routeOptions<S extends { response: object }>(access: RouteAccessRule, schema: S) {
  return { config: { access }, schema: { ...schema, response: { ...schema.response, ...errors } } }
}

/** Checks a channel config against its type, naming the invalid field as body/config/FIELD. */
function parseSettings(type: ChannelType, config: unknown): ChannelSettings {
  try {
    return parseChannelConfig(type, config)
  } catch (error) {
    if (error instanceof ChannelConfigError) {
      throw new InvalidField(`body/config${error.field}`, error.message)
    }
    throw error
  }
}

/** Returns the rule fields after an update: fields left out keep the current value. */
function mergeRule(body: Partial<RuleInput>, current: RuleInput | undefined): RuleInput {
  const keep = <K extends 'stream_ids' | 'labels' | 'reason_pattern'>(field: K): RuleInput[K] | null => {
    const given = body[field]
    return given !== undefined ? given : (current?.[field] ?? null)
  }
  return {
    name: body.name ?? current?.name ?? '',
    enabled: body.enabled ?? current?.enabled ?? true,
    stream_ids: keep('stream_ids'),
    labels: keep('labels'),
    statuses: body.statuses ?? current?.statuses ?? [AlertStatus.down],
    reason_pattern: keep('reason_pattern'),
    for_s: body.for_s ?? current?.for_s ?? 0,
    channels: body.channels ?? current?.channels ?? [],
  }
}

/** Checks what the schema cannot: one scope at most, a valid pattern, and channels that exist. */
async function checkRule(input: RuleInput, store: AlertStore): Promise<void> {
  if (input.stream_ids !== null && input.labels !== null) {
    const message = 'give stream_ids or labels, not both; a rule with neither covers every stream'
    throw new InvalidField('body/labels', message)
  }
  if (input.reason_pattern !== null) {
    try {
      compileReasonPattern(input.reason_pattern)
    } catch (error) {
      throw new InvalidField('body/reason_pattern', `invalid regular expression: ${(error as Error).message}`)
    }
  }
  const known = new Set((await store.listChannels()).map((channel) => channel.id))
  const missing = input.channels.findIndex((id) => !known.has(id))
  if (missing >= 0) {
    const message = `alert channel "${input.channels[missing]}" not found; create it first`
    throw new InvalidField(`body/channels/${missing}`, message)
  }
}

function ruleFields(rule: AlertRule): RuleInput {
  const { id: _id, created_at: _created, updated_at: _updated, ...fields } = rule
  return fields
}

/** Turns `stream_id=a,b&stream_id=c` into ['a', 'b', 'c'] before the schema checks each id. */
async function splitStreamIds(request: FastifyRequest): Promise<void> {
  const query = request.query as Record<string, unknown>
  if (query.stream_id !== undefined) query.stream_id = splitListParameter(query.stream_id)
}

/** Registers the alert channel, rule and query routes. */
export async function alertRoutes(
  app: FastifyInstance,
  context: ControllerContext,
  alerts: AlertService,
): Promise<void> {
  const store = context.repository.alerts
  await channelRoutes(app, store, alerts)
  await ruleRoutes(app, store, alerts)
  await queryRoutes(app, store)
}

async function channelRoutes(app: FastifyInstance, store: AlertStore, alerts: AlertService): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()

  const load = async (id: string): Promise<AlertChannel> => {
    const channel = await store.getChannel(id)
    if (channel === undefined) throw new AlertChannelNotFound(id)
    return channel
  }

  api.get(
    channelsPath,
    routeOptions(Access.read, {
      summary: 'List alert channels, secrets masked',
      response: { 200: ChannelList },
    }),
    async () => ({ channels: (await store.listChannels()).map(maskChannel) }),
  )

  api.get(
    `${channelsPath}/:id`,
    routeOptions(Access.read, {
      summary: 'One alert channel, secrets masked',
      params: IdParams,
      response: { 200: ChannelView },
    }),
    async (request) => maskChannel(await load(request.params.id)),
  )

  api.post(
    `${channelsPath}/:id/create`,
    routeOptions(Access.admin, {
      summary: 'Create an alert channel',
      params: IdParams,
      body: ChannelCreateBody,
      response: { 201: ChannelView },
    }),
    async (request, reply) => {
      const { id } = request.params
      const settings = parseSettings(request.body.type, request.body.config)
      let channel: AlertChannel
      try {
        channel = await store.createChannel(id, { ...settings, name: request.body.name ?? '' })
      } catch (error) {
        if (error instanceof DuplicateAlertObjectError) throw new AlertChannelExists(id)
        throw error
      }
      request.log.info({ channel_id: id, type: channel.type }, 'alert channel created')
      reply.code(201)
      return maskChannel(channel)
    },
  )

  api.post(
    `${channelsPath}/:id/update`,
    routeOptions(Access.admin, {
      summary: 'Change an alert channel',
      params: IdParams,
      body: ChannelUpdateBody,
      response: { 200: ChannelView },
    }),
    async (request) => {
      const { id } = request.params
      const current = await load(id)
      const patch = request.body.config as Record<string, unknown> | undefined
      const config = patch === undefined ? current.config : mergeChannelConfig(current, patch)
      const settings = parseSettings(current.type, config)
      const updated = await store.updateChannel(id, { ...settings, name: request.body.name ?? current.name })
      if (updated === undefined) throw new AlertChannelNotFound(id)
      request.log.info({ channel_id: id, fields: Object.keys(request.body) }, 'alert channel updated')
      return maskChannel(updated)
    },
  )

  api.delete(
    `${channelsPath}/:id/delete`,
    routeOptions(Access.admin, {
      summary: 'Delete an alert channel that no rule uses',
      params: IdParams,
      response: { 200: DeletedView },
    }),
    async (request) => {
      const { id } = request.params
      await load(id)
      const users = await store.rulesUsingChannel(id)
      if (users.length > 0) throw new AlertChannelInUse(id, users.map((rule) => `"${rule}"`).join(', '))
      await store.deleteChannel(id)
      request.log.info({ channel_id: id }, 'alert channel deleted')
      return { id, deleted: true }
    },
  )

  api.post(
    `${channelsPath}/:id/test`,
    routeOptions(Access.admin, {
      summary: 'Send a test notification on the channel',
      params: IdParams,
      response: { 200: ChannelTestResult, 502: ErrorBody },
    }),
    async (request) => {
      const { id } = request.params
      const result = await alerts.testChannel(await load(id))
      if (!result.ok) {
        const parts = [result.error, result.response].filter((part) => part !== null && part !== '')
        const detail = parts.join(': ')
        throw new AlertChannelTestFailed(id, detail)
      }
      return { id, ok: true, http_status: result.httpStatus, response: result.response }
    },
  )
}

async function ruleRoutes(app: FastifyInstance, store: AlertStore, alerts: AlertService): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()

  const load = async (id: string): Promise<AlertRule> => {
    const rule = await store.getRule(id)
    if (rule === undefined) throw new AlertRuleNotFound(id)
    return rule
  }

  api.get(
    rulesPath,
    routeOptions(Access.read, { summary: 'List alert rules', response: { 200: RuleList } }),
    async () => ({ rules: await store.listRules() }),
  )

  api.get(
    `${rulesPath}/:id`,
    routeOptions(Access.read, { summary: 'One alert rule', params: IdParams, response: { 200: RuleView } }),
    async (request) => load(request.params.id),
  )

  api.post(
    `${rulesPath}/:id/create`,
    routeOptions(Access.admin, {
      summary: 'Create an alert rule',
      params: IdParams,
      body: RuleCreateBody,
      response: { 201: RuleView },
    }),
    async (request, reply) => {
      const { id } = request.params
      const input = mergeRule(request.body, undefined)
      await checkRule(input, store)
      let rule: AlertRule
      try {
        rule = await store.createRule(id, input)
      } catch (error) {
        if (error instanceof DuplicateAlertObjectError) throw new AlertRuleExists(id)
        throw error
      }
      await alerts.ruleSaved(rule)
      request.log.info({ rule_id: id }, 'alert rule created')
      reply.code(201)
      return rule
    },
  )

  api.post(
    `${rulesPath}/:id/update`,
    routeOptions(Access.admin, {
      summary: 'Change an alert rule',
      params: IdParams,
      body: RuleUpdateBody,
      response: { 200: RuleView },
    }),
    async (request) => {
      const { id } = request.params
      const input = mergeRule(request.body, ruleFields(await load(id)))
      await checkRule(input, store)
      const rule = await store.updateRule(id, input)
      if (rule === undefined) throw new AlertRuleNotFound(id)
      await alerts.ruleSaved(rule)
      request.log.info({ rule_id: id, fields: Object.keys(request.body) }, 'alert rule updated')
      return rule
    },
  )

  api.delete(
    `${rulesPath}/:id/delete`,
    routeOptions(Access.admin, {
      summary: 'Delete an alert rule and resolve its open alerts',
      params: IdParams,
      response: { 200: DeletedView },
    }),
    async (request) => {
      const { id } = request.params
      await load(id)
      await store.deleteRule(id)
      await alerts.ruleDeleted(id)
      request.log.info({ rule_id: id }, 'alert rule deleted')
      return { id, deleted: true }
    },
  )
}

async function queryRoutes(app: FastifyInstance, store: AlertStore): Promise<void> {
  app.addHook('preValidation', splitStreamIds)
  const api = app.withTypeProvider<TypeBoxTypeProvider>()

  api.get(
    alertsPath,
    routeOptions(Access.read, {
      summary: 'Alerts open during the range, with their deliveries',
      querystring: AlertsQuery,
      response: { 200: AlertsResponse },
    }),
    async (request) => {
      const { stream_id: streamIds, rule_id: ruleId, state, limit = DEFAULT_ALERT_LIMIT } = request.query
      const { from, to } = parseRange(request.query, DEFAULT_ALERT_SPAN_MS)
      const found = await store.queryAlerts({
        ...(streamIds === undefined ? {} : { streamIds }),
        ...(ruleId === undefined ? {} : { ruleId }),
        ...(state === undefined ? {} : { state }),
        fromMs: from.getTime(),
        toMs: to.getTime(),
        limit: limit + 1,
      })
      const range = { from: from.toISOString(), to: to.toISOString() }
      return { ...range, alerts: found.slice(0, limit), truncated: found.length > limit }
    },
  )

  api.get(
    `${alertsPath}/:id`,
    routeOptions(Access.read, {
      summary: 'One alert with its deliveries',
      params: AlertIdParams,
      response: { 200: AlertView },
    }),
    async (request) => {
      const alert = await store.getAlert(request.params.id)
      if (alert === undefined) throw new AlertNotFound(String(request.params.id))
      return alert
    },
  )
}
