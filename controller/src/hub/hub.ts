import type { WebSocket, RawData } from 'ws'
import type { Logger } from 'pino'
import {
  CloseCode,
  decodeAgentMessage,
  keepAlive,
  MISSED_PONGS_LIMIT,
  encodeMessage,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  type AgentMessage,
  type ControllerMessage,
  type ErrorCode,
  type Hello,
  type Av,
  type Metrics,
  type Playlist,
  type Screenshot,
  type Status,
} from '@monit/protocol'
import { AgentSession } from './session.ts'

/** Callbacks the hub needs from the rest of the controller. */
export interface HubHandlers {
  /** Stores an agent's accepted hello; called before the welcome is sent. */
  agentConnected(session: AgentSession): Promise<void>
  agentDisconnected(session: AgentSession): Promise<void>
  /** Stores a metrics batch; the hub acknowledges it once this resolves. */
  metrics(session: AgentSession, message: Metrics): Promise<void>
  status(session: AgentSession, message: Status): Promise<void>
  heartbeat(session: AgentSession): void
  /** Stores a picture and sound check result; without this handler the hub ignores the results. */
  av?(session: AgentSession, message: Av): void | Promise<void>
  /** Stores a playlist analysis summary; without this handler the hub ignores the summaries. */
  playlist?(session: AgentSession, message: Playlist): void | Promise<void>
  /** Takes one screenshot frame; without this handler the hub ignores the frames. */
  screenshot?(session: AgentSession, message: Screenshot): Promise<void>
}

export interface HubOptions {
  logger: Logger
  handlers: HubHandlers
  controllerVersion: string
  heartbeatIntervalS: number
  /** Seconds an agent has to send its hello after connecting. */
  helloTimeoutS?: number
  /** Invalid frames tolerated on one connection before it is closed. */
  maxInvalidFrames?: number
  /** Milliseconds between pings; a socket that misses two pongs is terminated. */
  pingIntervalMs?: number
  /** Milliseconds between checks that a connected agent's token is still valid. */
  tokenRecheckMs?: number
}

/**
 * Accepts agent WebSocket connections, checks their hello and routes their
 * messages. Holds one session per agent id: a second connection with the
 * same id replaces the first.
 */
export class AgentHub {
  private readonly sessions = new Map<string, AgentSession>()
  /** Disconnect handlers still running, awaited by closeAll. */
  private readonly closing = new Set<Promise<void>>()
  private readonly options: Required<HubOptions>
  private readonly log: Logger

  constructor(options: HubOptions) {
    this.options = { helloTimeoutS: 10, maxInvalidFrames: 20, pingIntervalMs: options.heartbeatIntervalS * 1000, tokenRecheckMs: 30_000, ...options }
    this.log = options.logger
  }

  get size(): number {
    return this.sessions.size
  }

  session(agentId: string): AgentSession | undefined {
    return this.sessions.get(agentId)
  }

  all(): AgentSession[] {
    return [...this.sessions.values()]
  }

  /** Sends a message to a connected agent; returns false when it is not connected. */
  send(agentId: string, message: ControllerMessage): boolean {
    return this.sessions.get(agentId)?.send(message) ?? false
  }

  /** Serves one authenticated socket until it closes. */
  accept(socket: WebSocket, remoteAddress: string, tokenStillValid?: () => Promise<boolean>): void {
    let session: AgentSession | undefined
    let invalidFrames = 0
    let log = this.log.child({ remote_address: remoteAddress })
    const tokenTimer = tokenStillValid === undefined ? undefined : this.recheckToken(socket, tokenStillValid, () => log)
    // Messages are handled one at a time, in order, so an ack never overtakes a write.
    let queue = Promise.resolve()

    keepAlive(socket, this.options.pingIntervalMs, () => {
      log.warn({ missed_pongs: MISSED_PONGS_LIMIT }, 'agent stopped responding to pings; dropping its connection')
    })

    const helloTimer = setTimeout(() => {
      log.warn('agent sent no hello in time; closing')
      this.reject(socket, 'invalid_message', 'no hello received', CloseCode.protocolError)
    }, this.options.helloTimeoutS * 1000)

    socket.on('message', (data: RawData, isBinary: boolean) => {
      const frame = isBinary ? Buffer.concat(toBuffers(data)) : Buffer.concat(toBuffers(data)).toString()
      const decoded = decodeAgentMessage(frame, MAX_FRAME_BYTES)
      if (!decoded.ok) {
        invalidFrames += 1
        log.warn({ code: decoded.code, err_message: decoded.message }, 'invalid frame from agent')
        if (session === undefined || invalidFrames > this.options.maxInvalidFrames) {
          this.reject(socket, decoded.code, decoded.message, CloseCode.protocolError)
          return
        }
        sendError(socket, decoded.code, decoded.message)
        return
      }

      queue = queue.then(async () => {
        if (session === undefined) {
          session = await this.handleHello(socket, decoded.message, remoteAddress, log)
          if (session !== undefined) {
            clearTimeout(helloTimer)
            log = session.log
          }
          return
        }
        await this.dispatch(session, decoded.message)
      }).catch((error: unknown) => {
        log.error({ err: error }, 'agent message handling failed')
      })
    })

    socket.on('close', (code: number, reason: Buffer) => {
      clearTimeout(helloTimer)
      clearInterval(tokenTimer)
      if (session === undefined) return
      const closed = session
      log.info({ code, reason: reason.toString() }, 'agent disconnected')
      if (this.sessions.get(closed.agentId) !== closed) return
      this.sessions.delete(closed.agentId)
      queue = queue.then(() => this.options.handlers.agentDisconnected(closed)).catch((error: unknown) => {
        log.error({ err: error }, 'recording agent disconnect failed')
      })
      this.closing.add(queue)
      void queue.finally(() => this.closing.delete(queue))
    })

    socket.on('error', (error: Error) => {
      log.warn({ err: error }, 'agent socket error')
    })
  }

