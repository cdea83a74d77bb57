// The baseline for the fleet benchmark's heartbeat figure: a bare ws
// WebSocketServer that parses each frame as JSON, replies to a hello with a
// welcome and pings every socket at the controller's heartbeat interval.
// GET /healthz returns 200 once it listens.
//
// Usage: fleet-bare-server.ts PORT HEARTBEAT_S
import { createServer } from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'
import { PROTOCOL_VERSION } from '@monit/protocol'

const port = Number(process.argv[2])
const heartbeatS = Number(process.argv[3] ?? 2)
const server = createServer((request, response) => {
  response.statusCode = request.url === '/healthz' ? 200 : 404
  response.end('{}')
})
const wss = new WebSocketServer({ server, path: '/api/agents/v1/ws' })
const sockets = new Set<WebSocket>()

wss.on('connection', (socket) => {
  sockets.add(socket)
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { type?: string }
    if (message.type === 'hello') {
      socket.send(JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION, controller_version: 'bare', heartbeat_interval_s: heartbeatS }))
    }
  })
  socket.on('close', () => sockets.delete(socket))
})

const pings = setInterval(() => {
  for (const socket of sockets) socket.ping()
}, heartbeatS * 1000)

server.listen(port, '127.0.0.1')
process.once('SIGTERM', () => {
  clearInterval(pings)
  for (const socket of sockets) socket.terminate()
  wss.close()
  server.close(() => process.exit(0))
})
