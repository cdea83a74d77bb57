export * from './messages.ts'
export * from './codec.ts'
export * from './urls.ts'
export * from './liveness.ts'
