// The controller's ClickHouse storage: openStorage() picks the driver, the
// writers batch rows into it. See types.ts for the interface.
import type { Storage, StorageOptions } from './types.ts'

export * from './types.ts'
export { StorageError, toStorageError } from './errors.ts'
export { SCHEMA, createTableSql } from './schema.ts'
export * from './rows.ts'
export * from './writer.ts'

/**
 * Opens the storage: the 'server' driver when `url` is an http(s) URL,
 * otherwise the embedded chDB driver in `${dataDir}/chdb`. Nothing is
 * created until init(). Each driver is loaded only when chosen, so a
 * server-backed controller never loads chDB's native library.
 */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  const url = options.url?.trim()
  if (url) {
    const { ServerStorage } = await import('./server.ts')
    return ServerStorage.open({ ...options, url })
  }
  const { EmbeddedStorage } = await import('./embedded.ts')
  return EmbeddedStorage.open(options)
}
