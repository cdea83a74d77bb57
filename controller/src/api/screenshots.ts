// Screenshot routes: the latest JPEG of a stream, the list of the ones kept,
// and one of them by its grab time.
import createError from '@fastify/error'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { ControllerContext } from '../context.ts'
import { Access } from '../auth/roles.ts'
import { StreamNotFound } from '../errors.ts'
import type { ScreenshotStore } from '../screenshots/store.ts'
import { ErrorBody, StreamIdParams } from './schemas.ts'

export const ScreenshotNotFound = createError<[string]>('MONIT_ERR_SCREENSHOT_NOT_FOUND', '%s', 404)

const base = '/api/state/streams/v1'

const ScreenshotParams = Type.Object({
  ...StreamIdParams.properties,
  ts: Type.String({ pattern: '^[0-9]{1,15}$' }),
})

const ScreenshotList = Type.Object({
  stream_id: Type.String(),
  screenshots: Type.Array(
    Type.Object({
      /** Grab time as ISO 8601. */
      ts: Type.String(),
      ts_ms: Type.Number(),
      size: Type.Number(),
      url: Type.String(),
    }),
  ),
})

function sendJpeg(reply: FastifyReply, jpeg: Buffer, tsMs: number): FastifyReply {
  return reply
    .type('image/jpeg')
    .header('cache-control', 'no-cache')
    .header('last-modified', new Date(tsMs).toUTCString())
    .send(jpeg)
}

/** Registers the screenshot routes. */
export async function screenshotRoutes(app: FastifyInstance, context: ControllerContext, store: ScreenshotStore): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { repository } = context

  const checkStream = async (id: string): Promise<void> => {
    if ((await repository.getStream(id)) === undefined) throw new StreamNotFound(id)
  }

  api.get(
    `${base}/:id/screenshot`,
    {
      config: { access: Access.read },
      schema: { summary: 'The latest screenshot of a stream (image/jpeg)', params: StreamIdParams, response: { 404: ErrorBody } },
    },
    async (request, reply) => {
      const { id } = request.params
      await checkStream(id)
      const latest = await store.latest(id)
      if (latest === undefined) throw new ScreenshotNotFound(`stream "${id}" has no screenshot yet`)
      return sendJpeg(reply, latest.jpeg, latest.ts_ms)
    },
  )

  api.get(
    `${base}/:id/screenshots`,
    {
      config: { access: Access.read },
      schema: { summary: 'The screenshots kept for a stream, newest first', params: StreamIdParams, response: { 200: ScreenshotList, 404: ErrorBody } },
    },
    async (request) => {
      const { id } = request.params
      await checkStream(id)
      const screenshots = await store.list(id)
      return {
        stream_id: id,
        screenshots: screenshots.map(({ ts_ms, size }) => ({
          ts: new Date(ts_ms).toISOString(),
          ts_ms,
          size,
          url: `${base}/${encodeURIComponent(id)}/screenshots/${ts_ms}`,
        })),
      }
    },
  )

  api.get(
    `${base}/:id/screenshots/:ts`,
    {
      config: { access: Access.read },
      schema: { summary: 'One screenshot by its grab time in Unix ms (image/jpeg)', params: ScreenshotParams, response: { 404: ErrorBody } },
    },
    async (request, reply) => {
      const { id, ts } = request.params
      await checkStream(id)
      const jpeg = await store.read(id, Number(ts))
      if (jpeg === undefined) throw new ScreenshotNotFound(`stream "${id}" has no screenshot at ${ts}`)
      return sendJpeg(reply, jpeg, Number(ts))
    },
  )
}
