/** `/api/sessions` for clients that talk to sparkgate directly (JupyterLab's SessionManager). */
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { errors } from '../../errors.js';
import type { SessionRow } from '../../sessions/session-store.js';
import { createSessionBodySchema, patchSessionBodySchema, sessionModelSchema, uuidSchema } from '../models.js';
import type { ServerDeps } from '../server.js';
import { kernelModel, parseBody } from './kernels.js';
import { identityOf, ownerForStart, visibleKernel } from '../ownership.js';
import { canAccess, ownerOf } from '../../users/identity.js';
import type { FastifyRequest } from 'fastify';

function sessionIdParam(id: string): string {
  if (!uuidSchema.safeParse(id).success) throw errors.sessionNotFound(id.slice(0, 64));
  return id;
}

export function registerSessionRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { kernels, sessions } = deps;

  const model = (row: SessionRow) => {
    const kernel = kernels.find(row.kernelId);
    return sessionModelSchema.parse({
      id: row.id,
      path: row.path,
      name: row.name,
      type: row.type,
      kernel: kernel ? kernelModel(kernel) : null,
      notebook: { path: row.path, name: row.name },
    });
  };

  /** The kernel a create/patch names: an existing id the caller may see, or a new kernel of the named spec. */
  const resolveKernel = async (
    req: FastifyRequest,
    ref: { id?: string | undefined; name?: string | undefined } | undefined,
    env: unknown,
  ) => {
    if (ref?.id) return visibleKernel(deps, req, ref.id).id;
    const start = ownerForStart(deps, req, env);
    const kernel = await kernels.startKernel({ name: ref?.name, env: start.env, owner: start.owner });
    return kernel.id;
  };

  /** Sessions the caller may see: their rows (and, for admins, everyone's). */
  const visibleRows = (req: FastifyRequest) => {
    const identity = identityOf(req);
    return sessions.list().filter((row) => canAccess(identity, row.owner));
  };
  const visibleRow = (req: FastifyRequest, id: string) => {
    const row = sessions.get(sessionIdParam(id));
    if (!canAccess(identityOf(req), row.owner)) throw errors.sessionNotFound(row.id);
    return row;
  };

  app.get('/api/sessions', async (req) => visibleRows(req).map(model));

  app.get<{ Params: { id: string } }>('/api/sessions/:id', async (req) => model(visibleRow(req, req.params.id)));

  app.post('/api/sessions', async (req, reply) => {
    const body = parseBody(createSessionBodySchema, req.body);
    const sessionPath = body.path ?? body.notebook?.path;
    if (!sessionPath) throw errors.invalidBody('Invalid request body: path is required');
    // An existing session for the same path is returned, as Jupyter Server does (paths are per
    // user: two users' notebooks at the same path are two sessions).
    const existing = visibleRows(req).find((s) => s.path === sessionPath && s.owner.user === identityOf(req).name);
    if (existing) return reply.status(201).send(model(existing));
    const kernelId = await resolveKernel(req, body.kernel, (body as { env?: unknown }).env);
    const row = sessions.create({
      owner: ownerOf(identityOf(req)),
      path: sessionPath,
      name: body.name ?? path.basename(sessionPath),
      type: body.type ?? 'notebook',
      kernelId,
    });
    return reply.status(201).header('location', `/api/sessions/${row.id}`).send(model(row));
  });

  app.patch<{ Params: { id: string } }>('/api/sessions/:id', async (req) => {
    const id = sessionIdParam(req.params.id);
    const body = parseBody(patchSessionBodySchema, req.body);
    const before = visibleRow(req, id);
    let kernelId: string | undefined;
    if (body.kernel && (body.kernel.id || body.kernel.name)) {
      kernelId = await resolveKernel(req, body.kernel, undefined);
    }
    const row = sessions.update(id, {
      path: body.path ?? body.notebook?.path,
      name: body.name,
      type: body.type,
      kernelId,
    });
    // Switching kernels shuts the old one down unless another session still uses it.
    if (kernelId && kernelId !== before.kernelId && !sessions.list().some((s) => s.kernelId === before.kernelId)) {
      if (kernels.find(before.kernelId)) await kernels.shutdownKernel(before.kernelId);
    }
    return model(row);
  });

  app.delete<{ Params: { id: string } }>('/api/sessions/:id', async (req, reply) => {
    const row = sessions.delete(visibleRow(req, req.params.id).id);
    if (kernels.find(row.kernelId)) await kernels.shutdownKernel(row.kernelId);
    return reply.status(204).send();
  });
}
