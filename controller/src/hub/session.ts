import type { WebSocket } from 'ws'
import type { Logger } from 'pino'
import { encodeMessage, type ControllerMessage, type Hello } from '@monit/protocol'

/** One authenticated agent connection, after its hello was accepted. */
export class AgentSession {
  readonly agentId: string
  readonly hello: Hello
  readonly remoteAddress: string
  readonly connectedAt = new Date()
  /** When the last message from the agent arrived, in milliseconds since the Unix epoch. */
  lastSeenMs = Date.now()
  readonly log: Logger
  private readonly socket: WebSocket

  constructor(socket: WebSocket, hello: Hello, remoteAddress: string, log: Logger) {
    this.socket = socket
    this.hello = hello
    this.agentId = hello.agent_id
    this.remoteAddress = remoteAddress
    this.log = log
  }

  get capacity(): number {
    return this.hello.capacity
  }

  /** Labels the agent sent in its hello. */
  get labels(): Record<string, string> {
    return this.hello.labels
  }

  /** Sends a message; returns false when the socket is no longer open. */
  send(message: ControllerMessage): boolean {
    if (this.socket.readyState !== this.socket.OPEN) return false
    this.socket.send(encodeMessage(message))
    return true
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason)
  }

  /** Calls back once the socket has closed. */
  onClose(listener: () => void): void {
    if (this.socket.readyState === this.socket.CLOSED) listener()
    else this.socket.once('close', () => listener())
  }

  terminate(): void {
    this.socket.terminate()
  }
}
