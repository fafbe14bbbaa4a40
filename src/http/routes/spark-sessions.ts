/**
 * `/api/sparkgate/sessions/{id}/...`: what sparkgate adds to the Jupyter API for Spark sessions.
 *
 * - `executors`: the session's executor pods (name, phase, node, age) from the executor lister
 *   (Kubernetes mode); `[]` in local mode, where Spark runs no executor pods.
 * - `ui/`: the session's Spark UI, reverse-proxied from the driver's `spark.ui.port` (in this pod)
 *   with the `/api/sparkgate/sessions/{id}/ui` prefix stripped, which is what
 *   `spark.ui.proxyBase` expects of a proxy. Same token auth as the API; a browser that opened
 *   the UI with `?token=` gets a cookie scoped to this session's UI path, so the UI's own links
 *   work without the token in every URL. Proxying uses @fastify/reply-from (streaming, hop-by-hop
 *   headers handled) rather than a hand-written proxy.
 */
import replyFrom from '@fastify/reply-from';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errors } from '../../errors.js';
import type { SparkSessionPlugin } from '../../spark/spark-session-plugin.js';
import type { ServerDeps } from '../server.js';
import { kernelIdParam } from './kernels.js';

export interface ExecutorInfo {
  name: string;
  phase: string;
  node: string | null;
  startTime: string | null;
  ageSeconds: number | null;
}

/** Lists a session's executors; the Kubernetes one lives in src/k8s. */
export interface ExecutorSource {
  list(sessionId: string): Promise<ExecutorInfo[]>;
}

export const UI_COOKIE = 'sparkgate-ui-token';

export function registerSparkSessionRoutes(spark: SparkSessionPlugin, executors: ExecutorSource | undefined) {
  return (app: FastifyInstance, deps: ServerDeps): void => {
    const sessionOf = (id: string) => {
      const kernel = deps.kernels.get(kernelIdParam(id));
      return { kernel, info: spark.session(kernel.id) };
    };

    app.get<{ Params: { id: string } }>('/api/sparkgate/sessions/:id/executors', async (req) => {
      const { kernel } = sessionOf(req.params.id);
      if (!kernel.spec.sparkgate.spark) return [];
      return executors ? executors.list(kernel.id) : [];
    });

    void app.register(replyFrom, { undici: { connections: 8, pipelining: 1 }, disableRequestLogging: true });

    const proxy = async (req: { params: { id: string; '*'?: string }; url: string; query: unknown }, reply: FastifyReply) => {
      const { kernel, info } = sessionOf(req.params.id);
      if (!info) {
        throw errors.notFound(
          kernel.spec.sparkgate.spark ? `Session ${kernel.id} has no running Spark driver` : `Session ${kernel.id} is not a Spark session`,
        );
      }
      const token = new URLSearchParams(req.url.split('?')[1] ?? '').get('token');
      if (token) {
        reply.header(
          'set-cookie',
          `${UI_COOKIE}=${encodeURIComponent(token)}; Path=/api/sparkgate/sessions/${kernel.id}/ui; HttpOnly; SameSite=Strict`,
        );
      }
      const rest = req.params['*'] ?? '';
      const query = req.url.includes('?') ? `?${stripToken(req.url.split('?')[1]!)}` : '';
      return reply.from(`http://127.0.0.1:${info.ports.uiPort}/${rest}${query === '?' ? '' : query}`, {
        onError: (r) => {
          r.status(502).send({ message: `The Spark UI of session ${kernel.id} is not answering (is the SparkContext running?)`, reason: 'spark_ui_unavailable' });
        },
      });
    };

    // The id is validated before it reaches the Location header (a raw one could hold
    // characters no header may carry).
    app.get<{ Params: { id: string } }>('/api/sparkgate/sessions/:id/ui', async (req, reply) => {
      const { kernel } = sessionOf(req.params.id);
      const query = req.url.includes('?') ? `?${new URLSearchParams(req.url.split('?')[1]).toString()}` : '';
      return reply.redirect(`/api/sparkgate/sessions/${kernel.id}/ui/${query === '?' ? '' : query}`);
    });
    app.get<{ Params: { id: string; '*': string } }>('/api/sparkgate/sessions/:id/ui/*', proxy);
  };
}

function stripToken(query: string): string {
  const params = new URLSearchParams(query);
  params.delete('token');
  return params.toString();
}
