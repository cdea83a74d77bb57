export * from './log.ts'
export * from './report.ts'
