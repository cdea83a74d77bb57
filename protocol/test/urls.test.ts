import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { checkStreamUrl } from '../src/index.ts'

const accepted = [
  ['http://127.0.0.1:8000/live/index.m3u8', 'http'],
  ['https://cdn.example.com/live/manifest.mpd', 'https'],
  ['rtmp://127.0.0.1:1935/live/stream', 'rtmp'],
  ['rtmps://edge.example.com/live/stream', 'rtmps'],
  ['srt://127.0.0.1:9000?mode=caller', 'srt'],
  ['udp://127.0.0.1:5000', 'udp'],
  ['rtp://239.0.0.1:5004', 'rtp'],
]

for (const [url, scheme] of accepted) {
  test(`checkStreamUrl accepts ${scheme}`, () => {
    const result = checkStreamUrl(url!)
    assert.ok(result.ok)
    if (result.ok) assert.is(result.scheme, scheme)
  })
}

const rejected = [
  ['file:///etc/passwd', /scheme "file" is not allowed/],
  ['pipe:0', /scheme "pipe" is not allowed/],
  ['concat:a.ts|b.ts', /scheme "concat" is not allowed/],
  ['data:text/plain,hello', /scheme "data" is not allowed/],
  ['subfile,,start,0,end,10,,:/etc/passwd', /not a valid URL/],
  ['/var/media/stream.ts', /not a valid URL/],
  ['http://', /not a valid URL|no host/],
  [' http://127.0.0.1/live.m3u8', /contains spaces or control characters/],
  ['ht\ttp://127.0.0.1/live.m3u8', /contains spaces or control characters/],
] as const

for (const [url, pattern] of rejected) {
  test(`checkStreamUrl rejects ${url.slice(0, 24)}`, () => {
    const result = checkStreamUrl(url)
    assert.is(result.ok, false)
    if (!result.ok) assert.match(result.message, pattern)
  })
}

test.run()
