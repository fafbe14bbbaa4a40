/**
 * Errors the HTTP layer meets before any route runs (a malformed request line, headers over
 * Node's limit, an undecodable URL, a path parameter over maxParamLength, a plain GET on a
 * websocket route), answered in the gateway's one error shape `{message, reason}` instead of
 * fastify's or Node's own bodies. Messages never echo the request back: a hostile URL or header
 * could be megabytes long or carry control characters.
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors, GatewayError } from '../errors.js';

/** Parser errors from Node's HTTP server ('clientError'), by llhttp / Node code. */
const CLIENT_ERRORS: Readonly<Record<string, [status: number, reason: string, message: string]>> = {
  HPE_HEADER_OVERFLOW: [431, 'header_too_large', 'Request headers are larger than this server accepts (16 KiB in all)'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'The request was not received in time'],
  HPE_INVALID_METHOD: [400, 'bad_request', 'Malformed HTTP request: unknown method'],
  HPE_INVALID_CONTENT_LENGTH: [400, 'bad_request', 'Malformed HTTP request: invalid Content-Length'],
  HPE_INVALID_TRANSFER_ENCODING: [400, 'bad_request', 'Malformed HTTP request: invalid Transfer-Encoding'],
  HPE_INVALID_CHUNK_SIZE: [400, 'bad_request', 'Malformed HTTP request: invalid chunk size'],
  HPE_UNEXPECTED_CONTENT_LENGTH: [400, 'bad_request', 'Malformed HTTP request: both Content-Length and Transfer-Encoding'],
};

function rawResponse(status: number, reason: string, message: string): string {
  const body = JSON.stringify({ message, reason });
  const statusText = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
  return `HTTP/1.1 ${status} ${statusText}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** fastify's `clientErrorHandler`: Node's parser refused the request before fastify saw it. */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, message] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'bad_request', `Malformed HTTP request (${(err.code ?? 'parse error').slice(0, 40)})`];
  if (socket.writable) socket.end(rawResponse(status, reason, message));
  socket.destroySoon();
}

/** fastify's `frameworkErrors`: the router could not even decode the URL. */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const error =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new GatewayError(414, 'uri_too_long', 'A path segment of this URL is too long for any route (ids are at most 200 characters)')
      : err.code === 'FST_ERR_BAD_URL'
        ? new GatewayError(400, 'bad_url', 'The URL is not valid percent-encoded UTF-8')
        : errors.badRequest('The request could not be routed');
  void reply.status(error.status).send(error.toJSON());
}

/**
 * preValidation of websocket routes: a plain request (no Upgrade) is told what the route is, as
 * Jupyter Server answers `Can "Upgrade" only to "WebSocket".`, instead of an empty 404.
 */
export function requireWebsocketUpgrade(req: FastifyRequest): void {
  if (!req.ws) {
    throw new GatewayError(400, 'websocket_required', 'This is a websocket endpoint: connect with "Upgrade: websocket"');
  }
}

/** RFC 6455 §4.2.1: a 16-byte nonce in base64, and version 13. */
const WS_KEY = /^[A-Za-z0-9+/]{22}==$/;

/**
 * Upgrade requests are routed like any other (@fastify/websocket), but a handshake that `ws`
 * refuses, or an upgrade aimed at a plain route, would be answered by `ws` itself with a bare
 * text 400. Checked here first, so they get the one error shape. Call before any route is added:
 * it learns the websocket routes from fastify's onRoute hook.
 */
export function registerUpgradeChecks(app: FastifyInstance): void {
  const websocketRoutes = new Set<string>();
  app.addHook('onRoute', (route) => {
    if (route.websocket || route.wsHandler) websocketRoutes.add(route.url);
  });
  app.addHook('preValidation', async (req) => {
    if (!req.ws) return;
    if (!websocketRoutes.has(req.routeOptions.url ?? '')) {
      throw new GatewayError(400, 'websocket_not_supported', 'This route does not accept websocket upgrades');
    }
    const key = req.headers['sec-websocket-key'];
    if (req.headers['sec-websocket-version'] !== '13' || typeof key !== 'string' || !WS_KEY.test(key.trim())) {
      throw new GatewayError(400, 'bad_websocket_handshake', 'Invalid websocket handshake: need Sec-WebSocket-Version: 13 and a base64 Sec-WebSocket-Key (RFC 6455)');
    }
  });
}
