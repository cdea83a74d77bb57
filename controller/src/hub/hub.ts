import type { WebSocket, RawData } from 'ws'
import type { Logger } from 'pino'
import {
  CloseCode,
  decodeAgentMessage,
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
  type Page,
  type Playlist,
  type Screenshot,
  type Status,
} from '@monit/protocol'
import { AgentSession } from './session.ts'

/** Callbacks the hub needs from the rest of the controller. */
export interface HubHandlers {
  /**
   * Stores an agent's accepted hello; called right after the welcome is
   * sent, before the agent's next messages are handled.
   */
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
  /** Stores a player page check result; without this handler the hub only logs the results. */
  page?(session: AgentSession, message: Page): void | Promise<void>
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
  /** Every open agent socket, with or without a hello, and its liveness state. */
  private readonly sockets = new Map<WebSocket, SocketState>()
  private readonly options: Required<HubOptions>
  private readonly log: Logger
  /**
   * `agent id\nbatch id` of the last RECENT_BATCHES batches stored, oldest
   * first. An agent that restarts resends the batches whose ack it did not
   * get, and those are acknowledged again without being stored twice.
   */
  private readonly recentBatches = new Set<string>()
  /** Metrics batches being stored; their acks go out when they finish. */
  private readonly storing = new Set<Promise<void>>()
  /** Set at shutdown: new metrics batches get a not_ready error, so that agents send them to another controller. */
  private draining = false
  /** One timer pings every socket, rather than one timer per connection. */
  private readonly pingTimer: NodeJS.Timeout
  private readonly tokenTimer: NodeJS.Timeout

