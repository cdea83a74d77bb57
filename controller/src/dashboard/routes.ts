// Routes of the web dashboard. GET / returns its page and GET /ui/* its script,
// style and source maps, all from the folder that scripts/build-dashboard.ts
// writes. The dashboard itself calls the REST API and the live feed with the
// token of the user who logs in, so these routes are public.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import fastifyStatic from '@fastify/static'
import createError from '@fastify/error'
import type { Logger } from 'pino'
import { Access } from '../auth/roles.ts'

/** Folder of the bundle, as scripts/build-dashboard.ts writes it. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../build/dashboard/', import.meta.url))
export const BUILD_COMMAND = 'node --import tsx scripts/build-dashboard.ts'
/** URL prefix of the bundle's files. */
export const ASSET_PREFIX = '/ui/'

const DashboardNotBuilt = createError<[string]>('MONIT_ERR_DASHBOARD_NOT_BUILT', 'the dashboard is not built; run `%s` and restart the controller', 404)

/** Returns the page that GET / serves when there is no bundle. */
function missingBundlePage(dir: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>monit: dashboard not built</title></head>
<body>
<h1>The monit dashboard is not built</h1>
<p>The controller found no <code>index.html</code> in <code>${escapeHtml(dir)}</code>.
Build it from the repository root, then restart the controller:</p>
<pre>${BUILD_COMMAND}</pre>
<p><code>make run</code> builds it before it starts the controller. The REST API works without it.</p>
</body>
</html>
`
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)
}

/**
 * Registers GET / and the files under /ui/. When dir has no index.html, it
 * logs a warning and GET / returns 503 with a page naming the build command.
 */
export async function dashboardRoutes(app: FastifyInstance, logger: Logger, dir = DEFAULT_DASHBOARD_DIR): Promise<void> {
  const config = { access: Access.public }
  if (!existsSync(join(dir, 'index.html'))) {
    logger.warn({ dir, command: BUILD_COMMAND }, 'dashboard bundle not found, so / shows how to build it')
    app.get('/', { config, schema: { hide: true } }, async (_request, reply) =>
      reply.code(503).type('text/html; charset=utf-8').send(missingBundlePage(dir)),
    )
    // Registered in both cases, so that the controller has the same routes with and without a bundle.
    app.get(`${ASSET_PREFIX}*`, { config, schema: { hide: true } }, async () => {
      throw new DashboardNotBuilt(BUILD_COMMAND)
    })
    return
  }

  logger.info({ dir }, 'serving the dashboard at /')
  await app.register(fastifyStatic, {
    root: dir,
    prefix: ASSET_PREFIX,
    index: false,
    // One GET and HEAD route for /ui/*, which reads the folder on each request, so a rebuild needs no restart.
    wildcard: true,
    schemaHide: true,
  })
  app.get('/', { config, schema: { hide: true } }, async (_request, reply) =>
    // The page names the current app.js and app.css, so browsers revalidate it on each load.
    reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false }),
  )
}
