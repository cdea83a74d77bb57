// Bundles the web dashboard (dashboard/src) with esbuild into
// build/dashboard/: index.html, app.js and app.css. The controller serves
// that folder at / and /ui/. Run it alone with
// `node --import tsx scripts/build-dashboard.ts`; `make run` and
// scripts/test-setup.sh run it too.
import { copyFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))

/** Default folder that the controller serves the dashboard from. */
export const DASHBOARD_BUILD_DIR = join(root, 'build', 'dashboard')

/** Bundles the dashboard into outDir and returns the paths of the files written. */
export async function buildDashboard(outDir = DASHBOARD_BUILD_DIR): Promise<string[]> {
  await mkdir(outDir, { recursive: true })
  const result = await build({
    entryPoints: { app: join(root, 'dashboard', 'src', 'main.tsx') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    // Browsers since about 2020 run ES2020.
    target: 'es2020',
    minify: true,
    sourcemap: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    // Licence comments of preact and uPlot go to app.js.LEGAL.txt.
    legalComments: 'linked',
    logLevel: 'warning',
    metafile: true,
    absWorkingDir: root,
  })
  await copyFile(join(root, 'dashboard', 'index.html'), join(outDir, 'index.html'))
  return [join(outDir, 'index.html'), ...Object.keys(result.metafile.outputs).map((path) => join(root, path))]
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = await buildDashboard()
  console.log(`dashboard built: ${files.length} files in ${DASHBOARD_BUILD_DIR}`)
}
