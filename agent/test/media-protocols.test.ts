import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { STREAM_SCHEMES } from '@monit/protocol'
import {
  FORBIDDEN_PROTOCOLS,
  inputArgs,
  protocolWhitelist,
  redactUrl,
  streamScheme,
  UnsupportedUrlError,
} from '../src/media/protocols.ts'
import { activeChildren, runMediaTool } from '../src/media/runner.ts'
import { classifyFailure, probeArgs, probeDeadlineMs } from '../src/media/ffprobe.ts'
import { probeStream } from '../src/monitor/probe.ts'
import { startStaticServer } from '../../testing/http-server.ts'

const whitelists: Array<[string, string]> = [
  ['http://example.com/live/index.m3u8', 'http,https,tcp,tls,crypto'],
  ['https://example.com/live/manifest.mpd', 'http,https,tcp,tls,crypto'],
  ['HTTPS://EXAMPLE.COM/x.m3u8', 'http,https,tcp,tls,crypto'],
  ['rtmp://127.0.0.1/live/stream', 'rtmp,tcp'],
  ['rtmps://example.com/live/stream', 'rtmps,tls,tcp'],
  ['srt://127.0.0.1:9000?mode=caller', 'srt'],
  ['udp://239.0.0.1:1234', 'udp'],
  ['udp://@:1234', 'udp'],
  ['rtp://127.0.0.1:5004', 'rtp,udp'],
]

for (const [url, expected] of whitelists) {
  test(`whitelist for ${url}`, () => {
    assert.is(protocolWhitelist(url), expected)
    for (const forbidden of FORBIDDEN_PROTOCOLS) assert.not.ok(expected.split(',').includes(forbidden))
  })
}

test('every protocol scheme has a whitelist', () => {
  for (const scheme of STREAM_SCHEMES) assert.ok(protocolWhitelist(`${scheme}://127.0.0.1:1/x`).length > 0)
})

const rejected: Array<[string, RegExp]> = [
  ['file:///etc/passwd', /unsupported URL scheme "file"/],
  ['/etc/passwd', /no scheme/],
  ['pipe:0', /no scheme/],
  ['concat:a.ts|b.ts', /no scheme/],
  ['data:text/plain;base64,AAAA', /no scheme/],
  ['subfile,,start,0,end,10,,:/etc/passwd', /no scheme/],
  ['crypto+http://example.com/x', /unsupported URL scheme "crypto\+http"/],
  ['hls+http://example.com/x.m3u8', /unsupported URL scheme "hls\+http"/],
  ['tcp://127.0.0.1:1234', /unsupported URL scheme "tcp"/],
  ['ftp://example.com/x.ts', /unsupported URL scheme "ftp"/],
  ['-i', /no scheme/],
  ['', /empty/],
  ['http://example.com/a b', /spaces or control/],
  ['http://example.com/\nfile:///etc/passwd', /spaces or control/],
]

for (const [url, pattern] of rejected) {
  test(`rejects ${JSON.stringify(url)}`, () => {
    assert.throws(() => streamScheme(url), (error: Error) => error instanceof UnsupportedUrlError && pattern.test(error.message))
    assert.throws(() => inputArgs(url, 5), (error: Error) => error instanceof UnsupportedUrlError)
  })
}

test('input timeouts per protocol', () => {
  const flag = (args: string[], name: string) => {
    const i = args.indexOf(name)
    return i < 0 ? undefined : args[i + 1]
  }
  const http = inputArgs('http://h/x.m3u8', 10)
  assert.is(flag(http, '-rw_timeout'), '10000000')
  assert.is(flag(http, '-timeout'), '10000000')
  const rtmp = inputArgs('rtmp://h/live/s', 10)
  assert.is(flag(rtmp, '-rw_timeout'), '10000000')
  assert.is(flag(rtmp, '-timeout'), undefined, 'rtmp -timeout would make ffprobe listen')
  const udp = inputArgs('udp://127.0.0.1:1234', 2.5)
  assert.is(flag(udp, '-timeout'), '2500000')
  const srt = inputArgs('srt://h:1', 4)
  assert.is(flag(srt, '-timeout'), '4000000')
  assert.is(flag(srt, '-connect_timeout'), '4000')
  for (const args of [http, rtmp, udp, srt]) {
    assert.is(args.at(-2), '-i')
    assert.is(args[0], '-protocol_whitelist')
  }
})

test('probe arguments read a sample window of packets', () => {
  const args = probeArgs('http://h/x.m3u8', { sample_s: 7, timeout_s: 3 })
  assert.is(args[args.indexOf('-read_intervals') + 1], '%+7')
  assert.ok(args.includes('-show_entries'))
  assert.is(args.at(-1), 'http://h/x.m3u8')
  assert.is(probeDeadlineMs({ sample_s: 7, timeout_s: 3 }), 15_000)
})

test('redactUrl hides credentials', () => {
  assert.is(redactUrl('rtmp://user:secret@host/live/x'), 'rtmp://***@host/live/x')
  assert.is(redactUrl('http://host/x?user=a@b'), 'http://host/x?user=a@b')
})

