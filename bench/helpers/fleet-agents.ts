// Simulated agents for the fleet benchmark, run as a child process with an
// IPC channel. Each agent opens one WebSocket with the agent token, sends a
// hello with its capacity, heartbeats on a timer and keeps the streams that
// perform and revoke messages give it. It never runs a probe, and ws itself
// replies to pings. On a `metrics` request from the parent, the agents
// send metrics batches for their streams, keeping a few unacknowledged
// batches each, and report the acknowledged rows.
//
// Usage: fleet-agents.ts WS_URL TOKEN FIRST_INDEX COUNT CAPACITY HEARTBEAT_S
import { WebSocket } from 'ws'
import { PROTOCOL_VERSION, type ControllerMessage, type MetricsRow } from '@monit/protocol'

export type ParentRequest = { type: 'metrics'; batches: number; rowsPerBatch: number; window: number } | { type: 'stop' }

export type AgentsReport =
  | { type: 'welcomed'; agents: number; lastHelloAt: number }
  | { type: 'progress'; welcomed: number; streams: number; lastPerformAt: number }
  | { type: 'metrics'; ackedRows: number; ackedBatches: number; resent: number; startedAt: number; finishedAt: number }
  | { type: 'failed'; message: string }

const [url, token, firstArg, countArg, capacityArg, heartbeatArg] = process.argv.slice(2)
const firstIndex = Number(firstArg)
const count = Number(countArg)
const capacity = Number(capacityArg)
const heartbeatMs = Number(heartbeatArg) * 1000
if (url === undefined || token === undefined || !(count > 0) || !(capacity >= 0) || !(heartbeatMs > 0)) {
  console.error('usage: fleet-agents.ts WS_URL TOKEN FIRST_INDEX COUNT CAPACITY HEARTBEAT_S')
  process.exit(2)
}

function reportToParent(message: AgentsReport): void {
  process.send?.(message)
}

/** One simulated agent: its socket, its current streams (id → epoch) and its metrics batches in flight. */
class SimulatedAgent {
  readonly streams = new Map<string, number>()
  socket: WebSocket | undefined
  welcomed = false
  private heartbeat: NodeJS.Timeout | undefined
  /** batch id → the metrics frame sent, until acknowledged. */
  private readonly unacked = new Map<string, string>()
  private sent = 0
  private quota = 0
  private rowsPerBatch = 0
  private window = 0
  private onAck: (rows: number) => void = () => {}
  private onResend: () => void = () => {}

  constructor(readonly id: string) {}

