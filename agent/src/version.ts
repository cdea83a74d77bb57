// A JSON import, unlike reading package.json at run time, works both under
// tsx and in the single executable, where esbuild inlines the file.
import agentPackage from '../package.json' with { type: 'json' }

/** The agent's version, from its package.json. */
export const AGENT_VERSION: string = agentPackage.version
