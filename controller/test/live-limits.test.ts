// Limits of the live feed: the subscriber maximum, slow and silent
// clients, and the bounded viewer counter.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { pino } from 'pino'
import { startTestController, type TestController } from '../../testing/controller.ts'
import { Role } from '../src/auth/roles.ts'
import { LiveFeed, type LiveFeedOptions } from '../src/live/feed.ts'
import { ViewerCounter } from '../src/live/viewers.ts'

let server: TestController
const logger = pino({ level: process.env.MONIT_TEST_LOG_LEVEL ?? 'warn' })

test.before(async () => {
  server = await startTestController(['--live-max-subscribers', '1'])
})

test.after(async () => {
  await server.stop()
})

function opened(socket: WebSocket): Promise<void> {
  return new Promise((done, fail) => {
    socket.once('open', () => done())
    socket.once('error', fail)
  })
}

/** Starts a LiveFeed behind a plain ws server on 127.0.0.1 and connects one client to it. */
async function startFeed(options: Partial<LiveFeedOptions>) {
  const feed = new LiveFeed({
    logger,
    maxSubscribers: 10,
    viewersIntervalMs: 100,
    viewerWindowMs: 60_000,
    maxViewers: 1000,
    ...options,
  })
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((done) => wss.once('listening', done))
  const serverSide = new Promise<WebSocket>((done) => {
    wss.once('connection', (socket) => {
      feed.accept(socket, { userId: 'test-user', remoteAddress: '127.0.0.1' })
      done(socket)
    })
  })
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`)
  await opened(client)
  feed.start()
  const stop = async () => {
    feed.close()
    client.terminate()
    await new Promise((done) => wss.close(done))
  }
  return { feed, client, serverSide: await serverSide, stop }
}

function closedWithin(socket: WebSocket, timeoutMs: number): Promise<boolean> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve(true)
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.once('close', () => {
      clearTimeout(timer)
      done(true)
    })
  })
}

test('live feed answers 503 past its maximum', async () => {
  const token = await server.tokenFor(Role.viewer)
  const url = `${server.url.replace('http', 'ws')}/api/live/v1/ws?token=${token}`
  const first = new WebSocket(url)
  await opened(first)
  const response = await new Promise<{ status: number; retryAfter: string | undefined }>((done, fail) => {
    const second = new WebSocket(url)
    second.once('unexpected-response', (_request, res) => {
      done({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined })
    })
    second.once('open', () => fail(new Error('the second connection was accepted')))
    second.once('error', fail)
  })
  assert.is(response.status, 503)
  assert.is(response.retryAfter, '10')
  first.close()
})

test('live feed terminates a client that stops reading', async () => {
  const limits = { highWaterBytes: 64 * 1024, maxBufferedBytes: 512 * 1024 * 1024, stuckTimeoutMs: 300 }
  const { feed, client, serverSide, stop } = await startFeed({ limits, pingIntervalMs: 60_000 })
  try {
    client.pause()
    const reason = 'x'.repeat(2000)
    const status = { type: 'status', stream_id: 'slow-1', epoch: 1, status: 'down', reason, ts_ms: Date.now() } as const
    // The kernel's socket buffers fill first; then ws buffers the rest.
    for (let sent = 0; sent < 50_000 && serverSide.bufferedAmount <= limits.highWaterBytes; sent++) {
      feed.publishStatus('agent-1', status)
    }
    assert.ok(serverSide.bufferedAmount > limits.highWaterBytes, `buffered ${serverSide.bufferedAmount} bytes`)
    assert.ok(await closedWithin(serverSide, 10_000), 'the stuck connection was not closed')
    assert.is(feed.size, 0)
  } finally {
    await stop()
  }
})

test('live feed skips viewer updates above high water', async () => {
  const limits = { highWaterBytes: 64 * 1024, maxBufferedBytes: 512 * 1024 * 1024, stuckTimeoutMs: 60_000 }
  const { feed, client, serverSide, stop } = await startFeed({ limits, pingIntervalMs: 60_000, viewersIntervalMs: 50 })
  try {
    client.pause()
    const status = { type: 'status', stream_id: 'slow-2', epoch: 1, status: 'up', reason: 'y'.repeat(2000), ts_ms: Date.now() } as const
    for (let sent = 0; sent < 50_000 && serverSide.bufferedAmount <= limits.highWaterBytes; sent++) {
      feed.publishStatus('agent-1', status)
    }
    const buffered = serverSide.bufferedAmount
    feed.recordViewer('slow-2', 'viewer-1')
    await new Promise((done) => setTimeout(done, 500))
    assert.is(serverSide.bufferedAmount, buffered, 'a viewers message was queued on a full buffer')
    assert.is(serverSide.readyState, WebSocket.OPEN)
  } finally {
    await stop()
  }
})

test('live feed drops a client that misses pongs', async () => {
  const { feed, client, serverSide, stop } = await startFeed({ pingIntervalMs: 100 })
  try {
    // A paused client reads no pings, so it sends no pongs.
    client.pause()
    assert.ok(await closedWithin(serverSide, 5000), 'the silent connection was not dropped')
    assert.is(feed.size, 0)
  } finally {
    await stop()
  }
})

test('viewer counter forgets viewers after the window', () => {
  let nowMs = 0
  const counter = new ViewerCounter({ windowMs: 1000, maxEntries: 100, now: () => nowMs })
  counter.record('a', 'v1')
  counter.record('a', 'v2')
  counter.record('b', 'v1')
  assert.equal(counter.counts(), new Map([['a', 2], ['b', 1]]))
  nowMs = 600
  counter.record('a', 'v1')
  nowMs = 1200
  assert.equal(counter.counts(), new Map([['a', 1]]))
  nowMs = 1700
  assert.equal(counter.counts(), new Map())
  assert.is(counter.size, 0)
})

test('viewer counter drops the oldest past its maximum', () => {
  let nowMs = 0
  const counter = new ViewerCounter({ windowMs: 10_000, maxEntries: 3, now: () => nowMs })
  for (const viewer of ['v1', 'v2', 'v3', 'v4']) {
    nowMs += 1
    counter.record('a', viewer)
  }
  counter.record('b', 'v1')
  assert.is(counter.size, 3)
  assert.equal(counter.counts(), new Map([['a', 2], ['b', 1]]))
  assert.is(counter.takeEvicted(), 2)
  assert.is(counter.takeEvicted(), 0)
})

test.run()
