/** The parts of a WebSocket (as in the ws package) that liveness checks use. */
export interface PingableSocket {
  ping(): void
  terminate(): void
  on(event: 'pong', listener: () => void): unknown
  once(event: 'close', listener: () => void): unknown
}

/** Pongs a connection may miss in a row before it is taken as dead. */
export const MISSED_PONGS_LIMIT = 2

/**
 * Pings the peer every intervalMs and terminates the socket once it has
 * missed MISSED_PONGS_LIMIT pongs in a row, so a socket that a proxy
 * dropped without a close frame is noticed within two intervals.
 * Returns a function that stops the pings.
 */
export function keepAlive(socket: PingableSocket, intervalMs: number, onDead: () => void): () => void {
  let missed = 0
  socket.on('pong', () => {
    missed = 0
  })

  const timer = setInterval(() => {
    if (missed >= MISSED_PONGS_LIMIT) {
      clearInterval(timer)
      onDead()
      socket.terminate()
      return
    }
    missed += 1
    try {
      socket.ping()
    } catch {
      // The socket is closing; its close event stops the timer.
    }
  }, intervalMs)
  timer.unref()

  const stop = () => clearInterval(timer)
  socket.once('close', stop)
  return stop
}
