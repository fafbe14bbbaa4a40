/** Probes, metrics and the API version. */
import type { FastifyInstance } from 'fastify';
import type { ServerDeps } from '../server.js';
import { errors } from '../../errors.js';
import { identityOf, visibleKernels } from '../ownership.js';

export function registerOpsRoutes(app: FastifyInstance, deps: ServerDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const problems = deps.kernels.problems;
    if (!deps.isReady()) return reply.status(503).send({ status: 'starting', problems });
    return { status: 'ready', problems };
  });

  // Metrics carry every user's name (usage counters): admins only (the operator's token, or an
  // admin in the users file) once there are several users.
  app.get('/metrics', async (req, reply) => {
    if (deps.users.multiUser && !identityOf(req).admin) throw errors.forbidden('Metrics are for admins (users file: admin: true)');
    const body = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(body);
  });

  app.get('/api', async () => ({ version: deps.version }));
  // Jupyter's status, over the kernels the caller may see.
  app.get('/api/status', async (req) => {
    const kernels = visibleKernels(deps, req);
    return {
      started: new Date(Date.now() - process.uptime() * 1000).toISOString(),
      last_activity: new Date(Math.max(0, ...kernels.map((k) => k.lastActivity))).toISOString(),
      connections: kernels.reduce((n, k) => n + k.connections, 0),
      kernels: kernels.length,
    };
  });
  // Who the token belongs to: clients (the CLI, the JupyterLab extension) show it.
  app.get('/api/sparkgate/me', async (req) => {
    const identity = identityOf(req);
    return {
      name: identity.name,
      team: identity.team,
      groups: identity.groups,
      admin: identity.admin,
      trusted: identity.trusted,
      source: identity.source,
      namespace: deps.users.team(identity.team).namespace ?? deps.config.spark.namespace ?? null,
      multi_user: deps.users.multiUser,
    };
  });
}
