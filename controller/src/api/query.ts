import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { ControllerContext } from '../context.ts'
import { Access } from '../auth/roles.ts'
import { ErrorBody, MetricsQuery, MetricsSeries } from './schemas.ts'
import { parseRange } from './time-range.ts'

interface MetricsRecord {
  ts_ms: string | number
  agent_id: string
  bitrate: number
  frames: number
  width: number
  height: number
  fps: number
  bytes: string | number
  seconds: number
  keyframe_interval: number
  codecs: string
  probe_duration_ms: number
}

/** Registers the time-series queries. */
export async function queryRoutes(app: FastifyInstance, context: ControllerContext): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { storage } = context
  const table = storage.table('metrics')

  api.get(
    '/api/query/metrics/v1',
    {
      config: { access: Access.read },
      schema: { querystring: MetricsQuery, response: { 200: MetricsSeries, 400: ErrorBody } },
    },
    async (request) => {
      const { stream_id: streamId, limit = 10000 } = request.query
      const { from, to } = parseRange(request.query)

      const rows = await storage.query<MetricsRecord>(
        `SELECT toUnixTimestamp64Milli(insert_ts) AS ts_ms, agent_id, bitrate, frames, width, height, fps,
                bytes, seconds, keyframe_interval, codecs, probe_duration_ms
         FROM ${table}
         WHERE stream_id = {stream_id:String}
           AND insert_ts >= fromUnixTimestamp64Milli({from_ms:Int64})
           AND insert_ts < fromUnixTimestamp64Milli({to_ms:Int64})
         ORDER BY insert_ts
         LIMIT {limit:UInt32}`,
        { stream_id: streamId, from_ms: from.getTime(), to_ms: to.getTime(), limit },
      )

      return {
        stream_id: streamId,
        from: from.toISOString(),
        to: to.toISOString(),
        rows: rows.map(({ ts_ms, bytes, ...row }) => ({
          ...row,
          ts: new Date(Number(ts_ms)).toISOString(),
          bytes: Number(bytes),
        })),
      }
    },
  )
}
