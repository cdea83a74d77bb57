// Free ports on 127.0.0.1 for the servers that tests and benchmarks start.
import { createSocket } from 'node:dgram'
import { createServer, type AddressInfo, type Server } from 'node:net'

/** Returns a port that was free on 127.0.0.1 a moment ago, for TCP or UDP. */
export function freePort(kind: 'tcp' | 'udp' = 'tcp'): Promise<number> {
  if (kind === 'udp') {
    return new Promise((resolve, reject) => {
      const socket = createSocket('udp4')
      socket.once('error', reject)
      socket.bind(0, '127.0.0.1', () => {
        const { port } = socket.address()
        socket.close(() => resolve(port))
      })
    })
  }
  return freePorts(1).then(([port]) => port!)
}

/** Returns `count` different free TCP ports, held open together while they are chosen so that no two are the same. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, listenOnAnyPort))
  const ports = servers.map((server) => (server.address() as AddressInfo).port)
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  return ports
}

function listenOnAnyPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}
