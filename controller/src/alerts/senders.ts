// Sends one notice on one channel, once: an HTTP POST, or an e-mail through
// the channel's SMTP server. Retries are up to the caller (retry.ts).
import nodemailer from 'nodemailer'
import { channelSecrets, redactSecrets } from './channels.ts'
import { emailContent, type AlertNotice } from './formats.ts'
import { buildHttpRequest, type HttpRequest } from './requests.ts'
import type { AttemptResult } from './retry.ts'
import { ChannelType, type ChannelSettings, type EmailConfig } from './types.ts'

export interface SendOptions {
  /** Milliseconds one HTTP request or SMTP conversation may take. */
  timeoutMs: number
  /** Aborts the attempt, as when the controller shuts down. */
  signal?: AbortSignal
  now(): number
}

/** Characters of a response body or SMTP reply kept in the delivery record. */
const MAX_RESPONSE_CHARS = 512
/** Bytes of a response body read before the rest is dropped. */
const MAX_RESPONSE_BYTES = 4096
/** HTTP statuses worth another attempt besides 5xx. */
const RETRYABLE_HTTP_STATUSES = new Set([408, 425, 429])

/** Sends the notice once and returns the result, with the channel's secrets removed from every text. */
export async function sendNotice(
  settings: ChannelSettings,
  notice: AlertNotice,
  options: SendOptions,
): Promise<AttemptResult> {
  const result = await sendUnredacted(settings, notice, options)
  const secrets = channelSecrets(settings)
  const redact = (text: string | null) => (text === null ? null : redactSecrets(text, secrets))
  return { ...result, response: redact(result.response), error: redact(result.error) }
}

async function sendUnredacted(
  settings: ChannelSettings,
  notice: AlertNotice,
  options: SendOptions,
): Promise<AttemptResult> {
  if (settings.type === ChannelType.email) return sendEmail(settings.config, notice, options)
  const request = buildHttpRequest(settings, notice, options.now())
  if (request === undefined) throw new Error(`channel type ${settings.type} has no HTTP request`)
  return postJson(request, options)
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  // fetch reports network failures as "fetch failed" with the reason in cause.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ''
  return `${error.message}${cause}`
}

async function readStart(response: Response): Promise<string> {
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let bytes = 0
  while (bytes < MAX_RESPONSE_BYTES) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    bytes += value.length
  }
  await reader.cancel().catch(() => undefined)
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_RESPONSE_CHARS)
}

/** Reads Retry-After as seconds or an HTTP date. */
function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000
  const at = Date.parse(header)
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined
}

async function postJson(request: HttpRequest, options: SendOptions): Promise<AttemptResult> {
  const timeout = AbortSignal.timeout(options.timeoutMs)
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal])
  let response: Response
  try {
    // No redirects: a signed body goes to the configured URL only.
    const { url, headers, body } = request
    response = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal })
  } catch (error) {
    const text = timeout.aborted ? `timed out after ${options.timeoutMs} ms` : errorText(error)
    return { ok: false, retryable: true, httpStatus: null, response: null, error: `request failed: ${text}` }
  }
  const body = await readStart(response).catch(
    (error: unknown) => `(reading the response failed: ${errorText(error)})`,
  )
  const httpStatus = response.status
  if (response.ok) return { ok: true, retryable: false, httpStatus, response: body, error: null }

  const retryable = httpStatus >= 500 || RETRYABLE_HTTP_STATUSES.has(httpStatus)
  const error = `HTTP ${httpStatus}`
  const result: AttemptResult = { ok: false, retryable, httpStatus, response: body, error }
  const delay = retryAfterMs(response.headers.get('retry-after'), options.now())
  return delay === undefined ? result : { ...result, retryAfterMs: delay }
}

interface SmtpError {
  message?: string
  code?: string
  responseCode?: number
  response?: string
}

async function sendEmail(
  config: EmailConfig,
  notice: AlertNotice,
  options: SendOptions,
): Promise<AttemptResult> {
  const transport = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    secure: config.secure,
    ...(config.user === null ? {} : { auth: { user: config.user, pass: config.password ?? '' } }),
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  })
  const abort = (): void => transport.close()
  options.signal?.addEventListener('abort', abort, { once: true })
  try {
    const { subject, text } = emailContent(notice)
    const info = await transport.sendMail({ from: config.from, to: config.to, subject, text })
    const response = String(info.response).slice(0, MAX_RESPONSE_CHARS)
    return { ok: true, retryable: false, httpStatus: null, response, error: null }
  } catch (error) {
    const smtp = error as SmtpError
    // 5xx replies are permanent (RFC 5321, section 4.2.1); 4xx and connection failures may pass later.
    const retryable = smtp.responseCode === undefined || smtp.responseCode < 500
    const response = smtp.response === undefined ? null : smtp.response.slice(0, MAX_RESPONSE_CHARS)
    const message = `SMTP failed: ${smtp.message ?? String(error)}`
    return { ok: false, retryable, httpStatus: null, response, error: message }
  } finally {
    options.signal?.removeEventListener('abort', abort)
    transport.close()
  }
}
