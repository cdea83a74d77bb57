// The controller's ClickHouse storage: openStorage() picks the driver, the
// writers batch rows into it. See types.ts for the interface.
import type { Storage, StorageOptions } from './types.ts'

export * from './types.ts'
export { StorageError, toStorageError } from './errors.ts'
export { SCHEMA, createTableSql, schemaStatements } from './schema.ts'
export * from './rows.ts'
export * from './writer.ts'

/**
 * Opens the storage: the 'server' driver when `url` is an http(s) URL,
 * otherwise the embedded chDB driver in `${dataDir}/chdb`. Throws when a
 * cluster is given without a URL. Nothing is created until init(). Each driver is loaded only when chosen, so a
 * server-backed controller never loads chDB's native library.
 */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  const url = options.url?.trim()
  if (!url && options.cluster) {
    throw new Error(
      `ClickHouse cluster ${JSON.stringify(options.cluster)} needs the server driver: set the ClickHouse server URL, or unset the cluster to use embedded chDB, which has no cluster`,
    )
  }
  if (url) {
    const { ServerStorage } = await import('./server.ts')
    return ServerStorage.open({ ...options, url })
  }
  const { EmbeddedStorage } = await import('./embedded.ts')
  return EmbeddedStorage.open(options)
}
