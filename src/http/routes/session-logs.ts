/**
 * `GET /api/sparkgate/sessions/{id}/logs`: a session's logs as plain text, streamed.
 *
 * - `source=driver` (default): the driver process's stdout and stderr (src/logs/driver-log-store.ts).
 * - `source=executor&executor=N`: executor N's pod log (Kubernetes mode: an ExecutorLogSource,
 *   src/logs/executor-log-source.ts, which keeps it for a while after the pod is gone).
 *   `GET .../logs/executors` lists them.
 * - `tail=N`: only the last N lines (at most MAX_TAIL_LINES); `follow=true`: then new output
 *   until the session (or the executor) ends or the client goes away.
 *
 * Ended sessions are served while the registry keeps them (logRetentionSeconds). Ownership as
 * everywhere: another user's session is 404 (ownership.ts). Errors are `{message, reason}`.
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { errors } from '../../errors.js';
import type { DriverLogStore } from '../../logs/driver-log-store.js';
import type { ExecutorLogSource } from '../../logs/executor-log-source.js';
import { visibleSession } from '../ownership.js';
import type { ServerDeps } from '../server.js';

export interface SessionLogSources {
  driver: Pick<DriverLogStore, 'read' | 'has'>;
  /** Kubernetes mode only; absent in local mode, where Spark runs no executor pods. */
  executors?: ExecutorLogSource | undefined;
}

export const MAX_TAIL_LINES = 100_000;

const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** The query, validated once (unknown parameters, e.g. `token`, are not ours and are ignored). */
export const logQuerySchema = z
  .object({
    source: z.enum(['driver', 'executor'], { error: 'must be "driver" or "executor"' }).optional(),
    executor: z.string().regex(/^[0-9]{1,9}$/, 'must be an executor id, e.g. executor=1').optional(),
    tail: z
      .string()
      .regex(/^[0-9]{1,9}$/, `must be a number of lines, e.g. tail=100`)
      .transform(Number)
      .pipe(z.number().max(MAX_TAIL_LINES, `must be at most ${MAX_TAIL_LINES}`))
      .optional(),
    follow: flag.optional(),
  })
  .transform((q, ctx) => {
    const source = q.source ?? (q.executor !== undefined ? 'executor' : 'driver');
    if (source === 'executor' && q.executor === undefined) {
      ctx.addIssue({ code: 'custom', path: ['executor'], message: 'is required with source=executor, e.g. ?source=executor&executor=1' });
    }
    if (source === 'driver' && q.executor !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['executor'], message: 'goes with source=executor, not source=driver' });
    }
    return { source, executor: q.executor, tail: q.tail, follow: q.follow ?? false };
  });

export type LogQuery = z.infer<typeof logQuerySchema>;

export function parseLogQuery(query: unknown): LogQuery {
  const single: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    if (Array.isArray(v)) throw errors.badRequest(`Query parameter ${k.slice(0, 32)} is given more than once`);
    single[k] = v;
  }
  const parsed = logQuerySchema.safeParse(single);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw errors.badRequest(`Invalid query: ${issue.path.map(String).join('.') || '(query)'}: ${issue.message}`);
  }
  return parsed.data;
}

const LOCAL_MODE =
  'Executor logs need Kubernetes mode: this gateway runs Spark in local mode (spark.master=local[*]), where executors are threads of the driver and write to the driver log (source=driver)';

export function registerSessionLogRoutes(sources: SessionLogSources) {
  return (app: FastifyInstance, deps: ServerDeps): void => {
    app.get<{ Params: { id: string } }>('/api/sparkgate/sessions/:id/logs/executors', async (req) => {
      const session = visibleSession(deps, req, req.params.id);
      return sources.executors ? sources.executors.executors(session.id) : [];
    });

    app.get<{ Params: { id: string } }>('/api/sparkgate/sessions/:id/logs', async (req, reply) => {
      const session = visibleSession(deps, req, req.params.id);
      const query = parseLogQuery(req.query);
      // Everything a read holds (a file, a subscription, a Kubernetes log stream) is let go
      // when the response is over: finished, or the client gone.
      const done = new AbortController();
      reply.raw.once('close', () => done.abort());
      const options = { follow: query.follow, signal: done.signal, ...(query.tail !== undefined ? { tail: query.tail } : {}) };
      if (query.source === 'driver') {
        if (session.kind === 'terminal' && !sources.driver.has(session.id)) {
          throw errors.notFound(`Session ${session.id} is a terminal's own Spark session: its driver output is the terminal's screen, not a driver log`);
        }
        return sendText(reply, sources.driver.read(session.id, options));
      }
      if (!sources.executors) throw errors.notFound(LOCAL_MODE);
      const body = await sources.executors.read(session.id, query.executor!, options);
      if (!body) {
        throw errors.notFound(`Session ${session.id} has no executor ${query.executor} (GET /api/sparkgate/sessions/${session.id}/logs/executors lists them)`);
      }
      return sendText(reply, body);
    });
  };
}

function sendText(reply: FastifyReply, body: AsyncIterable<string>): FastifyReply {
  return reply
    .header('content-type', 'text/plain; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .send(Readable.from(headersFirst(reply.raw, body), { objectMode: false }));
}

/**
 * Node sends a response's headers with its first byte; a follower of a quiet log would wait for
 * them (and a client's fetch would not resolve) until there is output. The stream is first read
 * when fastify pipes it, after it has set the status and headers: send them then.
 */
async function* headersFirst(raw: ServerResponse, body: AsyncIterable<string>): AsyncGenerator<string> {
  if (!raw.headersSent && !raw.destroyed) raw.flushHeaders();
  yield* body;
}
