// deploy/install-agent.sh in --root mode: every run installs into a fresh
// temporary folder, with a stand-in agent binary (a shell script that prints
// a version), so that the real system is never touched.
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const installer = fileURLToPath(new URL('../deploy/install-agent.sh', import.meta.url))
const unitTemplate = fileURLToPath(new URL('../deploy/monit-agent.service', import.meta.url))
const BIN = 'usr/local/bin/monit-agent'
const UNIT = 'etc/systemd/system/monit-agent.service'
const CONFIG = 'etc/monit/agent.env'
const RECORD = 'etc/monit/agent.install-record'
const DATA = 'var/lib/monit-agent'

const work = mkdtempSync(join(tmpdir(), 'monit-install-test-'))

/** A stand-in for dist/monit-agent that prints the given version. */
function fakeBinary(version: string): string {
  const path = join(work, `monit-agent-${version}`)
  writeFileSync(path, `#!/bin/sh\necho "monit-agent ${version} (protocol 1)"\n`, { mode: 0o755 })
  return path
}

function freshRoot(): string {
  return mkdtempSync(join(work, 'root-'))
}

interface Run {
  status: number | null
  output: string
}

function install(args: string[], env: NodeJS.ProcessEnv = process.env): Run {
  const result = spawnSync('bash', [installer, ...args], { encoding: 'utf8', env, timeout: 30_000 })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

function installed(root: string, binary: string, extra: string[] = []): Run {
  const run = install(['--root', root, '--controller', 'https://monit.example.com', '--token', 'mnt_test_token', '--binary', binary, ...extra])
  assert.is(run.status, 0, run.output)
  return run
}

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8)
}

/** Makes a PATH folder with only the tools the installer needs, so that ffprobe and ffmpeg are missing. */
function pathWithoutMediaTools(): string {
  const bin = join(work, 'bin-no-ffmpeg')
  mkdirSync(bin, { recursive: true })
  const tools = ['bash', 'dirname', 'id', 'install', 'mv', 'mkdir', 'awk', 'grep', 'chmod', 'date', 'rm', 'rmdir', 'cat']
  for (const tool of tools) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim()
    if (found === '') throw new Error(`${tool} not found on this machine`)
    if (!existsSync(join(bin, tool))) symlinkSync(realpathSync(found), join(bin, tool))
  }
  return bin
}

test('install writes binary, config and unit', () => {
  const root = freshRoot()
  const binary = fakeBinary('9.9.1')
  const run = installed(root, binary, ['--name', 'edge-7', '--labels', 'region=eu-west,tier=1'])

  assert.match(run.output, 'installed monit-agent 9.9.1 (protocol 1)')
  assert.match(run.output, 'skipped (--root): useradd --system')
  assert.match(run.output, 'skipped (--root): chown monit-agent:monit-agent')
  assert.match(run.output, 'skipped (--root): systemctl enable --now monit-agent.service')

  assert.is(readFileSync(join(root, BIN), 'utf8'), readFileSync(binary, 'utf8'))
  assert.is(mode(join(root, BIN)), '755')
  assert.is(mode(join(root, UNIT)), '644')
  assert.is(mode(join(root, CONFIG)), '600')
  assert.is(mode(join(root, 'etc/monit')), '755')
  assert.is(readFileSync(join(root, UNIT), 'utf8'), readFileSync(unitTemplate, 'utf8'))
  assert.not.ok(existsSync(join(root, DATA)), 'systemd creates the data folder, not the installer')

  const config = readFileSync(join(root, CONFIG), 'utf8')
  assert.match(config, /^MONIT_CONTROLLER=https:\/\/monit\.example\.com$/m)
  assert.match(config, /^MONIT_AGENT_TOKEN=mnt_test_token$/m)
  assert.match(config, /^MONIT_AGENT_NAME=edge-7$/m)
  assert.match(config, /^MONIT_AGENT_LABELS=region=eu-west,tier=1$/m)
  assert.match(config, /^MONIT_AGENT_DATA_DIR=\/var\/lib\/monit-agent$/m)
  assert.match(config, /^MONIT_AGENT_METRICS_LISTEN=127\.0\.0\.1:9464$/m)
  assert.not.match(config, 'CHANGE_ME')
})

