export * from './messages.ts'
export * from './codec.ts'
