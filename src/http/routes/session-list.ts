/**
 * `GET /api/sparkgate/sessions`: every session the caller may see, kernels and terminals, live
 * and ended within logRetentionSeconds (whose logs and usage can still be read), with owner,
 * team and executor namespace. Users see their own; admins everyone's.
 * `?state=live|ended|all` (default all).
 */
import type { FastifyInstance } from 'fastify';
import { errors } from '../../errors.js';
import type { SessionRecord } from '../../sessions/session-registry.js';
import { canAccess } from '../../users/identity.js';
import { identityOf } from '../ownership.js';
import type { ServerDeps } from '../server.js';

export function sessionRecordModel(r: SessionRecord) {
  return {
    id: r.id,
    kind: r.kind,
    kernelspec: r.kernelspec,
    user: r.owner.user,
    team: r.owner.team,
    started_by: r.owner.via ?? null,
    started: new Date(r.startedAt).toISOString(),
    ended: r.endedAt === undefined ? null : new Date(r.endedAt).toISOString(),
    namespace: r.sparkConf?.['spark.kubernetes.namespace'] ?? null,
    spark_app_id: r.sparkConf?.['spark.app.id'] ?? null,
  };
}

export function registerSessionListRoutes(app: FastifyInstance, deps: ServerDeps): void {
  app.get<{ Querystring: { state?: string } }>('/api/sparkgate/sessions', async (req) => {
    const state = req.query.state ?? 'all';
    if (!['live', 'ended', 'all'].includes(state)) throw errors.badRequest('state must be live, ended or all');
    const identity = identityOf(req);
    return deps.registry
      .all()
      .filter((r) => canAccess(identity, r.owner))
      .filter((r) => state === 'all' || (state === 'live') === (r.endedAt === undefined))
      .sort((a, b) => a.startedAt - b.startedAt)
      .map(sessionRecordModel);
  });
}