  connect(onWelcome: () => void, onAssignments: () => void): Promise<void> {
    return new Promise((done, fail) => {
      const socket = new WebSocket(url!, { headers: { authorization: `Bearer ${token}` } })
      this.socket = socket
      socket.once('open', () => {
        socket.send(
          JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, agent_id: this.id, name: this.id, version: 'bench', labels: {}, capacity, streams: [] }),
        )
        done()
      })
      socket.once('error', fail)
      socket.on('message', (data) => this.receive(JSON.parse(data.toString()) as ControllerMessage, onWelcome, onAssignments))
    })
  }

  private receive(message: ControllerMessage, onWelcome: () => void, onAssignments: () => void): void {
    switch (message.type) {
      case 'welcome':
        this.welcomed = true
        this.heartbeat = setInterval(() => this.send({ type: 'heartbeat', ts_ms: Date.now() }), heartbeatMs)
        onWelcome()
        return
      case 'perform':
        this.streams.set(message.stream_id, message.epoch)
        onAssignments()
        return
      case 'revoke':
        if (this.streams.get(message.stream_id) === message.epoch) this.streams.delete(message.stream_id)
        onAssignments()
        return
      case 'ack': {
        const rows = this.unacked.get(message.batch_id)
        if (rows === undefined) return
        this.unacked.delete(message.batch_id)
        this.onAck(this.rowsPerBatch)
        this.fill()
        return
      }
      case 'error':
        // not_ready with a batch id: the controller did not store the batch, so it is sent again shortly.
        if (message.batch_id !== undefined && this.unacked.has(message.batch_id)) {
          const frame = this.unacked.get(message.batch_id)!
          this.onResend()
          setTimeout(() => this.socket?.send(frame), 100)
        }
        return
      case 'heartbeat':
        return
    }
  }

  private send(message: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message))
  }

  /** Sends `quota` batches of metrics rows for this agent's streams, at most `window` unacknowledged at a time. */
  startMetrics(quota: number, rowsPerBatch: number, window: number, onAck: (rows: number) => void, onResend: () => void): void {
    this.quota = quota
    this.rowsPerBatch = rowsPerBatch
    this.window = window
    this.onAck = onAck
    this.onResend = onResend
    this.fill()
  }

  private fill(): void {
    const streams = [...this.streams]
    if (streams.length === 0) return
    while (this.sent < this.quota && this.unacked.size < this.window) {
      const batchId = `${this.id}-batch-${this.sent}`
      const now = Date.now()
      const rows: MetricsRow[] = Array.from({ length: this.rowsPerBatch }, (_, index) => {
        const [streamId, epoch] = streams[(this.sent * this.rowsPerBatch + index) % streams.length]!
        return {
          stream_id: streamId,
          epoch,
          ts_ms: now - index,
          bitrate: 2_500_000,
          frames: 250,
          width: 1280,
          height: 720,
          fps: 25,
          bytes: 3_125_000,
          seconds: 10,
          keyframe_interval: 2,
          codecs: 'h264,aac',
          probe_duration_ms: 10_150,
        }
      })
      const frame = JSON.stringify({ type: 'metrics', batch_id: batchId, rows })
      this.unacked.set(batchId, frame)
      this.sent += 1
      this.socket?.send(frame)
    }
  }

  close(): void {
    clearInterval(this.heartbeat)
    this.socket?.close(1000, 'benchmark done')
  }
}

const agents = Array.from({ length: count }, (_, index) => new SimulatedAgent(`bench-agent-${String(firstIndex + index).padStart(5, '0')}`))

let welcomed = 0
let lastHelloAt = 0
let lastPerformAt = 0
let progressChanged = false
const progressTimer = setInterval(() => {
  if (!progressChanged) return
  progressChanged = false
  const streams = agents.reduce((sum, agent) => sum + agent.streams.size, 0)
  reportToParent({ type: 'progress', welcomed, streams, lastPerformAt })
}, 200)

// Connects a few agents at a time, so the connection burst stays bounded.
const connectConcurrency = 25
for (let start = 0; start < agents.length; start += connectConcurrency) {
  try {
    await Promise.all(
      agents.slice(start, start + connectConcurrency).map((agent) =>
        agent.connect(
          () => {
            welcomed += 1
            progressChanged = true
            if (welcomed === agents.length) reportToParent({ type: 'welcomed', agents: welcomed, lastHelloAt })
          },
          () => {
            lastPerformAt = Date.now()
            progressChanged = true
          },
        ),
      ),
    )
  } catch (error) {
    reportToParent({ type: 'failed', message: `connecting agents failed: ${(error as Error).message}` })
    process.exit(1)
  }
  lastHelloAt = Date.now()
}

process.on('message', (request: ParentRequest) => {
  if (request.type === 'stop') {
    clearInterval(progressTimer)
    for (const agent of agents) agent.close()
    setTimeout(() => process.exit(0), 500)
    return
  }
  const senders = agents.filter((agent) => agent.streams.size > 0)
  if (senders.length === 0) {
    reportToParent({ type: 'failed', message: 'no simulated agent holds a stream, so no metrics can be sent' })
    return
  }
  let ackedRows = 0
  let ackedBatches = 0
  let resent = 0
  const total = request.batches
  const startedAt = Date.now()
  senders.forEach((agent, index) => {
    const quota = Math.floor(total / senders.length) + (index < total % senders.length ? 1 : 0)
    agent.startMetrics(
      quota,
      request.rowsPerBatch,
      request.window,
      (rows) => {
        ackedRows += rows
        ackedBatches += 1
        if (ackedBatches === total) reportToParent({ type: 'metrics', ackedRows, ackedBatches, resent, startedAt, finishedAt: Date.now() })
      },
      () => (resent += 1),
    )
  })
})
