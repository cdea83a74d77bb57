import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { checkStreamUrl } from '@monit/protocol'
import { InvalidField, StreamExists, StreamNotFound } from '../errors.ts'
import type { ControllerContext, StoredStream } from '../context.ts'
import { Access } from '../auth/roles.ts'
import { closestScreenshots } from '../screenshots/evidence.ts'
import type { ScreenshotStore } from '../screenshots/store.ts'
import { ErrorBody, StreamCreateBody, StreamIdParams, StreamList, StreamUpdateBody, StreamView } from './schemas.ts'
import type { AlertService } from '../alerts/service.ts'

const base = '/api/state/streams/v1'

const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody }

function checkUrl(url: string | undefined): void {
  if (url === undefined) return
  const result = checkStreamUrl(url)
  if (!result.ok) throw new InvalidField('body/url', result.message)
}

interface SchedulingFields {
  required_labels?: Record<string, string>
  pinned_agent_id?: string | null
  vantage?: { count: number; label: string } | null
}

/** Checks the scheduling fields together, as they will be after the request. */
function checkScheduling(body: SchedulingFields, current?: StoredStream): void {
  const pinned = body.pinned_agent_id !== undefined ? body.pinned_agent_id : current?.pinned_agent_id ?? null
  const vantage = body.vantage !== undefined ? body.vantage : current?.vantage ?? null
  const required = body.required_labels ?? current?.required_labels ?? {}
  if (pinned !== null && vantage !== null) {
    const field = body.vantage ? 'body/vantage' : 'body/pinned_agent_id'
    throw new InvalidField(field, 'a stream pinned to one agent cannot have vantage points; set pinned_agent_id or vantage to null')
  }
  if (vantage !== null && vantage.label in required) {
    const text = `"${vantage.label}" is also a required label, so only one value can match; remove it from required_labels`
    throw new InvalidField('body/vantage/label', text)
  }
}

interface ProbeFields {
  interval_s?: number
  sample_s?: number
  av_interval_s?: number | null
  av_sample_s?: number | null
  page_url?: string | null
}

/** Returns the setting as it will be after the request: the body's value, null when cleared, else the stored one. */
function settingAfter<K extends keyof ProbeFields>(probe: ProbeFields | undefined, current: StoredStream | undefined, key: K) {
  const requested = probe?.[key]
  if (requested !== undefined) return requested
  return (current?.probe as ProbeFields | undefined)?.[key]
}

function checkPageUrl(url: string | null | undefined): void {
  if (url === null || url === undefined) return
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new InvalidField('body/probe/page_url', `"${url.slice(0, 200)}" is not a valid URL; give an http:// or https:// address`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidField('body/probe/page_url', `scheme "${parsed.protocol.slice(0, -1)}" is not allowed; the player page must be an http:// or https:// URL`)
  }
  // Agents accept only this exact prefix (the protocol's pattern), so "HTTP://" or a leading space is rejected here.
  if (!/^https?:\/\//.test(url)) {
    throw new InvalidField('body/probe/page_url', 'the URL must start with http:// or https:// in lower case, without spaces before it')
  }
}

/** Checks the probe settings together, as they will be after the request. */
function checkProbe(probe: ProbeFields | undefined, current?: StoredStream): void {
  const interval = settingAfter(probe, current, 'interval_s')
  const sample = settingAfter(probe, current, 'sample_s')
  if (interval !== undefined && sample !== undefined && sample >= interval) {
    throw new InvalidField('body/probe/sample_s', `sample window of ${sample} s must be shorter than the interval of ${interval} s`)
  }
  const avInterval = settingAfter(probe, current, 'av_interval_s')
  const avSample = settingAfter(probe, current, 'av_sample_s')
  if (typeof avInterval === 'number' && typeof avSample === 'number' && avInterval > 0 && avSample >= avInterval) {
    const text = `picture and sound sample of ${avSample} s must be shorter than their interval of ${avInterval} s`
    throw new InvalidField(probe?.av_sample_s !== undefined ? 'body/probe/av_sample_s' : 'body/probe/av_interval_s', text)
  }
  checkPageUrl(probe?.page_url)
}

