/**
 * The HTTP/websocket server: fastify with one error shape (`{message, reason}`), token auth on
 * every route but the probes, and the route modules registered below.
 */
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { GatewayConfig } from '../config.js';
import { errors, isGatewayError, printable, type GatewayError } from '../errors.js';
import { parseJsonBounded } from '../wire/json-scan.js';
import type { KernelManager } from '../kernels/kernel-manager.js';
import type { KernelspecStore } from '../kernels/kernelspec-store.js';
import { scrubUrl, type Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
import type { SessionStore } from '../sessions/session-store.js';
import { selectProtocol } from '../wire/ws-codec.js';
import type { SessionRegistry } from '../sessions/session-registry.js';
import type { UserDirectory } from '../users/users.js';
import { TokenAuth } from './auth.js';
import './ownership.js';
import { clientErrorHandler, frameworkErrors, registerUpgradeChecks } from './protocol-errors.js';
import { registerKernelRoutes } from './routes/kernels.js';
import { registerKernelspecRoutes } from './routes/kernelspecs.js';
import { registerOpsRoutes } from './routes/ops.js';
import { registerSessionListRoutes } from './routes/session-list.js';
import { registerSessionRoutes } from './routes/sessions.js';
import { registerKernelWebsocket } from './kernel-websocket.js';

export interface ServerDeps {
  config: GatewayConfig;
  /** Who a token belongs to (the shared token, the users file, JupyterHub). */
  users: UserDirectory;
  /** Every session with its owner. */
  registry: SessionRegistry;
  logger: Logger;
  metrics: GatewayMetrics;
  kernels: KernelManager;
  kernelspecs: KernelspecStore;
  sessions: SessionStore;
  version: string;
  isReady: () => boolean;
}

/** Routes that answer without a token: Kubernetes probes. */
const PUBLIC_ROUTES = new Set(['/healthz', '/readyz']);

/**
 * Route prefixes that answer without a token: the web shell page and its static files, which
 * hold no data (every API and websocket call the page makes carries the token). Matched against
 * the route fastify picked, not the raw URL, so no path trick can reach another route this way.
 */
const PUBLIC_ROUTE_PREFIXES = ['/shell'];

function isPublicRoute(route: string | undefined): boolean {
  return route !== undefined && PUBLIC_ROUTE_PREFIXES.some((p) => route === p || route.startsWith(`${p}/`));
}

/**
 * The Spark UI's own links carry no token: a browser that opened a session's UI with ?token=
 * got a cookie scoped to that UI path (routes/spark-sessions.ts), accepted there only.
 */
const UI_PATH = /^\/api\/sparkgate\/sessions\/[0-9a-f-]{36}\/ui(\/|$)/;

function uiCookieToken(path: string, cookie: string | undefined): string | undefined {
  if (!cookie || !UI_PATH.test(path)) return undefined;
  const match = /(?:^|;\s*)sparkgate-ui-token=([^;]*)/.exec(cookie);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return undefined; // not percent-encoding we wrote: no token
  }
}

/** Request bodies are small objects (`{name, env}`, a session model): nothing real nests deeper. */
const MAX_BODY_DEPTH = 32;

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export type RouteRegistrar = (app: FastifyInstance, deps: ServerDeps) => void;

export async function buildServer(deps: ServerDeps, extraRoutes: readonly RouteRegistrar[] = []): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps the default instance type.
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request lines are ours (debug, URL scrubbed of tokens) in the onResponse hook.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.config.maxBodyBytes,
    // Jupyter's kernel/session ids are UUIDs; a longer param is never valid.
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    // Gateway stop must not wait on idle keep-alive sockets or a client that never hangs up.
    forceCloseConnections: true,
    // Requests refused before routing still get the one error shape (protocol-errors.ts).
    clientErrorHandler,
    frameworkErrors,
    // Node answers an HTTP/1.1 request without Host with a bare 400 of its own; the gateway
    // serves no virtual hosts, so such a request is simply routed (and gets our error shape).
    http: { requireHostHeader: false },
  });

  // Bodies are JSON whatever the content type says (tornado clients send none); an empty body
  // is "no body", which JupyterLab sends for interrupt/restart.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => {
    const bytes = body as Buffer;
    if (bytes.every(isJsonSpace)) return done(null, undefined);
    const parsed = parseJsonBounded(bytes, { maxDepth: MAX_BODY_DEPTH, maxBytes: deps.config.maxBodyBytes });
    if (parsed.ok) return done(null, parsed.value);
    done(errors.invalidJson(`Request body is not valid JSON (${parsed.error}); send a JSON object`), undefined);
  });

  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?', 1)[0]!;
    if (PUBLIC_ROUTES.has(path) || isPublicRoute(req.routeOptions.url)) return;
    const presented = TokenAuth.presented(req.headers.authorization, req.url) ?? uiCookieToken(path, req.headers.cookie);
    const identity = await deps.users.authenticate(presented);
    if (!identity) throw errors.unauthorized();
    req.identity = identity;
  });
  app.addHook('onResponse', async (req, reply) => {
    // @fastify/websocket answers a refused upgrade on a socket that the HTTP server does not
    // track, so nothing would ever close it (a descriptor leak, and close() would hang).
    if (req.raw.headers.upgrade && !req.raw.socket.destroyed && reply.statusCode !== 101) req.raw.socket.destroy();
    req.log.debug({ method: req.method, url: scrubUrl(req.url), status: reply.statusCode }, 'request');
  });

  app.setErrorHandler((err: FastifyError | GatewayError, req, reply) => {
    if (isGatewayError(err)) {
      if (err.status >= 500) req.log.error({ reason: err.reason, msg_: err.message }, 'request failed');
      return reply.status(err.status).send(err.toJSON());
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      req.log.error({ err: err.message, code: err.code, url: scrubUrl(req.url) }, 'unhandled error');
      return reply.status(500).send({ message: 'Internal server error; see the gateway log', reason: 'internal_error' });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send(errors.payloadTooLarge(deps.config.maxBodyBytes).toJSON());
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.status(415).send({ message: 'The Content-Type header is not a valid media type; send application/json, or no Content-Type', reason: 'unsupported_media_type' });
    }
    const reason = (err.code ?? 'bad_request').replace(/^FST_ERR_/, '').toLowerCase();
    return reply.status(status).send({ message: err.message, reason });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ message: `No route for ${req.method.slice(0, 16)} ${printable(scrubUrl(req.url).split('?')[0]!, 200)}`, reason: 'not_found' });
  });

  registerUpgradeChecks(app);
  await app.register(websocket, {
    options: {
      maxPayload: deps.config.maxWsMessageBytes,
      handleProtocols: (protocols) => selectProtocol(protocols),
      perMessageDeflate: false,
    },
    errorHandler: (error, socket, req) => {
      req.log.warn({ err: error.message }, 'websocket error');
      socket.terminate();
    },
  });

  registerOpsRoutes(app, deps);
  registerKernelspecRoutes(app, deps);
  registerKernelRoutes(app, deps);
  registerSessionRoutes(app, deps);
  registerSessionListRoutes(app, deps);
  registerKernelWebsocket(app, deps);
  for (const register of extraRoutes) register(app, deps);
  return app;
}
