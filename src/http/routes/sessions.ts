/** `/api/sessions` for clients that talk to sparkgate directly (JupyterLab's SessionManager). */
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { errors } from '../../errors.js';
import type { SessionRow } from '../../sessions/session-store.js';
import { createSessionBodySchema, patchSessionBodySchema, sessionModelSchema, uuidSchema } from '../models.js';
import type { ServerDeps } from '../server.js';
import { kernelModel, parseBody } from './kernels.js';

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

  /** The kernel a create/patch names: an existing id, or a new kernel of the named spec. */
  const resolveKernel = async (ref: { id?: string | undefined; name?: string | undefined } | undefined, env: unknown) => {
    if (ref?.id) return kernels.get(ref.id).id;
    const kernel = await kernels.startKernel({ name: ref?.name, env });
    return kernel.id;
  };

  app.get('/api/sessions', async () => sessions.list().map(model));

  app.get<{ Params: { id: string } }>('/api/sessions/:id', async (req) => model(sessions.get(sessionIdParam(req.params.id))));

  app.post('/api/sessions', async (req, reply) => {
    const body = parseBody(createSessionBodySchema, req.body);
    const sessionPath = body.path ?? body.notebook?.path;
    if (!sessionPath) throw errors.invalidBody('Invalid request body: path is required');
    // An existing session for the same path is returned, as Jupyter Server does.
    const existing = sessions.list().find((s) => s.path === sessionPath);
    if (existing) return reply.status(201).send(model(existing));
    const kernelId = await resolveKernel(body.kernel, (body as { env?: unknown }).env);
    const row = sessions.create({
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
    const before = sessions.get(id);
    let kernelId: string | undefined;
    if (body.kernel && (body.kernel.id || body.kernel.name)) {
      kernelId = await resolveKernel(body.kernel, undefined);
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
    const row = sessions.delete(sessionIdParam(req.params.id));
    if (kernels.find(row.kernelId)) await kernels.shutdownKernel(row.kernelId);
    return reply.status(204).send();
  });
}