test('runMediaTool refuses a disallowed input before spawning', async () => {
  let error: unknown
  try {
    await runMediaTool('ffprobe', ['-protocol_whitelist', 'file', '-i', 'file:///etc/passwd'], { deadlineMs: 1000 })
  } catch (e) {
    error = e
  }
  assert.instance(error, UnsupportedUrlError)
  assert.is(activeChildren(), 0)
})

test('runMediaTool refuses an input without its whitelist', async () => {
  let error: unknown
  try {
    await runMediaTool('ffprobe', ['-protocol_whitelist', 'http,tcp,file', '-i', 'http://127.0.0.1:1/x.m3u8'], { deadlineMs: 1000 })
  } catch (e) {
    error = e
  }
  assert.match(String(error), /protocol whitelist/)
})

test('probeStream rejects an unsupported scheme without a process', async () => {
  const result = await probeStream('file:///etc/passwd', { sample_s: 1, timeout_s: 1 })
  assert.is(result.ok, false)
  if (result.ok) return
  assert.match(result.reason, /unsupported URL scheme "file"/)
  assert.is(result.retryable, false)
})

test('real ffprobe: an HLS playlist pointing at file: segments is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'monit-evil-'))
  await writeFile(join(dir, 'secret.ts'), Buffer.alloc(188 * 10, 0x47))
  await writeFile(
    join(dir, 'index.m3u8'),
    `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\nfile://${join(dir, 'secret.ts')}\n#EXT-X-ENDLIST\n`,
  )
  const server = await startStaticServer(dir)
  try {
    const result = await probeStream(`${server.url}/index.m3u8`, { sample_s: 1, timeout_s: 3 })
    assert.is(result.ok, false)
    if (result.ok) return
    assert.match(result.reason, /protocol not allowed: file/)
    assert.is(activeChildren(), 0)
  } finally {
    await server.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

const failures: Array<[string, Parameters<typeof classifyFailure>[0], string]> = [
  ['HTTP 404', { code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: 'http://h/x.m3u8: Server returned 404 Not Found\n' }, 'not found (HTTP 404)'],
  ['HTTP 403', { code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: 'http://h/x: Server returned 403 Forbidden (access denied)\n' }, 'forbidden (HTTP 403)'],
  ['HTTP 503', { code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: 'http://h/x: Server returned 503 Service Unavailable\n' }, 'server error (HTTP 503)'],
  ['HTTP 4XX', { code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: 'http://h/x: Server returned 4XX Client Error, but not one of 40{0,1,3,4}\n' }, 'client error (HTTP 4xx)'],
  ['refused', { code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: '[tcp @ 0x5] Connection to tcp://127.0.0.1:1 failed: Connection refused\nhttp://127.0.0.1:1/x: Connection refused\n' }, 'connection refused'],
  ['connect timeout', { code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: '[tcp @ 0x5] Connection to tcp://10.0.0.1:80 failed: Connection timed out\nhttp://10.0.0.1/x: Connection timed out\n' }, 'timeout: TCP connect timed out (host unreachable or filtered)'],
  ['read timeout', { code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: 'http://127.0.0.1:5/x.m3u8: Connection timed out\n' }, 'timeout: no data within 10 s'],
  ['rtmp handshake timeout', { code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: '[rtmp @ 0x5] Cannot read RTMP handshake response\nrtmp://h/live/x: Connection timed out\n' }, 'timeout: no data within 10 s'],
  ['rtmp handshake eof', { code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: '[rtmp @ 0x5] Cannot read RTMP handshake response\nrtmp://h/live/x: End of file\n' }, 'RTMP handshake failed'],
  ['dns', { code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: '[tcp @ 0x5] Failed to resolve hostname nope.invalid: Name or service not known\n' }, 'host not found: nope.invalid'],
  ['srt', { code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: '[srt @ 0x5] Connection to srt://127.0.0.1:9 failed: Input/output error\nsrt://127.0.0.1:9: Input/output error\n' }, 'connection failed: no SRT listener answered within 10 s'],
  ['udp silence', { code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: 'udp://127.0.0.1:9: Input/output error\n' }, 'timeout: no data within 10 s'],
  ['deadline', { code: null, signal: 'SIGKILL', timedOut: true, stdoutOverflow: false, stderr: '', durationMs: 25_004 }, 'timeout: no complete sample, probe killed after 25 s'],
  ['whitelist', { code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: "[file @ 0x5] Protocol 'file' not on whitelist 'http,tcp'!\n" }, 'protocol not allowed: file'],
  ['invalid data', { code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: 'http://h/x: Invalid data found when processing input\n' }, 'invalid data: not a readable media stream'],
  ['exit 0 without packets', { code: 0, signal: null, timedOut: false, stdoutOverflow: false, stderr: '' }, 'no packets within the sample window'],
  ['other', { code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: '[hls @ 0x55] Something odd happened\n' }, 'ffprobe failed: Something odd happened'],
]

for (const [name, run, reason] of failures) {
  test(`classifies ${name}`, () => {
    assert.is(classifyFailure(run, 10), reason)
  })
}

test('the last stderr line in a reason hides URL credentials', () => {
  const url = 'rtmp://bob:hunter2@h/live/x'
  const reason = classifyFailure({ code: 1, signal: null, timedOut: false, stdoutOverflow: false, stderr: `${url}: Weird failure\n` }, 5, url)
  assert.not.match(reason, /hunter2/)
})

test.run()
