// Runs every benchmark under bench/ (or those whose name contains an
// argument), one after another, each in its own process.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const filters = process.argv.slice(2)
const files = readdirSync(join(root, 'bench'))
  .filter((name) => name.endsWith('.ts'))
  .filter((name) => filters.length === 0 || filters.some((filter) => name.includes(filter)))
  .sort()

let failed = 0
for (const file of files) {
  console.log(`\n== ${file}`)
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench', file)], { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    failed += 1
    console.log(`${file} failed with exit code ${result.status}`)
  }
}
process.exitCode = failed > 0 ? 1 : 0
