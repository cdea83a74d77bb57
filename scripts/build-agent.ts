// Builds dist/monit-agent, the agent as one Node.js single executable
// application (SEA) that runs without Node.js or node_modules on a host of
// the same OS and CPU as the node binary running this script:
//   1. esbuild bundles agent/src/main.ts and its packages into one CommonJS file,
//   2. `node --experimental-sea-config` turns the bundle into a SEA blob,
//   3. postject injects the blob into a copy of this node binary.
// A build whose bundle and node binary match the previous build reuses it.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Metafile, type Plugin } from 'esbuild'
import { inject } from 'postject'

const root = fileURLToPath(new URL('..', import.meta.url))
const workDir = join(root, 'build', 'agent')
const bundlePath = join(workDir, 'monit-agent.cjs')
const blobPath = join(workDir, 'sea-prep.blob')
const seaConfigPath = join(workDir, 'sea-config.json')
const stampPath = join(workDir, 'monit-agent.stamp.json')
export const AGENT_BINARY = join(root, 'dist', 'monit-agent')

/** Marker string in Node's binary; postject flips the flag after it to mark the SEA blob as present. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'

/**
 * Optional native addons of ws. Each becomes a module that throws when
 * loaded, so ws falls back to its JavaScript code as it does when they are
 * not installed, and the binary never tries to load a .node file.
 */
const NATIVE_OPTIONAL = ['bufferutil', 'utf-8-validate']

const stubNativeOptional: Plugin = {
  name: 'stub-native-optional',
  setup(builder) {
    const filter = new RegExp(`^(${NATIVE_OPTIONAL.join('|')})$`)
    builder.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'native-stub' }))
    builder.onLoad({ filter: /.*/, namespace: 'native-stub' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not part of the monit-agent binary`)})`,
      loader: 'js',
    }))
  },
}

export interface BuildResult {
  binary: string
  bytes: number
  /** True when the previous build matched and was kept. */
  reused: boolean
}

async function bundleAgent(): Promise<void> {
  const result = await build({
    entryPoints: [join(root, 'agent', 'src', 'main.ts')],
    outfile: bundlePath,
    bundle: true,
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    format: 'cjs',
    plugins: [stubNativeOptional],
    metafile: true,
    logLevel: 'warning',
  })
  if (result.warnings.length > 0) {
    throw new Error(`esbuild printed ${result.warnings.length} warning(s) above; fix them before packaging`)
  }
  checkBundleInputs(result.metafile)
}

/** Rejects a bundle that would need a file outside the binary at run time. */
function checkBundleInputs(metafile: Metafile): void {
  const addons = Object.keys(metafile.inputs).filter((input) => input.endsWith('.node'))
  if (addons.length > 0) throw new Error(`the bundle includes native addons: ${addons.join(', ')}`)

  // A SEA's require() loads built-in modules only.
  const external = Object.values(metafile.outputs)
    .flatMap((output) => output.imports)
    .filter((entry) => entry.external && !isBuiltin(entry.path))
    .map((entry) => entry.path)
  if (external.length > 0) {
    throw new Error(`the bundle requires modules that are not built into Node.js: ${[...new Set(external)].join(', ')}`)
  }
}

function checkNodeBinary(): void {
  const variables = process.config.variables as Record<string, unknown>
  if (variables.node_shared === true) {
    throw new Error(`${process.execPath} loads a shared libnode, so a copy of it is not self-contained; build with a Node.js from nodejs.org or NodeSource`)
  }
  if (!readFileSync(process.execPath).includes(SEA_FUSE)) {
    throw new Error(`${process.execPath} has no single executable application support (${SEA_FUSE} not found)`)
  }
}

/** Identifies a build by its bundle and the node binary it is injected into. */
function fingerprint(): string {
  const node = statSync(process.execPath)
  return createHash('sha256')
    .update(readFileSync(bundlePath))
    .update(`${process.execPath}\0${process.version}\0${process.arch}\0${node.size}\0${node.mtimeMs}`)
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .digest('hex')
}

interface Stamp {
  fingerprint: string
  bytes: number
  mtimeMs: number
}

