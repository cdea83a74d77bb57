/*
 * monit player SDK: reports viewers and player events of an HTML5 <video>
 * element (and of hls.js, when given) to a monit controller.
 *
 *   <script src="https://monit.example.com/sdk/monit.js"></script>
 *   const handle = monit.attach(video, {
 *     endpoint: 'https://monit.example.com', streamId: 'news-1', app: 'web', version: '1.0.0', hls,
 *   })
 *   handle.detach()
 *
 * Heatmap beacons go to ENDPOINT/api/data/heatmap/v1 and events to
 * ENDPOINT/api/data/events/v1, as JSON arrays in text/plain bodies, which
 * need no CORS preflight. Plain ES2017 with no dependencies, served by the
 * controller as is.
 */
;(function (global) {
  'use strict'

  var SDK_VERSION = '1.0.0'
  var HEATMAP_PATH = '/api/data/heatmap/v1'
  var EVENTS_PATH = '/api/data/events/v1'
  var VIEWER_ID_KEY = 'monit.viewer_id'
  /** Items the controller accepts in one request. */
  var SERVER_MAX_ITEMS = 1000
  var STREAM_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/
  var BACKOFF_BASE_MS = 1000
  var BACKOFF_MAX_MS = 60000
  /** Longest Retry-After the SDK honours. */
  var RETRY_AFTER_MAX_MS = 300000
  /** Browsers cap the bodies of keepalive fetches and sendBeacon at 64 KiB in flight. */
  var KEEPALIVE_MAX_CHARS = 60000
  var MEDIA_ERRORS = {
    1: 'MEDIA_ERR_ABORTED',
    2: 'MEDIA_ERR_NETWORK',
    3: 'MEDIA_ERR_DECODE',
    4: 'MEDIA_ERR_SRC_NOT_SUPPORTED',
  }

  function randomId() {
    var crypto = global.crypto
    if (crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID()
    var bytes = new Uint8Array(16)
    if (crypto && typeof crypto.getRandomValues === 'function') crypto.getRandomValues(bytes)
    else for (var i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256)
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1) }).join('')
  }

  /** Returns the viewer id kept in localStorage, or a new one per page when storage is unavailable. */
  function viewerId() {
    try {
      var stored = global.localStorage.getItem(VIEWER_ID_KEY)
      if (stored) return stored
      var created = randomId()
      global.localStorage.setItem(VIEWER_ID_KEY, created)
      return created
    } catch (error) {
      // Storage is disabled, full, or blocked in this context.
      return randomId()
    }
  }

  function hostOf(url) {
    if (typeof url !== 'string' || !/^https?:/i.test(url)) return ''
    try {
      return new URL(url).hostname
    } catch (error) {
      return ''
    }
  }

  function retryable(status) {
    return status === 408 || status === 425 || status === 429 || status >= 500
  }

  function retryAfterMs(response) {
    var header = response && response.headers && response.headers.get('retry-after')
    var seconds = Number(header)
    return header && isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, RETRY_AFTER_MAX_MS) : 0
  }

  /**
   * A bounded queue of items for one beacon URL. It sends a batch when
   * maxBatch items wait or flushMs after the first one, one request at a
   * time, and retries failed requests with exponential backoff.
   */
  class Channel {
    constructor(url, options) {
      this.url = url
      this.maxBatch = options.maxBatch
      this.maxQueue = options.maxQueue
      this.flushMs = options.flushMs
      this.queue = []
      this.timer = undefined
      this.inFlight = false
      this.failures = 0
      this.waitingUntil = 0
      this.stopped = false
      this.stats = { sent: 0, dropped: 0, rejected: 0, retries: 0 }
    }

    push(item) {
      if (this.stopped) return
      this.queue.push(item)
      this.trim()
      if (this.queue.length >= this.maxBatch) this.flush()
      else this.schedule(this.flushMs)
    }

    /** Drops the oldest items past maxQueue. */
    trim() {
      var excess = this.queue.length - this.maxQueue
      if (excess <= 0) return
      this.queue.splice(0, excess)
      this.stats.dropped += excess
    }

    schedule(delayMs) {
      if (this.timer !== undefined || this.stopped) return
      var self = this
      this.timer = setTimeout(function () {
        self.timer = undefined
        self.flush()
      }, delayMs)
    }

    flush() {
      if (this.inFlight || this.queue.length === 0 || this.stopped) return
      var waitMs = this.waitingUntil - Date.now()
      if (waitMs > 0) {
        this.schedule(waitMs)
        return
      }
      var batch = this.queue.splice(0, this.maxBatch)
      this.inFlight = true
      var self = this
      this.post(batch).then(function (outcome) {
        self.inFlight = false
        self.settle(batch, outcome)
      })
    }

    /** Resolves to { status } or { status: 0 } for a network error; never rejects. */
    post(batch) {
      var body = JSON.stringify(batch)
      var init = {
        method: 'POST',
        body: body,
        headers: { 'Content-Type': 'text/plain' },
        mode: 'cors',
        credentials: 'omit',
        // Lets the request finish when the page is closed meanwhile.
        keepalive: body.length < KEEPALIVE_MAX_CHARS,
      }
      return global.fetch(this.url, init).then(
        function (response) { return { status: response.status, retryAfterMs: retryAfterMs(response) } },
        function () { return { status: 0, retryAfterMs: 0 } },
      )
    }

    settle(batch, outcome) {
      var status = outcome.status
      if (status >= 200 && status < 300) {
        this.stats.sent += batch.length
        this.failures = 0
      } else if (status === 0 || retryable(status)) {
        this.retryLater(batch, outcome.retryAfterMs)
        return
      } else if (status === 400 && stripTimes(batch)) {
        // The controller rejects event times far from its clock; it stamps
        // the receive time on events sent without one.
        this.requeue(batch)
      } else {
        this.stats.rejected += batch.length
      }
      if (this.queue.length >= this.maxBatch) this.flush()
      else if (this.queue.length > 0) this.schedule(this.flushMs)
    }

    retryLater(batch, serverDelayMs) {
      this.failures += 1
      this.stats.retries += 1
      this.requeue(batch)
      var backoffMs = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, this.failures - 1))
      // Jitter spreads the retries of many players after an outage.
      var delayMs = Math.max(backoffMs * (0.5 + Math.random() / 2), serverDelayMs)
      this.waitingUntil = Date.now() + delayMs
      this.schedule(delayMs)
    }

    requeue(batch) {
      this.queue = batch.concat(this.queue)
      this.trim()
    }

    /** Hands every queued item to navigator.sendBeacon, which outlives the page. */
    sendAllWithBeacon() {
      var navigator = global.navigator
      if (!navigator || typeof navigator.sendBeacon !== 'function') return
      while (this.queue.length > 0) {
        var count = this.queue.length < this.maxBatch ? this.queue.length : this.maxBatch
        var body = JSON.stringify(this.queue.slice(0, count))
        if (body.length > KEEPALIVE_MAX_CHARS && count > 1) count = Math.ceil(count / 2)
        body = JSON.stringify(this.queue.slice(0, count))
        // A string body is sent as text/plain;charset=UTF-8.
        if (!navigator.sendBeacon(this.url, body)) return
        this.queue.splice(0, count)
        this.stats.sent += count
      }
    }

    stop() {
      this.stopped = true
      clearTimeout(this.timer)
      this.timer = undefined
    }
  }

  /** Removes `ts` from the items; returns whether any had one. */
  function stripTimes(batch) {
    var found = false
    batch.forEach(function (item) {
      if (item.ts !== undefined) {
        delete item.ts
        found = true
      }
    })
    return found
  }

  function requireText(options, name, maxLength) {
    var value = options[name]
    if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
      throw new TypeError('monit.attach: options.' + name + ' must be a string of 1 to ' + maxLength + ' characters')
    }
    return value
  }

  function readOptions(options) {
    if (!options || typeof options.endpoint !== 'string') {
      throw new TypeError('monit.attach: options.endpoint must be the controller URL, such as https://monit.example.com')
    }
    var streamId = requireText(options, 'streamId', 128)
    if (!STREAM_ID_PATTERN.test(streamId)) {
      throw new TypeError('monit.attach: options.streamId may contain only letters, digits and . _ : -')
    }
    var heartbeatS = Number(options.heartbeatS || 30)
    var maxBatch = Math.floor(Number(options.maxBatch || 50))
    return {
      endpoint: options.endpoint.replace(/\/+$/, ''),
      streamId: streamId,
      app: requireText(options, 'app', 64),
      version: requireText(options, 'version', 64),
      host: options.host === undefined ? undefined : requireText(options, 'host', 253),
      platform: options.platform === undefined ? undefined : requireText(options, 'platform', 32),
      hls: options.hls,
      heartbeatMs: Math.max(1, heartbeatS) * 1000,
      flushMs: Math.max(0, Number(options.flushMs === undefined ? 5000 : options.flushMs)),
      maxBatch: Math.min(SERVER_MAX_ITEMS, Math.max(1, maxBatch)),
      maxQueue: Math.max(1, Math.floor(Number(options.maxQueue || 500))),
    }
  }

  /**
   * Starts reporting a video element. Options: endpoint, streamId, app,
   * version (required); host, platform, hls, heartbeatS (30), flushMs
   * (5000), maxBatch (50), maxQueue (500, per beacon URL). Returns a handle
   * with detach(), flush(), stats() and viewerId.
   */
  function attach(video, rawOptions) {
    if (!video || typeof video.addEventListener !== 'function') {
      throw new TypeError('monit.attach: the first argument must be a <video> element')
    }
    var options = readOptions(rawOptions)
    var uniqueId = viewerId()
    var heatmap = new Channel(options.endpoint + HEATMAP_PATH, options)
    var events = new Channel(options.endpoint + EVENTS_PATH, options)
    var state = { started: false, seeking: false, stalledAt: 0 }
    var listeners = []
    var detached = false

    function streamHost() {
      if (options.host) return options.host
      var hls = options.hls
      var host = hostOf(hls && hls.url) || hostOf(video.currentSrc)
      return host || (global.location && global.location.hostname) || 'unknown'
    }

    function viewerFields() {
      var fields = {
        stream_id: options.streamId,
        unique_id: uniqueId,
        app: options.app,
        version: options.version,
        host: streamHost(),
      }
      if (options.platform) fields.platform = options.platform
      return fields
    }

    function sendBeacon() {
      heatmap.push(viewerFields())
    }

    /** Queues an event of `type` with optional code and value. */
    function track(type, extra) {
      var event = viewerFields()
      event.type = type
      if (extra && extra.code !== undefined) event.code = String(extra.code).slice(0, 128) || 'unknown'
      if (extra && typeof extra.value === 'number' && isFinite(extra.value) && extra.value >= 0) {
        event.value = extra.value
      }
      event.ts = Date.now()
      events.push(event)
    }

    function playing() {
      return !video.paused && !video.ended
    }

    function endStall() {
      if (state.stalledAt === 0) return
      track('rebuffer_end', { value: Math.round(Date.now() - state.stalledAt) })
      state.stalledAt = 0
    }

    function on(target, name, handler) {
      target.addEventListener(name, handler)
      listeners.push(function () { target.removeEventListener(name, handler) })
    }

    on(video, 'play', function () { track('play') })
    on(video, 'pause', function () { if (!video.ended) track('pause') })
    on(video, 'seeking', function () {
      endStall()
      state.seeking = true
    })
    on(video, 'seeked', function () {
      state.seeking = false
      track('seek', { value: video.currentTime })
    })
    on(video, 'waiting', function () {
      // Buffering before the first frame or after a seek is not a rebuffer.
      if (!state.started || state.seeking || state.stalledAt !== 0) return
      state.stalledAt = Date.now()
      track('rebuffer_start')
    })
    on(video, 'playing', function () {
      state.started = true
      endStall()
    })
    on(video, 'error', function () {
      var error = video.error
      var code = error ? error.code : 0
      track('error', { code: MEDIA_ERRORS[code] || 'MEDIA_ERR_UNKNOWN', value: code })
    })

    var hlsOff = watchHls(options.hls, track)

    function onPageHidden() {
      heatmap.sendAllWithBeacon()
      events.sendAllWithBeacon()
    }
    if (global.document) {
      on(global.document, 'visibilitychange', function () {
        if (global.document.visibilityState === 'hidden') onPageHidden()
      })
    }
    if (typeof global.addEventListener === 'function') on(global, 'pagehide', onPageHidden)

    var heartbeatTimer = setInterval(function () {
      if (!playing()) return
      track('heartbeat')
      sendBeacon()
    }, options.heartbeatMs)
    sendBeacon()

    return {
      viewerId: uniqueId,
      version: SDK_VERSION,
      /** Sends what is queued now, without waiting for flushMs. */
      flush: function () {
        heatmap.flush()
        events.flush()
      },
      stats: function () {
        return { heatmap: Object.assign({ queued: heatmap.queue.length }, heatmap.stats),
          events: Object.assign({ queued: events.queue.length }, events.stats) }
      },
      /** Stops reporting and sends what is queued with sendBeacon. */
      detach: function () {
        if (detached) return
        detached = true
        clearInterval(heartbeatTimer)
        listeners.forEach(function (remove) { remove() })
        hlsOff()
        heatmap.stop()
        events.stop()
        onPageHidden()
      },
    }
  }

  /** Reports hls.js level switches and fatal errors; returns a function that stops it. */
  function watchHls(hls, track) {
    if (!hls || typeof hls.on !== 'function') return function () {}
    var names = (hls.constructor && hls.constructor.Events) || {}
    var levelSwitched = names.LEVEL_SWITCHED || 'hlsLevelSwitched'
    var errorName = names.ERROR || 'hlsError'

    function onLevelSwitched(_event, data) {
      var level = hls.levels && data ? hls.levels[data.level] : undefined
      var bitrate = level ? level.bitrate || level.averageBitrate : undefined
      // The controller rejects a bitrate_switch without a value, and with it the whole batch.
      if (typeof bitrate === 'number' && isFinite(bitrate) && bitrate >= 0) {
        track('bitrate_switch', { value: bitrate })
      }
    }
    function onError(_event, data) {
      if (data && data.fatal) track('error', { code: data.details || data.type || 'hls_fatal_error' })
    }

    hls.on(levelSwitched, onLevelSwitched)
    hls.on(errorName, onError)
    return function () {
      hls.off(levelSwitched, onLevelSwitched)
      hls.off(errorName, onError)
    }
  }

  var monit = { attach: attach, version: SDK_VERSION }
  global.monit = monit
  if (typeof module === 'object' && module && module.exports) module.exports = monit
})(typeof self !== 'undefined' ? self : this)