  constructor(options: HubOptions) {
    this.options = { helloTimeoutS: 10, maxInvalidFrames: 20, pingIntervalMs: options.heartbeatIntervalS * 1000, tokenRecheckMs: 30_000, ...options }
    this.log = options.logger
    this.pingTimer = setInterval(() => this.pingAll(), this.options.pingIntervalMs)
    this.pingTimer.unref()
    this.tokenTimer = setInterval(() => void this.recheckTokens(), this.options.tokenRecheckMs)
    this.tokenTimer.unref()
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
  accept(socket: WebSocket, remoteAddress: string, tokenStillValid?: TokenCheck): void {
    let session: AgentSession | undefined
    let invalidFrames = 0
    let log = this.log.child({ remote_address: remoteAddress })
    // Messages are handled one at a time, in order, so an ack never overtakes a write.
    let queue = Promise.resolve()

    const state: SocketState = { missedPongs: 0, tokenStillValid, log: () => log }
    this.sockets.set(socket, state)
    socket.on('pong', () => {
      state.missedPongs = 0
    })

    const helloTimer = setTimeout(() => {
      log.warn('agent sent no hello in time; closing')
      this.reject(socket, 'invalid_message', 'no hello received', CloseCode.protocolError)
    }, this.options.helloTimeoutS * 1000)

    socket.on('message', (data: RawData, isBinary: boolean) => {
      // Heartbeats are most frames, and only refresh the last-seen time, so they skip the queue and the schema check.
      if (session !== undefined && !isBinary && isHeartbeatFrame(data)) {
        session.lastSeenMs = Date.now()
        this.options.handlers.heartbeat(session)
        return
      }
      const buffer = frameBuffer(data)
      const frame = isBinary ? buffer : buffer.toString()
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
      this.sockets.delete(socket)
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
   * Stops taking metrics batches and waits (at most timeoutMs) until the
   * batches being stored are stored and acknowledged. Call before closeAll,
   * so that no batch is stored here without its ack and stored again by
   * the controller the agent reconnects to.
   */
  async drainMetrics(timeoutMs = 5000): Promise<void> {
    this.draining = true
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((done) => (timer = setTimeout(done, timeoutMs)))
    await Promise.race([Promise.all(this.storing), timeout])
    clearTimeout(timer)
  }

  /**
   * Closes every agent connection, telling agents the controller is going
   * away, and waits (at most timeoutMs) until their disconnects are recorded.
   */
  async closeAll(timeoutMs = 5000): Promise<void> {
    clearInterval(this.pingTimer)
    clearInterval(this.tokenTimer)
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
    // The welcome goes out at once. Storing the hello and the orders that
    // follow it run after, and the agent's next messages wait for them.
    session.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      controller_version: this.options.controllerVersion,
      heartbeat_interval_s: this.options.heartbeatIntervalS,
      status_acks: true,
    })
    sessionLog.info(
      { name: hello.name, version: hello.version, capacity: hello.capacity, running: hello.streams.length, remote_address: remoteAddress },
      'agent connected',
    )
    try {
      await this.options.handlers.agentConnected(session)
    } catch (error) {
      sessionLog.error({ err: error }, 'recording the agent connection failed; closing it so that the agent reconnects')
      session.close(INTERNAL_ERROR, 'controller could not record the connection')
    }
    return session
  }

  private async dispatch(session: AgentSession, message: AgentMessage): Promise<void> {
    session.lastSeenMs = Date.now()
    switch (message.type) {
      case 'metrics': {
        // Not awaited: a slow write must not hold up this agent's other messages.
        const stored = this.storeMetrics(session, message)
        this.storing.add(stored)
        void stored.finally(() => this.storing.delete(stored))
        return
      }

      case 'status':
        if (message.status_id === undefined) {
          await this.options.handlers.status(session, message)
          return
        }
        // Awaited, unlike a metrics batch, so that one agent's statuses are stored in the order they came.
        await this.storeAndAcknowledge(session, message.status_id, 'status', () => this.options.handlers.status(session, message))
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
        // Page screenshots (source 'page') arrive as screenshot frames and go to the stream's screenshot store.
        if (this.options.handlers.page !== undefined) {
          await this.options.handlers.page(session, message)
          return
        }
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

  /** Pings every socket and terminates those that missed MISSED_PONGS_LIMIT pongs in a row. */
  private pingAll(): void {
    for (const [socket, state] of this.sockets) {
      if (state.missedPongs >= MISSED_PONGS_LIMIT) {
        state.log().warn({ missed_pongs: MISSED_PONGS_LIMIT }, 'agent stopped responding to pings; dropping its connection')
        this.sockets.delete(socket)
        socket.terminate()
        continue
      }
      state.missedPongs += 1
      try {
        socket.ping()
      } catch {
        // The socket is closing; its close event removes it.
      }
    }
  }

  /**
   * Closes the sockets whose agent token has been revoked (a token made by
   * the CLI can be). Sockets that share one token share one check.
   */
  private async recheckTokens(): Promise<void> {
    const byCheck = new Map<string, Array<[WebSocket, SocketState]>>()
    for (const entry of this.sockets) {
      const check = entry[1].tokenStillValid
      if (check === undefined) continue
      const list = byCheck.get(check.key)
      if (list === undefined) byCheck.set(check.key, [entry])
      else list.push(entry)
    }
    for (const entries of byCheck.values()) {
      const [, first] = entries[0]!
      let valid: boolean
      try {
        valid = await first.tokenStillValid!.check()
      } catch (error) {
        first.log().warn({ err: error, connections: entries.length }, 'checking the agent token failed; keeping the connections')
        continue
      }
      if (valid) continue
      for (const [socket, state] of entries) {
        state.log().warn('agent token was revoked; closing the connection')
        this.reject(socket, 'unauthorized', 'agent token revoked', CloseCode.unauthorized)
      }
    }
  }

  /** Acknowledges a batch once stored, or tells the agent to resend it later. */
  private storeMetrics(session: AgentSession, message: Metrics): Promise<void> {
    return this.storeAndAcknowledge(session, message.batch_id, 'metrics batch', () => this.options.handlers.metrics(session, message))
  }

  /**
   * Runs `store` for a metrics batch or a status and acknowledges it by `id`
   * once stored, or sends the agent a not_ready error so that it resends it later. A copy sent again
   * after its ack was lost is acknowledged without storing it twice.
   */
  private async storeAndAcknowledge(session: AgentSession, id: string, what: string, store: () => Promise<void>): Promise<void> {
    if (this.draining) {
      session.send({ type: 'error', code: 'not_ready', message: `controller shutting down; resend the ${what} later`, batch_id: id })
      return
    }
    const key = `${session.agentId}\n${id}`
    if (this.recentBatches.has(key)) {
      session.log.info({ batch_id: id }, `${what} was already stored; acknowledging it again`)
      session.send({ type: 'ack', batch_id: id })
      return
    }
    try {
      await store()
    } catch (error) {
      session.log.error({ err: error, batch_id: id }, `storing ${what} failed`)
      session.send({ type: 'error', code: 'not_ready', message: `${what} not stored; resend it later`, batch_id: id })
      return
    }
    this.recentBatches.add(key)
    if (this.recentBatches.size > RECENT_BATCHES) this.recentBatches.delete(this.recentBatches.values().next().value!)
    session.send({ type: 'ack', batch_id: id })
  }

  private reject(socket: WebSocket, code: ErrorCode, message: string, closeCode: number): void {
    sendError(socket, code, message)
    // Close reasons are limited to 123 bytes by the WebSocket protocol.
    socket.close(closeCode, message.slice(0, 120))
  }
}

/**
 * Batches remembered per controller process to acknowledge resent ones without storing them again; about 100 bytes each.
 * A batch stored by a controller that died before its ack comes back marked resent. ClickHouse drops it by its
 * insert_deduplication_token, and on servers without that setting (18.16) the storage finds it by batch_id first.
 * NOTE: agents built before the resent mark do not send it, so on such servers their resent batches are stored twice.
 */
const RECENT_BATCHES = 50_000

/** WebSocket close code 1011: the server met a condition that kept it from serving the connection. */
const INTERNAL_ERROR = 1011

/** A recheck of the token a socket connected with; sockets with the same key share one check. */
export interface TokenCheck {
  /** Identifies the token without containing it, such as a hash of it. */
  key: string
  check(): Promise<boolean>
}

interface SocketState {
  missedPongs: number
  tokenStillValid: TokenCheck | undefined
  log(): Logger
}

function sendError(socket: WebSocket, code: ErrorCode, message: string): void {
  if (socket.readyState !== socket.OPEN) return
  socket.send(encodeMessage({ type: 'error', code, message }))
}

/** Returns the frame as one Buffer, copying only when ws delivered it in fragments. */
function frameBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data)
  return Buffer.isBuffer(data) ? data : Buffer.from(data)
}

/**
 * Matches the heartbeat as agents encode it. A matching frame is a valid
 * Heartbeat, because a ts_ms of at most 15 digits is a safe integer >= 0.
 * Frames in any other form go through the full decode.
 */
const HEARTBEAT_FRAME = /^\{"type":"heartbeat","ts_ms":\d{1,15}\}$/

function isHeartbeatFrame(data: RawData): boolean {
  return Buffer.isBuffer(data) && data.length <= 48 && HEARTBEAT_FRAME.test(data.toString('latin1'))
}
