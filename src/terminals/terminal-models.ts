/**
 * The terminals REST models, one zod schema each. Jupyter Server's model is `{name,
 * last_activity}` (`jupyter_server/terminal/api_handlers.py`); the other fields are sparkgate's
 * and clients that do not know them ignore them.
 */
import { z } from 'zod';
import { SPARK_KINDS } from './repl-launcher.js';

/** Short, URL-safe; also what `@jupyterlab/services` puts in the websocket path. */
export const terminalNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'a terminal name is 1-64 letters, digits, "-" or "_" (e.g. "spark-1")');

/**
 * POST /api/terminals. JupyterLab sends `{name?, cwd?}`; `kernel_id` attaches to a running
 * Python kernel, `kernelspec` starts a Spark REPL. Unknown keys are ignored, as Jupyter Server
 * does.
 */
export const createTerminalBodySchema = z
  .object({
    name: terminalNameSchema.optional(),
    kernel_id: z.string().min(1).max(64).optional(),
    kernelspec: z.enum(SPARK_KINDS).optional(),
    cwd: z.string().max(4096).optional(),
  })
  .loose()
  .refine((b) => !(b.kernel_id && b.kernelspec), { message: 'give kernel_id (attach) or kernelspec (new session), not both' });
export type CreateTerminalBody = z.infer<typeof createTerminalBodySchema>;

export const terminalModelSchema = z.object({
  name: z.string(),
  last_activity: z.iso.datetime(),
  created: z.iso.datetime(),
  kind: z.enum(['python', 'pyspark', 'spark-sql', 'spark-shell', 'attached']),
  state: z.enum(['running', 'terminating', 'ended']),
  kernel_id: z.string().nullable(),
  session_id: z.string().nullable(),
  connections: z.number().int().nonnegative(),
});
export type TerminalModel = z.infer<typeof terminalModelSchema>;
