import { WebSocket, type RawData } from 'ws'
import type { Logger } from 'pino'
import {
  CloseCode,
  decodeControllerMessage,
  encodeMessage,
  keepAlive,
  MISSED_PONGS_LIMIT,
  MAX_FRAME_BYTES,
  type AgentMessage,
  type ControllerMessage,
  type Hello,
  type Welcome,
} from '@monit/protocol'
import { Backoff } from './backoff.ts'

export interface ConnectionOptions {
  urls: string[]
  token: string
  logger: Logger
  /** Builds the hello at each connect, so it lists the streams running now. */
  hello: () => Hello
  onWelcome: (welcome: Welcome) => void
  onMessage: (message: ControllerMessage) => void
  /** Called once when the controller rejects this agent for good. */
  onFatal: (reason: string) => void
  backoff?: Backoff
  /** Milliseconds between pings; a socket that misses two pongs is dropped and reconnected. */
  pingIntervalMs?: number
}

/** Errors after which reconnecting cannot help. */
function isFatal(message: ControllerMessage): boolean {
  return message.type === 'error' && message.code === 'incompatible_version'
}

/**
 * One outbound WebSocket to the controller, reconnected with backoff and
 * jitter, trying the configured URLs in turn. Each socket gets its own
 * listeners, and a dead socket's listeners are removed before the next one.
 */
export class ControllerConnection {
  private socket: WebSocket | undefined
  private ready = false
  private stopped = false
  private urlIndex = 0
  private reconnectTimer: NodeJS.Timeout | undefined
  private heartbeatTimer: NodeJS.Timeout | undefined
  private readonly backoff: Backoff
  private readonly log: Logger

  constructor(private readonly options: ConnectionOptions) {
    this.backoff = options.backoff ?? new Backoff()
    this.log = options.logger
  }

  /** True after the controller's welcome, until the socket closes. */
  get connected(): boolean {
    return this.ready
  }

  start(): void {
    this.stopped = false
    this.connect()
  }

  /** Sends a message if connected; returns false otherwise. */
  send(message: AgentMessage): boolean {
    if (!this.ready || this.socket?.readyState !== WebSocket.OPEN) return false
    this.socket.send(encodeMessage(message))
    return true
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.reconnectTimer)
    clearInterval(this.heartbeatTimer)
    const socket = this.socket
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return
    await new Promise<void>((done) => {
      const timer = setTimeout(() => {
        socket.terminate()
        done()
      }, 2000)
      socket.once('close', () => {
        clearTimeout(timer)
        done()
      })
      socket.close(CloseCode.normal, 'agent stopping')
    })
  }

  private connect(): void {
    const url = this.options.urls[this.urlIndex % this.options.urls.length]!
    this.urlIndex += 1
    const log = this.log.child({ controller: url })
    log.debug('connecting to controller')

    const socket = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.options.token}` },
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: 10_000,
    })
    this.socket = socket

    socket.on('open', () => {
      keepAlive(socket, this.options.pingIntervalMs ?? 15_000, () => {
        log.warn({ missed_pongs: MISSED_PONGS_LIMIT }, 'controller stopped responding to pings; reconnecting')
      })
      log.info('connected to controller; sending hello')
      socket.send(encodeMessage(this.options.hello()))
    })
    socket.on('message', (data: RawData) => this.receive(data, log))
    socket.on('unexpected-response', (_request, response) => {
      log.error({ status: response.statusCode }, response.statusCode === 401 ? 'controller rejected the agent token' : 'controller refused the connection')
      socket.terminate()
    })
    socket.on('error', (error: Error) => {
      log.warn({ err_message: error.message }, 'controller connection error')
    })
    socket.on('close', (code: number, reason: Buffer) => {
      socket.removeAllListeners()
      // Keep a no-op error listener: a late error on a dead socket must not throw.
      socket.on('error', () => {})
      this.ready = false
      clearInterval(this.heartbeatTimer)
      if (this.stopped) return
      const delay = this.backoff.next()
      log.warn({ code, reason: reason.toString(), retry_in_ms: delay }, 'disconnected from controller; reconnecting')
      this.reconnectTimer = setTimeout(() => this.connect(), delay)
    })
  }

  private receive(data: RawData, log: Logger): void {
    const frame = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
    const decoded = decodeControllerMessage(frame, MAX_FRAME_BYTES)
    if (!decoded.ok) {
      log.warn({ code: decoded.code, err_message: decoded.message }, 'invalid frame from controller')
      this.socket?.send(encodeMessage({ type: 'error', code: decoded.code, message: decoded.message }))
      return
    }

    const message = decoded.message
    if (isFatal(message)) {
      const reason = message.type === 'error' ? message.message : 'fatal'
      log.fatal({ reason }, 'controller rejected this agent; not reconnecting')
      this.stopped = true
      this.options.onFatal(reason)
      return
    }
    if (message.type === 'welcome') {
      this.ready = true
      this.backoff.reset()
      this.startHeartbeat(message.heartbeat_interval_s)
      log.info({ controller_version: message.controller_version }, 'controller accepted hello')
      this.options.onWelcome(message)
      return
    }
    if (message.type === 'error') {
      log.warn({ code: message.code, err_message: message.message, batch_id: message.batch_id }, 'controller reported an error')
    }
    this.options.onMessage(message)
  }

  private startHeartbeat(intervalS: number): void {
    clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = setInterval(() => {
      this.send({ type: 'heartbeat', ts_ms: Date.now() })
    }, intervalS * 1000)
  }
}
