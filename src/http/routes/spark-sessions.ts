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
 *   headers handled) rather than a hand-written proxy. The UI's redirects are kept under the
 *   prefix (spark-ui-location.ts); a redirect out of it is answered 502 instead.
 */
import { PassThrough } from 'node:stream';
import replyFrom from '@fastify/reply-from';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors, GatewayError } from '../../errors.js';
import { sparkUiProxyBase } from '../../spark/session-naming.js';
import type { SparkSessionPlugin } from '../../spark/spark-session-plugin.js';
import type { ServerDeps } from '../server.js';
import { rewriteUiLocation } from '../spark-ui-location.js';
import { visibleKernel } from '../ownership.js';

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
    const sessionOf = (req: FastifyRequest, id: string) => {
      const kernel = visibleKernel(deps, req, id);
      return { kernel, info: spark.session(kernel.id) };
    };

    app.get<{ Params: { id: string } }>('/api/sparkgate/sessions/:id/executors', async (req) => {
      const { kernel } = sessionOf(req, req.params.id);
      if (!kernel.spec.sparkgate.spark) return [];
      return executors ? executors.list(kernel.id) : [];
    });

    void app.register(replyFrom, { undici: { connections: 8, pipelining: 1 }, disableRequestLogging: true });

    const proxy = async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
      const { kernel, info } = sessionOf(req, req.params.id);
      if (!info) {
        throw errors.notFound(
          kernel.spec.sparkgate.spark ? `Session ${kernel.id} has no running Spark driver` : `Session ${kernel.id} is not a Spark session`,
        );
      }
      const { path, query, token } = upstreamTarget(req.url);
      if (token) {
        reply.header(
          'set-cookie',
          `${UI_COOKIE}=${encodeURIComponent(token)}; Path=${sparkUiProxyBase(kernel.id)}; HttpOnly; SameSite=Strict`,
        );
      }
      const upstreamUrl = `http://127.0.0.1:${info.ports.uiPort}/${path}`;
      let redirectsOut = false;
      return reply.from(upstreamUrl, {
        // Always ours: with an empty query reply-from would fall back to the client's, token and all.
        queryString: () => query,
        // The UI is user code (notebook code owns the driver): it never sees the gateway's
        // credentials, and an Upgrade it cannot serve is not passed on.
        rewriteRequestHeaders: (_req, headers) => {
          const { authorization: _a, upgrade: _u, cookie, ...rest } = headers;
          const kept = typeof cookie === 'string' ? withoutUiCookie(cookie) : '';
          return kept ? { ...rest, cookie: kept } : rest;
        },
        // The client's own connection is not the UI's business (nor is the UI's keep-alive ours).
        // Redirects stay under the prefix; one out of it drops the UI's headers and becomes a 502.
        rewriteHeaders: (headers) => {
          const { connection: _c, 'keep-alive': _k, location, ...rest } = headers;
          if (location === undefined) return rest;
          const kept = typeof location === 'string' ? rewriteUiLocation(location, { upstreamUrl, prefix: sparkUiProxyBase(kernel.id) }) : null;
          if (kept !== null) return { ...rest, location: kept };
          redirectsOut = true;
          return {};
        },
        onResponse: (_req, r, res) => {
          if (redirectsOut) {
            res.stream.destroy();
            return void r.code(502).send(
              new GatewayError(502, 'spark_ui_bad_redirect', `The Spark UI of session ${kernel.id} redirected outside its proxy path`).toJSON(),
            );
          }
          // A body the UI breaks (bad chunking, a reset) is the UI's failure: 502 while the
          // headers are unsent (the error handler answers GatewayErrors), else a cut connection.
          const body = new PassThrough();
          res.stream.once('error', () => body.destroy(uiUnavailable(kernel.id)));
          body.once('close', () => {
            if (!res.stream.readableEnded) res.stream.destroy();
          });
          r.send(res.stream.pipe(body));
        },
        onError: (r) => {
          r.status(502).send(uiUnavailable(kernel.id).toJSON());
        },
      });
    };

    // The id is validated before it reaches the Location header (a raw one could hold
    // characters no header may carry).
    app.get<{ Params: { id: string } }>('/api/sparkgate/sessions/:id/ui', async (req, reply) => {
      const { kernel } = sessionOf(req, req.params.id);
      const query = req.url.includes('?') ? `?${new URLSearchParams(req.url.split('?')[1]).toString()}` : '';
      return reply.redirect(`${sparkUiProxyBase(kernel.id)}/${query === '?' ? '' : query}`);
    });
    app.get<{ Params: { id: string } }>('/api/sparkgate/sessions/:id/ui/*', proxy);
  };
}

function uiUnavailable(kernelId: string): GatewayError {
  return new GatewayError(502, 'spark_ui_unavailable', `The Spark UI of session ${kernelId} is not answering (is the SparkContext running?)`);
}

/** The Cookie header without the gateway's own UI cookie. */
function withoutUiCookie(cookie: string): string {
  return cookie
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c && !c.startsWith(`${UI_COOKIE}=`))
    .join('; ');
}

const UI_PREFIX = /^\/api\/sparkgate\/sessions\/[^/?]+\/ui\//;

/**
 * Where a UI request goes upstream: the raw path after the prefix (still percent-encoded, as
 * the client sent it; it must decode and hold no `..` segment), and the query without the
 * gateway's token, which the UI (user code owns the driver) must never see.
 */
export function upstreamTarget(url: string): { path: string; query: string; token: string | null } {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const token = params.get('token');
  params.delete('token');
  const path = rawPath.replace(UI_PREFIX, '');
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw new GatewayError(400, 'bad_url', 'The Spark UI path is not valid percent-encoded UTF-8');
  }
  if (decoded.split(/[/\\]/).includes('..')) throw new GatewayError(400, 'bad_url', 'The Spark UI path may not contain ".." segments');
  return { path, query: params.toString(), token };
}