function previousBuildMatches(id: string): boolean {
  try {
    const stamp = JSON.parse(readFileSync(stampPath, 'utf8')) as Stamp
    const binary = statSync(AGENT_BINARY)
    return stamp.fingerprint === id && stamp.bytes === binary.size && stamp.mtimeMs === binary.mtimeMs
  } catch {
    return false
  }
}

function makeBlob(): void {
  const seaConfig = {
    main: bundlePath,
    output: blobPath,
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
  }
  writeFileSync(seaConfigPath, `${JSON.stringify(seaConfig, null, 2)}\n`)
  const result = spawnSync(process.execPath, ['--experimental-sea-config', seaConfigPath], { encoding: 'utf8' })
  if (result.status !== 0) {
    throw new Error(`node --experimental-sea-config failed (exit ${result.status}): ${result.stderr}`)
  }
}

/**
 * Removes the debug symbols of the node copy with binutils' strip when it is
 * installed (95.4 MiB down to 83.6 MiB with Node 20.20 on x86-64). The SEA fuse and
 * the symbols that Node.js exports stay.
 */
function stripSymbols(file: string): void {
  const result = spawnSync('strip', [file], { encoding: 'utf8' })
  if (result.error !== undefined) {
    console.log(`build-agent: strip not found (${result.error.message}); the binary keeps its debug symbols`)
    return
  }
  if (result.status !== 0) throw new Error(`strip ${file} failed (exit ${result.status}): ${result.stderr}`)
}

/**
 * Runs postject with console.warn filtered: its ELF library (LIEF) prints
 * "Can't find string offset for section name" for some notes of Node's
 * binary, and the binary it writes runs all the same (the tests run it).
 * postject binds console.warn when it loads its WebAssembly module in inject().
 */
async function withoutSectionNameWarnings(run: () => Promise<void>): Promise<void> {
  const warn = console.warn
  console.warn = (...args: unknown[]) => {
    if (/^warning: Can't find string offset for section name/.test(String(args[0]))) return
    warn(...args)
  }
  try {
    await run()
  } finally {
    console.warn = warn
  }
}

/** Injects the blob into a copy of node, then renames it into place so no reader sees a partial file. */
async function injectBlob(): Promise<void> {
  mkdirSync(join(root, 'dist'), { recursive: true })
  const partial = `${AGENT_BINARY}.partial-${process.pid}`
  try {
    copyFileSync(process.execPath, partial)
    chmodSync(partial, 0o755)
    stripSymbols(partial)
    const blob = readFileSync(blobPath)
    await withoutSectionNameWarnings(() => inject(partial, 'NODE_SEA_BLOB', blob, { sentinelFuse: SEA_FUSE }))
    renameSync(partial, AGENT_BINARY)
  } finally {
    rmSync(partial, { force: true })
  }
}

function printedVersion(binary: string): string {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8', env: {}, timeout: 30_000 })
  if (result.status !== 0) {
    throw new Error(`${binary} --version failed (exit ${result.status}): ${result.stderr}`)
  }
  return result.stdout.trim()
}

/** Builds dist/monit-agent, or keeps it when nothing it is made from has changed. */
export async function buildAgent(): Promise<BuildResult> {
  checkNodeBinary()
  mkdirSync(workDir, { recursive: true })
  await bundleAgent()
  const id = fingerprint()
  if (previousBuildMatches(id)) {
    return { binary: AGENT_BINARY, bytes: statSync(AGENT_BINARY).size, reused: true }
  }

  makeBlob()
  await injectBlob()
  const binary = statSync(AGENT_BINARY)
  const stamp: Stamp = { fingerprint: id, bytes: binary.size, mtimeMs: binary.mtimeMs }
  writeFileSync(stampPath, `${JSON.stringify(stamp)}\n`)
  return { binary: AGENT_BINARY, bytes: binary.size, reused: false }
}

async function main(): Promise<void> {
  const result = await buildAgent()
  const version = printedVersion(result.binary)
  const mebibytes = (result.bytes / 1024 / 1024).toFixed(1)
  const outcome = result.reused ? 'unchanged, kept' : 'built'
  console.log(`${relative(process.cwd(), result.binary) || result.binary}: ${outcome}, ${mebibytes} MiB, ${version}`)
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(`build-agent: ${error instanceof Error ? error.message : String(error)}`)
    process.exitCode = 1
  })
}
