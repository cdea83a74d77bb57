// The whole workspace must pass the strict TypeScript check; tsx runs the
// code without checking types, so this is where type errors surface.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

test('workspace passes tsc --noEmit', () => {
  const result = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
  })
  assert.is(result.stdout + result.stderr, '')
  assert.is(result.status, 0)
})

// The dashboard runs in browsers, so it has a tsconfig of its own with the DOM library.
test('dashboard passes tsc --noEmit', () => {
  const result = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'dashboard/tsconfig.json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
  })
  assert.is(result.stdout + result.stderr, '')
  assert.is(result.status, 0)
})

test.run()
