/** Probes, metrics and the API version. */
import type { FastifyInstance } from 'fastify';
import type { ServerDeps } from '../server.js';

export function registerOpsRoutes(app: FastifyInstance, deps: ServerDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const problems = deps.kernels.problems;
    if (!deps.isReady()) return reply.status(503).send({ status: 'starting', problems });
    return { status: 'ready', problems };
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(body);
  });

  app.get('/api', async () => ({ version: deps.version }));
  app.get('/api/status', async () => ({
    started: new Date(Date.now() - process.uptime() * 1000).toISOString(),
    last_activity: new Date(Math.max(0, ...deps.kernels.list().map((k) => k.lastActivity))).toISOString(),
    connections: deps.kernels.list().reduce((n, k) => n + k.connections, 0),
    kernels: deps.kernels.list().length,
  }));
}
