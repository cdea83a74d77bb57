// Publishes a live test HLS stream for trying monit: ffmpeg encodes a test
// pattern with a tone (1280x720, 25 fps, about 2 Mbit/s, 2 s keyframe
// interval) into ./data/demo-stream, and a small HTTP server serves it at
// http://127.0.0.1:8090/live/index.m3u8 until Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { mkdir, rm, stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { extname, join, normalize, resolve } from 'node:path'

const port = Number(process.env.MONIT_DEMO_PORT ?? 8090)
const folder = resolve(process.env.MONIT_DEMO_DIR ?? 'data/demo-stream')
const contentTypes: Record<string, string> = { '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t' }

const server = createServer(async (request, response) => {
  const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname))
  const file = join(folder, path)
  if (!file.startsWith(folder + '/')) {
    response.writeHead(403).end()
    return
  }
  try {
    const info = await stat(file)
    response.writeHead(200, { 'content-type': contentTypes[extname(file)] ?? 'application/octet-stream', 'content-length': info.size, 'cache-control': 'no-cache' })
    createReadStream(file).pipe(response)
  } catch {
    response.writeHead(404).end('not found\n')
  }
})
// Listen first: when the port is taken (another demo stream runs), stop before touching its folder or starting ffmpeg.
await new Promise<void>((listening) => {
  server.once('error', (error: NodeJS.ErrnoException) => {
    console.error(`demo-stream: cannot listen on 127.0.0.1:${port} (${error.code ?? error.message}); is another demo stream running? Set MONIT_DEMO_PORT to use another port.`)
    process.exit(1)
  })
  server.listen(port, '127.0.0.1', listening)
})
console.log(`demo stream: http://127.0.0.1:${port}/live/index.m3u8 (the first segments appear after about 4 s; Ctrl-C stops it)`)

await rm(folder, { recursive: true, force: true })
await mkdir(join(folder, 'live'), { recursive: true })

const ffmpegArgs = [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    '-b:v', '2M', '-maxrate', '2M', '-bufsize', '2M', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '96k',
    '-f', 'hls', '-hls_time', '2', '-hls_list_size', '6', '-hls_flags', 'delete_segments',
    join(folder, 'live', 'index.m3u8'),
  ]

let stopping = false
let ffmpeg = startEncoder()

/** Runs ffmpeg, and starts it again a second after it dies unless the demo is stopping. */
function startEncoder(): ChildProcess {
  const child = spawn('ffmpeg', ffmpegArgs, { stdio: ['ignore', 'inherit', 'inherit'] })
  child.on('error', (error) => {
    console.error(`demo-stream: could not start ffmpeg: ${error.message}; install it with: apt-get install ffmpeg`)
    process.exit(1)
  })
  child.on('exit', (code, signal) => {
    if (stopping) return
    console.error(`demo-stream: ffmpeg exited (code ${code}, signal ${signal}); starting it again`)
    setTimeout(() => {
      if (!stopping) ffmpeg = startEncoder()
    }, 1000)
  })
  return child
}

const stop = () => {
  stopping = true
  ffmpeg.kill('SIGTERM')
  server.close()
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
