// GET /api/query/av/v1: the picture and sound check rows of streams over a
// time range, with the query conventions of the other /api/query routes.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { ControllerContext } from '../context.ts'
import { Access } from '../auth/roles.ts'
import { readAvCheckRows } from '../query/av-checks.ts'
import { resolveWindow, splitListParameter } from '../query/window.ts'
import { DEFAULT_ROW_LIMIT, MAX_ROW_LIMIT, RangeQuery } from './query-schemas.ts'
import { ErrorBody } from './schemas.ts'

const AvQuery = Type.Object(
  {
    ...RangeQuery.properties,
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_ROW_LIMIT, description: `Most rows returned. Default ${DEFAULT_ROW_LIMIT}.` }),
    ),
  },
  { additionalProperties: false },
)

const Spans = Type.Array(Type.Array(Type.Number()), { description: '[start_s, end_s] from the start of the decoded window.' })
const Level = Type.Union([Type.Number(), Type.Null()])

const AvRow = Type.Object({
  stream_id: Type.String(),
  ts: Type.String({ description: 'End of the check.' }),
  agent_id: Type.String(),
  sample_s: Type.Number(),
  decoded_s: Type.Number(),
  video: Type.Boolean(),
  audio: Type.Boolean(),
  black_s: Type.Number(),
  freeze_s: Type.Number(),
  silence_s: Type.Number(),
  periods: Type.Object({ black: Spans, freeze: Spans, silence: Spans }),
  integrated_lufs: Level,
  true_peak_dbtp: Level,
  lra: Level,
  error: Type.String({ description: 'Why the check failed; empty when it worked.' }),
})

const AvResponse = Type.Object({
  stream_ids: Type.Array(Type.String()),
  from: Type.String(),
  to: Type.String(),
  rows: Type.Array(AvRow),
  truncated: Type.Boolean(),
})

/** Turns `stream_id=a,b&stream_id=c` into a list before the schema checks each id. */
async function splitStreamIds(request: FastifyRequest): Promise<void> {
  const query = request.query as Record<string, unknown>
  if (query.stream_id !== undefined) query.stream_id = splitListParameter(query.stream_id)
}

/** Registers GET /api/query/av/v1. */
export async function avCheckRoutes(app: FastifyInstance, context: ControllerContext): Promise<void> {
  app.addHook('preValidation', splitStreamIds)
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { storage } = context

  api.get(
    '/api/query/av/v1',
    {
      config: { access: Access.read },
      schema: {
        summary: 'Picture and sound check rows',
        tags: ['query'],
        querystring: AvQuery,
        response: { 200: AvResponse, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async (request) => {
      const window = resolveWindow(request.query)
      const { rows, truncated } = await readAvCheckRows(storage, window, request.query.limit ?? DEFAULT_ROW_LIMIT)
      return { stream_ids: [...window.streamIds], from: window.from.toISOString(), to: window.to.toISOString(), rows, truncated }
    },
  )
}