  /**
   * Closes every agent connection, telling agents the controller is going
   * away, and waits (at most timeoutMs) until their disconnects are recorded.
   */
  async closeAll(timeoutMs = 5000): Promise<void> {
    const sessions = [...this.sessions.values()]
    const closed = sessions.map((session) => new Promise<void>((done) => session.onClose(done)))
    for (const session of sessions) session.close(CloseCode.goingAway, 'controller shutting down')
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((done) => (timer = setTimeout(done, timeoutMs)))
    await Promise.race([Promise.all(closed).then(() => Promise.all(this.closing)), timeout])
    clearTimeout(timer)
    for (const session of this.sessions.values()) session.terminate()
  }

  private async handleHello(
    socket: WebSocket,
    message: AgentMessage,
    remoteAddress: string,
    log: Logger,
  ): Promise<AgentSession | undefined> {
    if (message.type !== 'hello') {
      log.warn({ type: message.type }, 'agent sent a message before hello')
      this.reject(socket, 'invalid_message', `expected hello first, got ${message.type}`, CloseCode.protocolError)
      return undefined
    }
    const hello: Hello = message
    if (hello.protocol !== PROTOCOL_VERSION) {
      const text = `agent speaks protocol ${hello.protocol}, controller speaks protocol ${PROTOCOL_VERSION}`
      log.warn({ agent_id: hello.agent_id, agent_version: hello.version }, text)
      this.reject(socket, 'incompatible_version', text, CloseCode.incompatibleVersion)
      return undefined
    }

    const previous = this.sessions.get(hello.agent_id)
    if (previous !== undefined) {
      log.warn({ agent_id: hello.agent_id }, 'agent connected again; closing its older connection')
      previous.close(CloseCode.replaced, 'replaced by a newer connection')
    }

    const sessionLog = this.log.child({ agent_id: hello.agent_id })
    const session = new AgentSession(socket, hello, remoteAddress, sessionLog)
    this.sessions.set(hello.agent_id, session)
    await this.options.handlers.agentConnected(session)
    session.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      controller_version: this.options.controllerVersion,
      heartbeat_interval_s: this.options.heartbeatIntervalS,
    })
    sessionLog.info(
      { name: hello.name, version: hello.version, capacity: hello.capacity, running: hello.streams.length, remote_address: remoteAddress },
      'agent connected',
    )
    return session
  }

  private async dispatch(session: AgentSession, message: AgentMessage): Promise<void> {
    session.lastSeen = new Date()
    switch (message.type) {
      case 'metrics':
        // Not awaited: a slow write must not hold up this agent's other messages.
        void this.storeMetrics(session, message)
        return

      case 'status':
        await this.options.handlers.status(session, message)
        return

      case 'av':
        await this.options.handlers.av?.(session, message)
        return

      case 'playlist':
        await this.options.handlers.playlist?.(session, message)
        return

      case 'screenshot':
        await this.options.handlers.screenshot?.(session, message)
        return

      case 'page':
        // TODO: store page check results in ClickHouse; they are only logged for now.
        // Page screenshots (source 'page') still go to the stream's screenshot store.
        session.log.info(
          { stream_id: message.stream_id, epoch: message.epoch, ok: message.ok, playing: message.playing, errors: message.errors },
          'page check result',
        )
        return

      case 'heartbeat':
        this.options.handlers.heartbeat(session)
        return

      case 'error':
        session.log.warn({ code: message.code, err_message: message.message }, 'agent reported an error')
        return

      case 'hello':
        session.send({ type: 'error', code: 'invalid_message', message: 'hello was already received on this connection' })
        return
    }
  }

  /** Closes the socket once its agent token has been revoked (a token made by the CLI can be). */
  private recheckToken(socket: WebSocket, stillValid: () => Promise<boolean>, log: () => Logger): NodeJS.Timeout {
    const timer = setInterval(() => {
      stillValid().then(
        (valid) => {
          if (valid) return
          log().warn('agent token was revoked; closing the connection')
          this.reject(socket, 'unauthorized', 'agent token revoked', CloseCode.unauthorized)
        },
        (error: unknown) => log().warn({ err: error }, 'checking the agent token failed; keeping the connection'),
      )
    }, this.options.tokenRecheckMs)
    timer.unref()
    return timer
  }

  /** Acknowledges a batch once stored, or tells the agent to resend it later. */
  private async storeMetrics(session: AgentSession, message: Metrics): Promise<void> {
    try {
      await this.options.handlers.metrics(session, message)
    } catch (error) {
      session.log.error({ err: error, batch_id: message.batch_id }, 'storing metrics batch failed')
      session.send({ type: 'error', code: 'not_ready', message: 'metrics batch not stored; resend it later', batch_id: message.batch_id })
      return
    }
    session.send({ type: 'ack', batch_id: message.batch_id })
  }

  private reject(socket: WebSocket, code: ErrorCode, message: string, closeCode: number): void {
    sendError(socket, code, message)
    // Close reasons are limited to 123 bytes by the WebSocket protocol.
    socket.close(closeCode, message.slice(0, 120))
  }
}

function sendError(socket: WebSocket, code: ErrorCode, message: string): void {
  if (socket.readyState !== socket.OPEN) return
  socket.send(encodeMessage({ type: 'error', code, message }))
}

function toBuffers(data: RawData): Buffer[] {
  if (Array.isArray(data)) return data
  return [Buffer.isBuffer(data) ? data : Buffer.from(data)]
}
