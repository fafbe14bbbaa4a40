/** `/api/kernelspecs` and `/kernelspecs/{name}/{resource}` (logos), as Jupyter Server serves them. */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Kernelspec } from '../../kernels/kernelspec-store.js';
import { kernelspecModelSchema, kernelspecsModelSchema } from '../models.js';
import type { ServerDeps } from '../server.js';

const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.js': 'application/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
};

export function kernelspecModel(spec: Kernelspec) {
  const resources: Record<string, string> = {};
  for (const file of spec.resources) {
    const key = file.startsWith('logo-') ? path.parse(file).name : file;
    resources[key] = `/kernelspecs/${encodeURIComponent(spec.name)}/${encodeURIComponent(file)}`;
  }
  const { argv, display_name, language, interrupt_mode, env, metadata } = spec.spec;
  return kernelspecModelSchema.parse({
    name: spec.name,
    spec: { argv, display_name, language, interrupt_mode, env, metadata },
    resources,
  });
}

export function registerKernelspecRoutes(app: FastifyInstance, deps: ServerDeps): void {
  app.get('/api/kernelspecs', async () => {
    const specs = deps.kernelspecs.list();
    const kernelspecs = Object.fromEntries(specs.map((s) => [s.name, kernelspecModel(s)]));
    const preferred = deps.kernelspecs.defaultName;
    const fallback = specs[0]?.name ?? preferred;
    return kernelspecsModelSchema.parse({
      default: deps.kernelspecs.has(preferred) ? preferred : fallback,
      kernelspecs,
    });
  });

  app.get<{ Params: { name: string } }>('/api/kernelspecs/:name', async (req) =>
    kernelspecModel(deps.kernelspecs.get(req.params.name)),
  );

  app.get<{ Params: { name: string; resource: string } }>('/kernelspecs/:name/:resource', async (req, reply) => {
    const file = deps.kernelspecs.resourcePath(req.params.name, req.params.resource);
    return reply
      .type(MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream')
      .header('cache-control', 'max-age=3600')
      .send(createReadStream(file));
  });
}
