import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  MAX_USER_AGENT_LENGTH,
  normalizeUserAgent,
  parseUserAgent,
  PLATFORMS,
  UserAgentParser,
  type UserAgentInfo,
} from '../src/beacons/ua.ts'

// Real User-Agent strings as browsers, player apps, smart TVs and bots send them.
const cases: Array<[string, string, UserAgentInfo]> = [
  [
    'desktop Chrome on Windows',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    { browser: 'Chrome 124', os: 'Windows 10', platform: PLATFORMS.desktop },
  ],
  [
    'desktop Firefox on Ubuntu',
    'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
    { browser: 'Firefox 125', os: 'Ubuntu', platform: PLATFORMS.desktop },
  ],
  [
    'desktop Safari on macOS',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15',
    { browser: 'Safari 17', os: 'Mac OS 10.15.7', platform: PLATFORMS.desktop },
  ],
  [
    'desktop Edge',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51',
    { browser: 'Edge 124', os: 'Windows 10', platform: PLATFORMS.desktop },
  ],
  [
    'Android Chrome',
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
    { browser: 'Chrome 124', os: 'Android 10', platform: PLATFORMS.mobile },
  ],
  [
    'iOS Safari on iPhone',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1',
    { browser: 'Mobile Safari 17', os: 'iOS 17.4.1', platform: PLATFORMS.mobile },
  ],
  [
    'iPad Safari',
    'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
    { browser: 'Mobile Safari 16', os: 'iOS 16.6', platform: PLATFORMS.tablet },
  ],
  [
    'Android app with ExoPlayer',
    'ExoPlayerDemo/2.19.1 (Linux;Android 13) ExoPlayerLib/2.19.1',
    { browser: 'ExoPlayerDemo 2', os: 'Android 13', platform: PLATFORMS.unknown },
  ],
  ['Android app with okhttp', 'okhttp/4.12.0', { browser: 'okhttp 4', os: '', platform: PLATFORMS.unknown }],
  [
    'Android app with Dalvik',
    'Dalvik/2.1.0 (Linux; U; Android 12; SM-G991B Build/SP1A.210812.016)',
    { browser: 'Dalvik 2', os: 'Android 12', platform: PLATFORMS.mobile },
  ],
  [
    'iOS app with AppleCoreMedia',
    'AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4_1 like Mac OS X; en_us)',
    { browser: 'AppleCoreMedia 1', os: 'iOS 17.4.1', platform: PLATFORMS.mobile },
  ],
  [
    'tvOS app with AppleCoreMedia',
    'AppleCoreMedia/1.0.0.21L569 (Apple TV; U; CPU OS 17_4 like Mac OS X; en_us)',
    { browser: 'AppleCoreMedia 1', os: 'iOS 17.4', platform: PLATFORMS.smarttv },
  ],
  [
    'iOS app with CFNetwork',
    'MonitPlayer/3.2.1 CFNetwork/1494.0.7 Darwin/23.4.0',
    { browser: 'MonitPlayer 3', os: 'iOS', platform: PLATFORMS.unknown },
  ],
  [
    'Samsung Tizen TV',
    'Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36',
    { browser: 'Safari', os: 'Tizen 6.0', platform: PLATFORMS.smarttv },
  ],
  [
    'LG webOS TV',
    'Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.79 Safari/537.36 WebAppManager',
    { browser: 'Chrome 79', os: 'webOS TV', platform: PLATFORMS.smarttv },
  ],
  ['Roku', 'Roku/DVP-12.5 (12.5.0.4178-88)', { browser: 'Roku', os: '', platform: PLATFORMS.smarttv }],
  [
    'Android TV WebView',
    'Mozilla/5.0 (Linux; Android 9; SHIELD Android TV Build/PPR1.180610.011; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36',
    { browser: 'Chrome WebView 124', os: 'Android 9', platform: PLATFORMS.smarttv },
  ],
  [
    'Sony Bravia Android TV',
    'Mozilla/5.0 (Linux; Android 10; BRAVIA 4K UR3 Build/QTG3.200305.006.S292; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/99.0.4844.88 Mobile Safari/537.36',
    { browser: 'Chrome WebView 99', os: 'Android 10', platform: PLATFORMS.smarttv },
  ],
  [
    'Googlebot',
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    { browser: 'Googlebot 2', os: '', platform: PLATFORMS.bot },
  ],
  [
    'Googlebot smartphone',
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    { browser: 'Googlebot 2', os: 'Android 6.0.1', platform: PLATFORMS.bot },
  ],
  [
    'Bingbot',
    'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
    { browser: 'bingbot 2', os: '', platform: PLATFORMS.bot },
  ],
  ['curl', 'curl/8.5.0', { browser: 'curl 8', os: '', platform: PLATFORMS.bot }],
  ['python-requests', 'python-requests/2.31.0', { browser: 'python-requests 2', os: '', platform: PLATFORMS.bot }],
  ['VLC', 'VLC/3.0.20 LibVLC/3.0.20', { browser: 'VLC 3', os: '', platform: PLATFORMS.unknown }],
  ['empty', '', { browser: '', os: '', platform: PLATFORMS.unknown }],
  ['blank', '   ', { browser: '', os: '', platform: PLATFORMS.unknown }],
]

for (const [name, userAgent, expected] of cases) {
  test(`parseUserAgent: ${name}`, () => {
    const info = parseUserAgent(userAgent)
    assert.is(info.browser, expected.browser, 'browser')
    assert.is(info.os, expected.os, 'os')
    assert.is(info.platform, expected.platform, 'platform')
  })
}

test('phone brand ending in bot is no crawler', () => {
  const info = parseUserAgent(
    'Mozilla/5.0 (Linux; Android 13; CUBOT KINGKONG 9 Build/TP1A.220624.014) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
  )
  assert.is(info.platform, PLATFORMS.mobile)
  assert.is(info.browser, 'Chrome 124')
})

test('normalizeUserAgent cuts and trims', () => {
  assert.is(normalizeUserAgent('  curl/8.5.0 '), 'curl/8.5.0')
  const long = `curl/8.5.0 ${'x'.repeat(5000)}`
  assert.is(normalizeUserAgent(long).length, MAX_USER_AGENT_LENGTH)
})

test('parseUserAgent handles an oversized header', () => {
  const info = parseUserAgent(`Mozilla/5.0 (Windows NT 10.0) Chrome/124.0 ${'a'.repeat(20_000)}`)
  assert.is(info.os, 'Windows 10')
})

test('UserAgentParser returns the cached result', () => {
  const parser = new UserAgentParser(2)
  const first = parser.parse('curl/8.5.0')
  assert.is(parser.parse('curl/8.5.0'), first)
  assert.equal(first, { browser: 'curl 8', os: '', platform: PLATFORMS.bot })
})

test('UserAgentParser evicts the least recent entry', () => {
  const parser = new UserAgentParser(2)
  const curl = parser.parse('curl/8.5.0')
  parser.parse('okhttp/4.12.0')
  parser.parse('VLC/3.0.20 LibVLC/3.0.20')
  const again = parser.parse('curl/8.5.0')
  assert.is.not(again, curl)
  assert.equal(again, curl)
})

test.run()
