/**
 * REST models, shaped as Jupyter Server's (`jupyter_server/services/*`), one zod schema each:
 * request bodies are parsed with them, responses are checked against them before they leave.
 */
import { z } from 'zod';

export const uuidSchema = z.uuid();

export const kernelModelSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  last_activity: z.iso.datetime(),
  execution_state: z.string(),
  connections: z.number().int().nonnegative(),
});
export type KernelModelOut = z.infer<typeof kernelModelSchema>;

export const kernelspecModelSchema = z.object({
  name: z.string(),
  spec: z
    .object({
      argv: z.array(z.string()),
      display_name: z.string(),
      language: z.string(),
      interrupt_mode: z.string(),
      env: z.record(z.string(), z.string()),
      metadata: z.record(z.string(), z.unknown()),
    })
    .loose(),
  resources: z.record(z.string(), z.string()),
});

export const kernelspecsModelSchema = z.object({
  default: z.string(),
  kernelspecs: z.record(z.string(), kernelspecModelSchema),
});

export const startKernelBodySchema = z
  .object({
    name: z.string().max(64).optional(),
    /** Validated in detail by kernel-env.ts (only KERNEL_*). */
    env: z.unknown().optional(),
    path: z.string().max(4096).optional(),
  })
  .loose();

export const sessionKernelRefSchema = z
  .object({
    id: z.uuid().optional(),
    name: z.string().max(64).optional(),
  })
  .loose();

export const createSessionBodySchema = z
  .object({
    path: z.string().max(4096).optional(),
    name: z.string().max(4096).optional(),
    type: z.string().max(64).optional(),
    kernel: sessionKernelRefSchema.optional(),
    /** Jupyter Server < 2 clients send notebook.path. */
    notebook: z.object({ path: z.string().max(4096).optional() }).loose().optional(),
  })
  .loose();

export const patchSessionBodySchema = createSessionBodySchema;

export const sessionModelSchema = z.object({
  id: z.uuid(),
  path: z.string(),
  name: z.string(),
  type: z.string(),
  kernel: kernelModelSchema.nullable(),
  notebook: z.object({ path: z.string(), name: z.string() }),
});
export type SessionModelOut = z.infer<typeof sessionModelSchema>;

export const errorBodySchema = z.object({ message: z.string(), reason: z.string() });