/**
 * Registers the stream state routes. With a screenshot store, GET of one
 * stream names the screenshot closest to its status change.
 */
export async function streamRoutes(
  app: FastifyInstance,
  context: ControllerContext,
  screenshots?: ScreenshotStore,
  alerts?: Pick<AlertService, 'streamStatusReported'>,
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { repository, scheduler } = context

  const view = (stream: StoredStream) => ({
    ...stream,
    // A status is what some agent observed. With no agent assigned (paused, drained away, no match)
    // no agent observes the stream, so the last report is not shown as its current status.
    ...(stream.assignments.length === 0 ? { status: null, status_reason: null, status_at: null } : {}),
    unassigned_reason: stream.desired_state === 'up' ? scheduler.unassignedReason(stream.id) ?? null : null,
  })

  const load = async (id: string): Promise<StoredStream> => {
    const stream = await repository.getStream(id)
    if (stream === undefined) throw new StreamNotFound(id)
    return stream
  }

  api.get(base, { config: { access: Access.read }, schema: { response: { 200: StreamList } } }, async () => {
    const streams = await repository.listStreams()
    return { streams: streams.map(view) }
  })

  api.get(
    `${base}/:id`,
    { config: { access: Access.read }, schema: { params: StreamIdParams, response: { 200: StreamView, ...errors } } },
    async (request) => {
      const stream = await load(request.params.id)
      if (screenshots === undefined) return view(stream)
      const statusAt = stream.status_at === null ? undefined : Date.parse(stream.status_at)
      const [closest] = statusAt === undefined ? [null] : await closestScreenshots(screenshots, [{ stream_id: stream.id, ts_ms: statusAt }])
      return { ...view(stream), status_screenshot: closest ?? null }
    },
  )

  api.post(
    `${base}/:id/create`,
    {
      config: { access: Access.operate },
      schema: { params: StreamIdParams, body: StreamCreateBody, response: { 201: StreamView, ...errors } },
    },
    async (request, reply) => {
      const { id } = request.params
      checkUrl(request.body.url)
      checkProbe(request.body.probe)
      checkScheduling(request.body)
      if ((await repository.getStream(id)) !== undefined) throw new StreamExists(id)

      const stream = await repository.createStream({ id, ...request.body })
      request.log.info({ stream_id: id, desired_state: stream.desired_state, weight: stream.weight }, 'stream created')
      await scheduler.streamCreated(id)
      reply.code(201)
      return view((await repository.getStream(id)) ?? stream)
    },
  )

  api.post(
    `${base}/:id/update`,
    {
      config: { access: Access.operate },
      schema: { params: StreamIdParams, body: StreamUpdateBody, response: { 200: StreamView, ...errors } },
    },
    async (request) => {
      const { id } = request.params
      const current = await load(id)
      checkUrl(request.body.url)
      checkProbe(request.body.probe, current)
      checkScheduling(request.body, current)

      await repository.updateStream(id, request.body)
      request.log.info({ stream_id: id, fields: Object.keys(request.body) }, 'stream updated')
      await scheduler.streamChanged(id)
      return view(await load(id))
    },
  )

  for (const state of ['up', 'down'] as const) {
    api.post(
      `${base}/:id/${state}`,
      { config: { access: Access.operate }, schema: { params: StreamIdParams, response: { 200: StreamView, ...errors } } },
      async (request) => {
        const { id } = request.params
        await load(id)
        await repository.setDesiredState(id, state)
        request.log.info({ stream_id: id, desired_state: state }, 'stream desired state changed')
        await scheduler.streamChanged(id)
        return view(await load(id))
      },
    )
  }

  api.delete(
    `${base}/:id/delete`,
    {
      config: { access: Access.operate },
      schema: { params: StreamIdParams, response: { 200: Type.Object({ id: Type.String(), deleted: Type.Boolean() }), ...errors } },
    },
    async (request) => {
      const { id } = request.params
      await load(id)
      scheduler.streamDeleted(id)
      await repository.deleteStream(id)
      // The alert rules see the stream gone, so its open alerts resolve as stream_deleted.
      alerts?.streamStatusReported(id)
      request.log.info({ stream_id: id }, 'stream deleted')
      return { id, deleted: true }
    },
  )
}
