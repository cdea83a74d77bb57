// Receivers for alert notifications in tests, both on 127.0.0.1 only: an HTTP
// server that records each POST and responds with scripted statuses, and an
// SMTP server (smtp-server) that records each mail.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

export interface ReceivedRequest {
  path: string
  headers: IncomingMessage['headers']
  body: string
  /** The receiver's clock when the request arrived, in Unix seconds. */
  atS: number
}

export interface ScriptedResponse {
  status: number
  body?: string
  headers?: Record<string, string>
  /** The response waits for this promise first. */
  hold?: Promise<void>
}

export interface HttpReceiver {
  /** http://127.0.0.1:PORT */
  url: string
  requests: ReceivedRequest[]
  /** Responses for the next requests, in order; once used up, every request gets 200 `ok`. */
  script: ScriptedResponse[]
  /** Resolves when `count` requests have arrived, or rejects after timeoutMs. */
  waitForRequests(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>
  stop(): Promise<void>
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    request.on('error', reject)
  })
}

/** Polls every 10 ms until check returns true, or rejects after timeoutMs. */
async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export async function startHttpReceiver(): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = []
  const script: ScriptedResponse[] = []
  const respond = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const body = await readBody(request)
    const atS = Math.floor(Date.now() / 1000)
    requests.push({ path: request.url ?? '', headers: request.headers, body, atS })
    const next = script.shift() ?? { status: 200, body: 'ok' }
    await next.hold
    response.writeHead(next.status, { 'content-type': 'text/plain', ...next.headers }).end(next.body ?? '')
  }
  const server = createServer((request, response) => void respond(request, response))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script,
    async waitForRequests(count, timeoutMs = 10_000) {
      await until(`${count} requests`, () => requests.length >= count, timeoutMs)
      return requests.slice(0, count)
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

export interface ReceivedMail {
  from: string
  to: string[]
  /** The user that authenticated, or undefined. */
  user: string | undefined
  /** The message as sent: headers, a blank line, the body. */
  raw: string
}

export interface SmtpReceiver {
  port: number
  mails: ReceivedMail[]
  /** Resolves when `count` mails have arrived, or rejects after timeoutMs. */
  waitForMails(count: number, timeoutMs?: number): Promise<ReceivedMail[]>
  stop(): Promise<void>
}

/** Starts an SMTP server without TLS that accepts the one user and password given. */
export async function startSmtpReceiver(user: string, password: string): Promise<SmtpReceiver> {
  const mails: ReceivedMail[] = []
  const server = new SMTPServer({
    hideSTARTTLS: true,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) callback(null, { user })
      else callback(new Error('invalid user or password'))
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        const envelope = session.envelope
        mails.push({
          from: envelope.mailFrom === false ? '' : envelope.mailFrom.address,
          to: envelope.rcptTo.map((address) => address.address),
          user: typeof session.user === 'string' ? session.user : undefined,
          raw: Buffer.concat(chunks).toString('utf8'),
        })
        callback()
      })
    },
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.server.address() as AddressInfo
  return {
    port,
    mails,
    async waitForMails(count, timeoutMs = 10_000) {
      await until(`${count} mails`, () => mails.length >= count, timeoutMs)
      return mails.slice(0, count)
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** Decodes a quoted-printable body, as nodemailer sends plain text with long lines. */
export function decodeQuotedPrintable(text: string): string {
  const unwrapped = text.replace(/=\r?\n/g, '')
  const decodeByte = (_match: string, hex: string) => String.fromCharCode(parseInt(hex, 16))
  const bytes = unwrapped.replace(/=([0-9A-F]{2})/g, decodeByte)
  return Buffer.from(bytes, 'latin1').toString('utf8')
}

/** Returns a header value of a raw mail, unfolded, or undefined when absent. */
export function mailHeader(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/)[0] ?? ''
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ')
  const prefix = `${name.toLowerCase()}:`
  const line = unfolded.split(/\r?\n/).find((candidate) => candidate.toLowerCase().startsWith(prefix))
  return line?.slice(name.length + 1).trim()
}

/** Returns the decoded text body of a raw single-part mail. */
export function mailText(raw: string): string {
  const separator = /\r?\n\r?\n/.exec(raw)
  const body = separator === null ? '' : raw.slice(separator.index + separator[0].length)
  const encoding = mailHeader(raw, 'content-transfer-encoding')?.toLowerCase()
  return encoding === 'quoted-printable' ? decodeQuotedPrintable(body) : body
}