test('install leaves name and labels unset', () => {
  const root = freshRoot()
  installed(root, fakeBinary('9.9.1'))
  const config = readFileSync(join(root, CONFIG), 'utf8')
  assert.match(config, /^# MONIT_AGENT_NAME=$/m)
  assert.match(config, /^# MONIT_AGENT_LABELS=$/m)
})

test('install takes the token from MONIT_AGENT_TOKEN', () => {
  const root = freshRoot()
  const args = ['--root', root, '--controller', 'http://10.0.0.1:8080', '--binary', fakeBinary('9.9.1')]
  const run = install(args, { ...process.env, MONIT_AGENT_TOKEN: 'mnt_from_env' })
  assert.is(run.status, 0, run.output)
  assert.match(readFileSync(join(root, CONFIG), 'utf8'), /^MONIT_AGENT_TOKEN=mnt_from_env$/m)
})

test('unit has the service settings', () => {
  const unit = readFileSync(unitTemplate, 'utf8')
  for (const line of [
    'ExecStart=/usr/local/bin/monit-agent',
    'User=monit-agent',
    'Group=monit-agent',
    'EnvironmentFile=/etc/monit/agent.env',
    'Restart=on-failure',
    'StateDirectory=monit-agent',
    'NoNewPrivileges=true',
    'WantedBy=multi-user.target',
  ]) {
    assert.match(unit, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'), line)
  }
})

test('systemd-analyze verify accepts the unit', () => {
  if (spawnSync('bash', ['-c', 'command -v systemd-analyze']).status !== 0) {
    console.log('skipped: systemd-analyze is not installed (Debian package systemd)')
    return
  }
  const root = freshRoot()
  installed(root, fakeBinary('9.9.1'))
  // verify --root needs the system's own units (sysinit.target and the rest) inside the root.
  mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true })
  cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true })
  const result = spawnSync('systemd-analyze', ['verify', '--man=no', `--root=${root}`, join(root, UNIT)], { encoding: 'utf8', timeout: 30_000 })
  const output = `${result.stdout}${result.stderr}`
  assert.is(result.status, 0, output)
  // verify exits 0 on some unit errors (an unknown value is "ignoring"), so its output must be empty too.
  assert.is(output.trim(), '')
})

test('upgrade replaces binary and keeps config', () => {
  const root = freshRoot()
  installed(root, fakeBinary('9.9.1'))
  const configPath = join(root, CONFIG)
  writeFileSync(configPath, `${readFileSync(configPath, 'utf8')}MONIT_AGENT_CAPACITY=7\n`)
  const configBefore = readFileSync(configPath, 'utf8')
  mkdirSync(join(root, DATA), { recursive: true })
  writeFileSync(join(root, DATA, 'unsent.batch'), 'rows')
  writeFileSync(join(root, UNIT), '# an old unit\n')

  const next = fakeBinary('9.9.2')
  const run = install(['--root', root, '--upgrade', '--binary', next])
  assert.is(run.status, 0, run.output)
  assert.match(run.output, 'upgraded from monit-agent 9.9.1 (protocol 1) to monit-agent 9.9.2 (protocol 1)')
  assert.match(run.output, 'skipped (--root): systemctl try-restart monit-agent.service')
  assert.is(readFileSync(join(root, BIN), 'utf8'), readFileSync(next, 'utf8'))
  assert.is(readFileSync(join(root, UNIT), 'utf8'), readFileSync(unitTemplate, 'utf8'))
  assert.is(readFileSync(configPath, 'utf8'), configBefore)
  assert.is(mode(configPath), '600')
  assert.is(readFileSync(join(root, DATA, 'unsent.batch'), 'utf8'), 'rows')
})

test('upgrade without an install fails', () => {
  const root = freshRoot()
  const run = install(['--root', root, '--upgrade', '--binary', fakeBinary('9.9.2')])
  assert.is(run.status, 1)
  assert.match(run.output, 'agent.env not found; install first')
  assert.not.ok(existsSync(join(root, BIN)))
})

test('second install keeps the first config', () => {
  const root = freshRoot()
  installed(root, fakeBinary('9.9.1'))
  const before = readFileSync(join(root, CONFIG), 'utf8')
  const run = install(['--root', root, '--controller', 'https://other.example.com', '--token', 'mnt_other', '--binary', fakeBinary('9.9.2')])
  assert.is(run.status, 1)
  assert.match(run.output, 'use --upgrade to keep it')
  assert.is(readFileSync(join(root, CONFIG), 'utf8'), before)
})

test('uninstall removes what install wrote', () => {
  const root = freshRoot()
  installed(root, fakeBinary('9.9.1'))
  mkdirSync(join(root, DATA), { recursive: true })
  writeFileSync(join(root, DATA, 'unsent.batch'), 'rows')

  const run = install(['--root', root, '--uninstall'])
  assert.is(run.status, 0, run.output)
  for (const path of [BIN, UNIT, CONFIG, RECORD, 'etc/monit']) {
    assert.not.ok(existsSync(join(root, path)), `${path} still exists`)
  }
  assert.match(run.output, 'skipped (--root): systemctl disable --now monit-agent.service')
  assert.match(run.output, '--purge removes it')
  assert.ok(existsSync(join(root, DATA, 'unsent.batch')), 'data removed without --purge')

  const purge = install(['--root', root, '--uninstall', '--purge'])
  assert.is(purge.status, 0, purge.output)
  assert.not.ok(existsSync(join(root, DATA)), 'data kept with --purge')
})

