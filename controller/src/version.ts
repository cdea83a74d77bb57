import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** The controller's version, from its package.json. */
export const CONTROLLER_VERSION: string = (require('../package.json') as { version: string }).version
