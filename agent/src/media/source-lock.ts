// Sources that take one reader at a time. A unicast UDP or RTP port hands
// each datagram to one socket only, so the probe, the picture and sound check
// and the screenshot of such a stream take turns rather than starve each other.
const tails = new Map<string, Promise<void>>()

/** Returns true for URLs whose reader binds a local port: udp:// and rtp://. */
export function singleReader(url: string): boolean {
  return /^(udp|rtp):\/\//i.test(url)
}

/** Runs `task` after the tasks started earlier on the same single-reader source; for other URLs, at once. */
export async function withSource<T>(url: string, task: () => Promise<T>): Promise<T> {
  if (!singleReader(url)) return task()
  const previous = tails.get(url) ?? Promise.resolve()
  let release!: () => void
  const turn = new Promise<void>((resolve) => (release = resolve))
  const tail = previous.then(() => turn)
  tails.set(url, tail)
  await previous
  try {
    return await task()
  } finally {
    release()
    if (tails.get(url) === tail) tails.delete(url)
  }
}
