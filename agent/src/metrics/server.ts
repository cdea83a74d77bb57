// A small HTTP server for the agent's own health: GET /healthz and
// GET /metrics (Prometheus text format). It binds a local address by default
// because the agent needs no inbound port for its work.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { AgentMetrics } from './registry.ts'

/** Host and TCP port to listen on. */
export interface ListenAddress {
  host: string
  port: number
}

export interface MetricsServerOptions {
  listen: ListenAddress
  metrics: AgentMetrics
  /** Whether the controller has accepted the agent, shown by /healthz. */
  controllerConnected: () => boolean
  logger: Logger
}

export interface MetricsServer {
  /** Base URL, such as http://127.0.0.1:9464. */
  url: string
  close(): Promise<void>
}

/** Starts the server; rejects when the address cannot be bound (in use, not local, ...). */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    handle(request, response, options).catch((error: unknown) => {
      options.logger.error({ err: error, path: request.url }, 'metrics request failed')
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' })
      response.end('internal error\n')
    })
  })
  await listen(server, options.listen)
  const url = baseUrl(server.address() as AddressInfo)
  options.logger.info({ url, paths: ['/metrics', '/healthz'] }, 'metrics server listening')
  return {
    url,
    close: () => new Promise((done) => {
      server.close(() => done())
      server.closeAllConnections()
    }),
  }
}

async function handle(request: IncomingMessage, response: ServerResponse, options: MetricsServerOptions): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://agent').pathname
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' })
    response.end('method not allowed; use GET\n')
    return
  }

  if (path === '/metrics') {
    const body = await options.metrics.render()
    response.writeHead(200, { 'content-type': options.metrics.contentType })
    response.end(request.method === 'HEAD' ? undefined : body)
    return
  }
  if (path === '/healthz') {
    // 200 while the process runs: a lost controller is retried, and a
    // restart would not bring it back, so it shows only in the body.
    const body = JSON.stringify({ status: 'ok', controller_connected: options.controllerConnected() })
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(request.method === 'HEAD' ? undefined : `${body}\n`)
    return
  }
  response.writeHead(404, { 'content-type': 'text/plain' })
  response.end('not found; the agent serves /metrics and /healthz\n')
}

function listen(server: Server, address: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(address.port, address.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

function baseUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `http://${host}:${address.port}`
}
