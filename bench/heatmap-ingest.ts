// Heatmap ingest throughput. The controller's beacon route against a bare
// Fastify route returning {} (one beacon per request), and 100 beacons per
// request against the storage writer fed the same rows directly, and that
// writer against chDB taking the same rows already encoded; then every
// accepted row is counted in ClickHouse, and the controller's peak memory is
// read. All on 127.0.0.1, in one run, with the same load generator.
import autocannon from 'autocannon'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { cpuSeconds, peakMemoryMiB, report, runHelper, startControllerProcess, stopProcess, waitForHttp } from './helpers/processes.ts'
import { beacons, USER_AGENT } from './helpers/heatmap-rows.ts'

// Fixed request counts (not durations), so that every response is counted.
const singleRequests = Number(process.env.MONIT_BENCH_REQUESTS ?? 100_000)
const hundredRequests = singleRequests / 10
const connections = 16
const path = '/api/data/heatmap/v1'

async function load(url: string, perRequest: number, amount: number): Promise<{ requestsPerSecond: number; accepted: number; failed: number }> {
  // Timed from the start to the last response: autocannon's own `duration`,
  // and the moment it resolves, follow its one-second ticker, which on runs of
  // a few seconds is off by up to a third.
  const started = performance.now()
  let lastResponse = started
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}${path}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
        body: JSON.stringify(beacons(perRequest, 0)),
        connections,
        amount,
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    )
    instance.on('response', () => {
      lastResponse = performance.now()
    })
  })
  const seconds = (lastResponse - started) / 1000
  return { requestsPerSecond: result['2xx'] / seconds, accepted: result['2xx'], failed: result.non2xx + result.errors }
}

/** Runs a load against a server process and adds the microseconds of that process's CPU per accepted request. */
async function loadWithCpu(url: string, pid: number, perRequest: number, amount: number): Promise<Awaited<ReturnType<typeof load>> & { cpuUsPerRequest: number }> {
  const before = cpuSeconds(pid)
  const result = await load(url, perRequest, amount)
  return { ...result, cpuUsPerRequest: ((cpuSeconds(pid) - before) / result.accepted) * 1e6 }
}

async function bareRoute(port: number): Promise<{ requestsPerSecond: number; cpuUsPerRequest: number }> {
  const entry = fileURLToPath(new URL('./helpers/bare-server.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', entry, String(port)], { stdio: 'inherit' })
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 30_000)
    return await loadWithCpu(`http://127.0.0.1:${port}`, child.pid!, 1, singleRequests)
  } finally {
    await stopProcess(child)
  }
}

console.log(`heatmap ingest: autocannon on 127.0.0.1, ${connections} connections, ${singleRequests} requests of 1 beacon, ${hundredRequests} of 100`)
const bare = await bareRoute(18611)

const direct = await runHelper<{ rowsPerSecond: number; stored: number; rows: number }>('bench/helpers/writer-direct.ts', ['500000'])
const engine = await runHelper<{ rowsPerSecond: number }>('bench/helpers/chdb-direct.ts', ['500000'])

const controller = await startControllerProcess(18612, { MONIT_BEACON_RATE_LIMIT: '0', MONIT_WRITE_RATE_LIMIT: '1000000' })
const single = await loadWithCpu(controller.url, controller.child.pid!, 1, singleRequests)
const hundred = await load(controller.url, 100, hundredRequests)
const peak = peakMemoryMiB(controller.child.pid!)
await controller.stop()
const counted = await runHelper<{ rows: number }>('bench/helpers/count-rows.ts', [controller.dataDir, 'heatmap'])

report('1 beacon per request', single.requestsPerSecond, 'requests/s', { name: 'bare Fastify route', value: bare.requestsPerSecond }, '>= 0.5x')
// The load generator takes most of a core too, so on a small machine the servers' CPU per request explains the first ratio.
report('server process CPU per request, 1 beacon', single.cpuUsPerRequest, 'µs', { name: 'bare Fastify route', value: bare.cpuUsPerRequest })
report('100 beacons per request', hundred.requestsPerSecond * 100, 'rows/s', { name: 'storage writer fed directly', value: direct.rowsPerSecond }, '>= 0.5x')
report('storage writer fed directly', direct.rowsPerSecond, 'rows/s', { name: 'chDB alone, the rows encoded in advance', value: engine.rowsPerSecond })
const expected = single.accepted + hundred.accepted * 100
console.log(`rows accepted: ${expected.toLocaleString('en-US')}; rows counted in ClickHouse: ${counted.rows.toLocaleString('en-US')}; ${counted.rows === expected ? 'all present once' : 'MISMATCH'}`)
console.log(`rejected or failed requests: ${single.failed + hundred.failed}`)
report('controller peak memory (VmHWM)', peak, 'MiB')
