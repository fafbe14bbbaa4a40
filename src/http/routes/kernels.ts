/** `/api/kernels`: thin handlers; policy and lifecycle live in KernelManager. */
import type { FastifyInstance } from 'fastify';
import { errors } from '../../errors.js';
import type { Kernel } from '../../kernels/kernel.js';
import { kernelModelSchema, startKernelBodySchema, uuidSchema } from '../models.js';
import type { ServerDeps } from '../server.js';
import { ownerForStart, visibleKernel, visibleKernels } from '../ownership.js';

export function kernelModel(kernel: Kernel) {
  return kernelModelSchema.parse(kernel.model());
}

export function parseBody<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw errors.invalidBody(`Invalid request body: ${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** A kernel id from the URL: UUID-shaped or 404 (Jupyter Server's routes only match UUIDs). */
export function kernelIdParam(id: string): string {
  if (!uuidSchema.safeParse(id).success) throw errors.kernelNotFound(id.slice(0, 64));
  return id;
}

export function registerKernelRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { kernels } = deps;

  app.get('/api/kernels', async (req) => visibleKernels(deps, req).map(kernelModel));

  app.post('/api/kernels', async (req, reply) => {
    if (typeof req.body !== 'object' && req.body !== undefined) throw errors.invalidBody('Request body must be a JSON object');
    const body = parseBody(startKernelBodySchema, req.body);
    const { owner, env } = ownerForStart(deps, req, body.env);
    // A client that gives up first (Jupyter Server's GatewayClient.request_timeout is 42 s by
    // default, shorter than a cold Spark start on a busy cluster) never learns the kernel's id:
    // a kernel started for it would be an orphan holding a driver and executors. End it instead.
    let clientGone = false;
    const onClose = (): void => {
      if (!reply.raw.writableFinished) clientGone = true;
    };
    reply.raw.once('close', onClose);
    const kernel = await kernels.startKernel({ name: body.name, env, owner });
    reply.raw.off('close', onClose);
    if (clientGone || req.raw.socket?.destroyed) {
      deps.logger.warn({ kernel_id: kernel.id, kernelspec: kernel.spec.name }, 'client gave up before the kernel started; shutting it down');
      await kernels.shutdownKernel(kernel.id, 'abandoned').catch((err: unknown) =>
        deps.logger.error({ kernel_id: kernel.id, err: (err as Error).message }, 'shutting down an abandoned kernel failed'),
      );
      // Nobody reads it; it completes the request's lifecycle (nginx's "client closed request").
      return reply.status(499).send({ message: 'The client closed the request before the kernel started; it was shut down', reason: 'client_closed' });
    }
    return reply
      .status(201)
      .header('location', `/api/kernels/${kernel.id}`)
      .send(kernelModel(kernel));
  });

  app.get<{ Params: { id: string } }>('/api/kernels/:id', async (req) => kernelModel(visibleKernel(deps, req, req.params.id)));

  app.delete<{ Params: { id: string } }>('/api/kernels/:id', async (req, reply) => {
    await kernels.shutdownKernel(visibleKernel(deps, req, req.params.id).id);
    return reply.status(204).send();
  });

  app.post<{ Params: { id: string } }>('/api/kernels/:id/interrupt', async (req, reply) => {
    await kernels.interruptKernel(visibleKernel(deps, req, req.params.id).id);
    return reply.status(204).send();
  });

  app.post<{ Params: { id: string } }>('/api/kernels/:id/restart', async (req) => {
    const kernel = await kernels.restartKernel(visibleKernel(deps, req, req.params.id).id);
    return kernelModel(kernel);
  });
}