test('uninstall keep-config keeps agent.env', () => {
  const root = freshRoot()
  installed(root, fakeBinary('9.9.1'))
  writeFileSync(join(root, 'etc/monit/controller.env'), 'MONIT_LISTEN=0.0.0.0:8080\n')
  const run = install(['--root', root, '--uninstall', '--keep-config'])
  assert.is(run.status, 0, run.output)
  assert.ok(existsSync(join(root, CONFIG)))
  assert.ok(existsSync(join(root, 'etc/monit/controller.env')))
  assert.not.ok(existsSync(join(root, BIN)))
  assert.not.ok(existsSync(join(root, UNIT)))
  assert.not.ok(existsSync(join(root, RECORD)))

  // The kept config makes --upgrade the way back.
  const back = install(['--root', root, '--upgrade', '--binary', fakeBinary('9.9.2')])
  assert.is(back.status, 0, back.output)
  assert.ok(existsSync(join(root, BIN)))
})

test('uninstall removes a user it created', () => {
  const root = freshRoot()
  installed(root, fakeBinary('9.9.1'))
  // --root never creates the user; this stands for a record left by a real install.
  writeFileSync(join(root, RECORD), `${readFileSync(join(root, RECORD), 'utf8')}created_user=yes\n`)
  const run = install(['--root', root, '--uninstall'])
  assert.is(run.status, 0, run.output)
  assert.match(run.output, 'skipped (--root): userdel monit-agent')
})

test('invalid options change nothing', () => {
  const binary = fakeBinary('9.9.1')
  const cases: Array<[string[], string]> = [
    [['--token', 'mnt_x'], '--controller is missing'],
    [['--controller', 'https://monit.example.com'], '--token (or MONIT_AGENT_TOKEN) is missing'],
    [['--controller', 'ftp://monit.example.com', '--token', 'mnt_x'], 'is not an http(s):// or ws(s):// URL'],
    [['--controller', 'https://monit.example.com', '--token', 'mnt_$HOME'], '--token contains a quote, backslash'],
    [['--controller', 'https://monit.example.com', '--token', 'mnt x'], '--token contains spaces'],
    [['--controller', 'https://monit.example.com', '--token', 'mnt_x', '--labels', 'region'], 'is not k=v,k=v'],
    [['--controller', 'https://monit.example.com', '--token', 'mnt_x', '--purge'], '--purge go with --uninstall'],
    [['--upgrade', '--uninstall'], 'give only one of --upgrade and --uninstall'],
    [['--upgrade', '--controller', 'https://monit.example.com'], '--upgrade keeps /etc/monit/agent.env'],
    [['--bogus'], 'unknown option --bogus'],
  ]
  for (const [args, message] of cases) {
    const root = freshRoot()
    const run = install(['--root', root, '--binary', binary, ...args], { ...process.env, MONIT_AGENT_TOKEN: '' })
    assert.is(run.status, 1, `${args.join(' ')}: ${run.output}`)
    assert.match(run.output, message, args.join(' '))
    assert.not.ok(existsSync(join(root, 'etc')), `${args.join(' ')} wrote files`)
  }
})

test('binary that is not the agent fails', () => {
  const root = freshRoot()
  const other = join(work, 'not-the-agent')
  writeFileSync(other, '#!/bin/sh\necho "something else 1.0"\n', { mode: 0o755 })
  const run = install(['--root', root, '--controller', 'https://monit.example.com', '--token', 'mnt_x', '--binary', other])
  assert.is(run.status, 1)
  assert.match(run.output, 'is not the monit agent')
  assert.not.ok(existsSync(join(root, BIN)))
})

test('missing ffprobe prints how to install it', () => {
  const root = freshRoot()
  const env = { ...process.env, PATH: pathWithoutMediaTools() }
  const run = install(['--root', root, '--controller', 'https://monit.example.com', '--token', 'mnt_x', '--binary', fakeBinary('9.9.1')], env)
  // --root installs for another system, so a missing tool here is a warning.
  assert.is(run.status, 0, run.output)
  assert.match(run.output, 'ffprobe ffmpeg not found')
  assert.match(run.output, 'apt-get install --no-install-recommends ffmpeg')
  assert.ok(existsSync(join(root, BIN)))
})

test('install into this system needs root', () => {
  if (process.getuid?.() !== 0 || spawnSync('bash', ['-c', 'command -v setpriv']).status !== 0) {
    console.log('skipped: needs root and setpriv to run the installer as another user')
    return
  }
  const args = ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', installer, '--controller', 'https://monit.example.com', '--token', 'mnt_x']
  const result = spawnSync('setpriv', args, { encoding: 'utf8', timeout: 30_000 })
  assert.is(result.status, 1, result.stdout + result.stderr)
  assert.match(result.stderr, 'run as root (sudo) to install into this system, or give --root DIR')
})

test.after(() => {
  rmSync(work, { recursive: true, force: true })
})

test.run()
