export * from './protocols.ts'
export * from './runner.ts'
export * from './ffprobe.ts'
