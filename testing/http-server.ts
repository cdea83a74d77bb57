// Small node:http servers for tests: static files from a folder (an HLS
// playlist and its segments), or a fixed status for every request.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'

export interface TestHttpServer {
  /** http://127.0.0.1:PORT (no trailing slash). */
  readonly url: string
  readonly port: number
  /** Request paths seen so far, in order. */
  readonly requests: string[]
  /** Closes the listener and every open connection. Idempotent. */
  stop(): Promise<void>
}

const CONTENT_TYPES: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.mpd': 'application/dash+xml',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, requests: string[]): Promise<TestHttpServer> {
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '')
    handler(req, res)
  })
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  let stopped: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })),
  }
}

/** Serves the files of one folder (no sub-folders, no listing); 404 for anything else. */
export function startStaticServer(dir: string): Promise<TestHttpServer> {
  const root = normalize(dir)
  return listen((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    const file = normalize(join(root, path))
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !file.startsWith(root + sep) || file.slice(root.length + 1).includes(sep)) {
      res.writeHead(404).end()
      return
    }
    readFile(file).then(
      (body) => {
        res.writeHead(200, {
          'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
          'content-length': body.length,
          'cache-control': 'no-cache',
        })
        res.end(req.method === 'HEAD' ? undefined : body)
      },
      () => res.writeHead(404).end(),
    )
  }, [])
}

/** Answers every request with one status (404 by default) and an empty body. */
export function startStatusServer(status = 404): Promise<TestHttpServer> {
  return listen((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' }).end()
  }, [])
}
