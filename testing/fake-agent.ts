// An agent on a raw WebSocket, for tests that speak the agent protocol to a
// controller themselves: it sends what the test gives it and keeps every
// message the controller sends.
//
//   const agent = await connectFakeAgent(server.url, server.agentToken)
//   agent.hello('edge-1')
//   const perform = await agent.next((message) => message.type === 'perform')
import { WebSocket } from 'ws'
import { PROTOCOL_VERSION, type ControllerMessage } from '@monit/protocol'

export class FakeAgent {
  readonly messages: ControllerMessage[] = []
  readonly #waiters = new Set<() => void>()

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()) as ControllerMessage)
      for (const wake of this.#waiters) wake()
    })
  }

  /** Sends one message as JSON. */
  send(message: object): void {
    this.socket.send(JSON.stringify(message))
  }

  /** Sends a hello for `agentId` with room for 10 streams and none running. */
  hello(agentId: string): void {
    this.send({ type: 'hello', protocol: PROTOCOL_VERSION, agent_id: agentId, name: agentId, version: 'test', labels: {}, capacity: 10, streams: [] })
  }

  /** Resolves with the first message received that matches, waiting up to `timeoutMs` for it. */
  async next(matches: (message: ControllerMessage) => boolean, timeoutMs = 10_000): Promise<ControllerMessage> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.messages.find(matches)
      if (found !== undefined) return found
      if (Date.now() > deadline) throw new Error(`timed out waiting for the expected message; received ${JSON.stringify(this.messages)}`)
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiters.delete(wake)
          resolve()
        }
        this.#waiters.add(wake)
        setTimeout(wake, 200)
      })
    }
  }

  close(): void {
    this.socket.close()
  }
}

/** Opens the controller's agent WebSocket with an agent token. */
export function connectFakeAgent(url: string, token: string): Promise<FakeAgent> {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/api/agents/v1/ws`, { headers: { authorization: `Bearer ${token}` } })
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(new FakeAgent(socket)))
    socket.once('error', reject)
  })
}
