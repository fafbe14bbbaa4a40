/**
 * `/api/kernels/{id}/channels`: one websocket per client, bridged to the kernel's ZeroMQ
 * channels. Legacy JSON or `v1.kernel.websocket.jupyter.org` by subprotocol (ws-codec.ts).
 *
 * Like Jupyter Server: a second connection with the same `session_id` replaces the first
 * (a reconnecting browser tab), iopub produced while a session_id was away is replayed when it
 * comes back, and a keepalive ping runs every 30 s. A malformed message closes only its own
 * websocket (1007, with the reason), never the kernel or anyone else's connection; so does a
 * bug that throws while handling one connection (1011, connection-guard.ts).
 */
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { errors } from '../errors.js';
import type { Kernel, KernelClient } from '../kernels/kernel.js';
import { parseHeader, type RawMessage } from '../wire/message.js';
import { decodeWsMessage, encodeWsMessage, V1_PROTOCOL, type WsProtocol } from '../wire/ws-codec.js';
import { connectionGuard } from './connection-guard.js';
import { requireWebsocketUpgrade } from './protocol-errors.js';
import { visibleKernel } from './ownership.js';
import type { ServerDeps } from './server.js';

const PING_INTERVAL_MS = 30_000;
/** A client this far behind is cut off rather than letting the gateway buffer without bound. */
const MAX_BUFFERED_BYTES = 256 * 1024 * 1024;

export function registerKernelWebsocket(app: FastifyInstance, deps: ServerDeps): void {
  const { kernels, metrics } = deps;
  /** Open connections by `kernelId:sessionKey`, to replace stale ones. */
  const openSessions = new Map<string, WebSocket>();
  const wsGauge = metrics.websocketConnections.labels('kernel');
  const counters = {
    in: new Map<string, { inc(): void }>(),
    out: new Map<string, { inc(): void }>(),
  };
  const count = (direction: 'in' | 'out', channel: string): void => {
    let c = counters[direction].get(channel);
    if (!c) {
      c = metrics.messages.labels(direction, channel);
      counters[direction].set(channel, c);
    }
    c.inc();
  };

  app.get<{ Params: { id: string }; Querystring: { session_id?: string } }>(
    '/api/kernels/:id/channels',
    {
      websocket: true,
      // Runs before the upgrade: unknown kernels get a plain 404 with the usual error body.
      preValidation: async (req) => {
        const kernel = visibleKernel(deps, req, req.params.id);
        requireWebsocketUpgrade(req);
        if (kernel.state === 'terminating' || kernel.state === 'ended') {
          throw Object.assign(new Error(`Kernel ${kernel.id} is shutting down`), { statusCode: 409, code: 'KERNEL_NOT_READY' });
        }
        // A reconnect that replaces its own stale connection is always let in.
        const sessionKey = String(req.query.session_id ?? '').slice(0, 256);
        const replaces = sessionKey !== '' && openSessions.has(`${kernel.id}:${sessionKey}`);
        if (!replaces && kernel.connections >= deps.config.maxConnectionsPerSession) {
          throw errors.maxConnections(`Kernel ${kernel.id}`, deps.config.maxConnectionsPerSession);
        }
      },
    },
    (socket, req) => {
      const kernel = kernels.find(req.params.id);
      if (!kernel) {
        socket.close(1011, 'kernel went away');
        return;
      }
      const sessionKey = String(req.query.session_id ?? '').slice(0, 256);
      const protocol: WsProtocol = socket.protocol === V1_PROTOCOL ? 'v1' : 'legacy';
      const log = req.log.child({ kernel_id: kernel.id, ws_protocol: protocol });
      bridge(socket, kernel, sessionKey, protocol, log);
    },
  );

  function bridge(socket: WebSocket, kernel: Kernel, sessionKey: string, protocol: WsProtocol, log: FastifyInstance['log']): void {
    const key = `${kernel.id}:${sessionKey}`;
    if (sessionKey) {
      const stale = openSessions.get(key);
      if (stale && stale !== socket) {
        log.info('replacing stale connection with the same session_id');
        stale.close(1000, 'replaced by a new connection with the same session_id');
      }
      openSessions.set(key, socket);
    }

    // Messages that arrive in one turn of the event loop (a burst of iopub, a reply and its
    // status from two sockets) leave in one TCP write: the socket is corked until the check phase
    // that directly follows the poll phase, so nothing waits for a timer. ws has no cork of its own.
    const guard = connectionGuard({
      socket,
      onFailure: (err, where) => log.error({ kernel_id: kernel.id, err: err.message, stack: err.stack, where }, 'kernel websocket handler failed; closing that connection'),
    });
    const tcp = (socket as unknown as { _socket?: Socket })._socket;
    let corked = false;
    const uncork = (): void => {
      corked = false;
      tcp?.uncork();
    };
    const send = guard('deliver', (msg: RawMessage): void => {
      if (socket.readyState !== socket.OPEN) return;
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        log.warn({ buffered: socket.bufferedAmount }, 'client too slow; closing its websocket');
        socket.close(1013, 'client too slow: output backlog over limit; reconnect to resume');
        return;
      }
      const { data, binary } = encodeWsMessage(msg, protocol);
      if (!corked && tcp) {
        corked = true;
        tcp.cork();
        setImmediate(uncork);
      }
      socket.send(data, { binary });
      count('out', msg.channel);
    });

    const client: KernelClient = {
      sessionKey,
      deliver: send,
      kernelEnded: () => {
        socket.close(1000, 'kernel shut down');
        // A client that stops reading would hold the close handshake (and gateway stop) for 30 s.
        setTimeout(() => socket.terminate(), 1_000).unref();
      },
    };
    let channels;
    try {
      channels = kernel.attach(client, send);
    } catch (err) {
      socket.close(1011, (err as Error).message.slice(0, 100));
      return;
    }
    wsGauge.inc();
    log.debug({ session_id: sessionKey }, 'websocket connected');

    const reject = (reason: string): void => {
      metrics.rejectedMessages.inc();
      log.warn({ reason }, 'rejected websocket message');
      socket.close(1007, `invalid message: ${reason}`.slice(0, 120));
    };

    socket.on('message', guard('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      const decoded = decodeWsMessage(buf, isBinary, protocol);
      if (!decoded.ok) return reject(decoded.error);
      const msg = decoded.message;
      if (msg.channel === 'iopub') return reject('clients cannot send on iopub');
      const header = parseHeader(msg.header);
      if (!header) return reject('header needs msg_id, msg_type and session strings');
      kernel.noteClientActivity();
      count('in', msg.channel);
      channels.send(msg);
    }));

    const ping = setInterval(() => socket.ping(), PING_INTERVAL_MS);
    ping.unref();
    socket.once('close', () => {
      clearInterval(ping);
      wsGauge.dec();
      if (openSessions.get(key) === socket) openSessions.delete(key);
      kernel.detach(client);
      channels.close();
      log.debug('websocket closed');
    });
    socket.on('error', (err) => log.debug({ err: err.message }, 'websocket error'));
  }
}
