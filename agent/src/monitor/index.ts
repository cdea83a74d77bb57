export * from './metrics.ts'
export * from './probe.ts'
export * from './stream-monitor.ts'
export * from './monitor-set.ts'
