// A controller process killed with SIGKILL while player beacons wait in its
// spill: the next start replays them, and each row is stored once. The
// controller runs as a child process (fixtures/spill-controller.ts) whose
// inserts fail on purpose in the first run. This process opens the chDB
// folder only after the last child has exited, because chDB allows one
// process per folder.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { openStorage } from '../src/storage/index.ts'
import { TEST_ADMIN_PASSWORD, TEST_JWT_SECRET, waitFor } from '../../testing/controller.ts'

const fixture = fileURLToPath(new URL('./fixtures/spill-controller.ts', import.meta.url))

interface ControllerProcess {
  child: ChildProcess
  url: string
  output(): string
  exited: Promise<number | null>
}

let dataDir: string
const children: ChildProcess[] = []

async function startController(insertsDown: boolean): Promise<ControllerProcess> {
  const args = ['--import', 'tsx', fixture, '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--flush-rows', '25', '--flush-ms', '100']
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      MONIT_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
      MONIT_JWT_SECRET: TEST_JWT_SECRET,
      MONIT_LOG_LEVEL: 'info',
      MONIT_TEST_INSERTS_DOWN: insertsDown ? '1' : '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))

  const url = await waitFor('the controller to listen', () => /\{"listening":"([^"]+)"\}/.exec(output)?.[1], 60_000, 100)
  return { child, url, output: () => output, exited }
}

let viewers = 0
async function postBeacons(url: string, count: number): Promise<number> {
  const body = Array.from({ length: count }, () => ({
    stream_id: 'restart',
    unique_id: `viewer-${++viewers}`,
    app: 'web-player',
    version: '2.0.0',
    host: 'www.example.com',
  }))
  const response = await fetch(`${url}/api/data/heatmap/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' },
    body: JSON.stringify(body),
  })
  return response.status
}

/** Rows in the heatmap spill, from the batch file names `<seq>-<rows>.json`. */
async function spilledRows(): Promise<number> {
  const names = await readdir(join(dataDir, 'spill', 'heatmap'))
  return names.map((name) => /^\d+-(\d+)\.json$/.exec(name)?.[1]).reduce((sum, rows) => sum + Number(rows ?? 0), 0)
}

test.before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'monit-spill-restart-'))
})

test.after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await rm(dataDir, { recursive: true, force: true })
})

test('spilled rows survive SIGKILL and are stored once after restart', async () => {
  const first = await startController(true)
  for (let i = 0; i < 20; i++) assert.is(await postBeacons(first.url, 25), 202, `request ${i}`)
  await waitFor('500 rows in the spill', async () => ((await spilledRows()) === 500 ? true : undefined), 30_000, 100)

  first.child.kill('SIGKILL')
  await first.exited
  assert.is(await spilledRows(), 500, 'the spill outlives the process')

  const second = await startController(false)
  assert.match(second.output(), /"table":"heatmap","batches":20,"rows":500,[^}]*"msg":"replaying spilled batches"/)
  await waitFor('the spill to drain', async () => ((await spilledRows()) === 0 ? true : undefined), 30_000, 100)
  assert.is(await postBeacons(second.url, 5), 202)
  second.child.kill('SIGTERM')
  assert.is(await second.exited, 0, second.output())

  const storage = await openStorage({ dataDir, logger: pino({ level: 'silent' }) })
  try {
    const [row] = await storage.query<{ rows: string; viewers: string }>(
      `SELECT count() AS rows, uniqExact(uniq_id) AS viewers FROM ${storage.table('heatmap')} WHERE stream_id = 'restart'`,
    )
    assert.is(Number(row?.rows), 505)
    assert.is(Number(row?.viewers), 505)
  } finally {
    await storage.close()
  }
})

test.run()
