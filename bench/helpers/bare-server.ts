// The baseline server: a bare Fastify POST route that returns {}.
import Fastify from 'fastify'

const port = Number(process.argv[2])
const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 })
app.get('/healthz', async () => ({}))
app.post('/api/data/heatmap/v1', async () => ({}))
await app.listen({ host: '127.0.0.1', port })
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)))
