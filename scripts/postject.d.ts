// Types for the part of postject (1.0.0-alpha.6) that scripts/build-agent.ts uses.
declare module 'postject' {
  export interface InjectOptions {
    /** Marker string in the target binary whose trailing flag postject flips. */
    sentinelFuse?: string
    /** Replace a resource of the same name instead of failing. */
    overwrite?: boolean
    machoSegmentName?: string
  }

  /** Adds resourceData to the executable at filename as a named resource. */
  export function inject(
    filename: string,
    resourceName: string,
    resourceData: Buffer,
    options?: InjectOptions,
  ): Promise<void>
}
