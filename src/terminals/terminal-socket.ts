/**
 * One websocket on a terminal (terminado's TermSocket): frames in through the codec, output out
 * with flow control (terminal.ts).
 *
 * Bad input, and what happens to it:
 *   - not JSON, not an array, no verb, binary, stdin without text  -> closed, 1007 (the peer does
 *     not speak terminado; a JupyterLab client would reconnect and get the scrollback)
 *   - a frame over maxStdinFrameBytes                               -> closed, 1009, nothing written
 *   - unknown verb, set_size with non-integer sizes                 -> ignored, logged (newer
 *     clients may send verbs we do not know, as terminado ignores them)
 *   - set_size out of range                                         -> clamped to 1..1000
 * Input the REPL does not read (a multi-megabyte paste) pauses this websocket while the pty's
 * write backlog is over maxStdinBacklogBytes, so the client, not the gateway, holds the rest.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import { connectionGuard } from '../http/connection-guard.js';
import { decodeClientFrame } from './terminado-codec.js';
import type { Terminal, TerminalClient } from './terminal.js';

const PING_INTERVAL_MS = 30_000;
/** How long a closed websocket may take to answer the close frame before it is dropped. */
const CLOSE_GRACE_MS = 1_000;
/** node-pty has no drain event; while paused, look at its backlog this often. */
const BACKLOG_CHECK_MS = 20;
/** Logged per connection before further ignored frames go to debug. */
const WARN_BUDGET = 5;

export interface TerminalSocketOptions {
  maxStdinFrameBytes: number;
  maxStdinBacklogBytes: number;
  log: FastifyBaseLogger;
  onRejected?: () => void;
}

/**
 * Close with a code; a peer that does not read never answers the close frame (ws would wait
 * 30 s, and so would the gateway's stop), so the connection is dropped after CLOSE_GRACE_MS.
 */
function closeSocket(socket: WebSocket, code: number, reason: string): void {
  if (socket.readyState !== socket.OPEN && socket.readyState !== socket.CONNECTING) return;
  socket.close(code, reason);
  const force = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
  force.unref();
  socket.once('close', () => clearTimeout(force));
}

export function bridgeTerminalSocket(socket: WebSocket, terminal: Terminal, options: TerminalSocketOptions): { closed: Promise<void> } {
  const { log } = options;
  const guard = connectionGuard({
    socket,
    onFailure: (err, where) => log.error({ terminal: terminal.name, err: err.message, stack: err.stack, where }, 'terminal websocket handler failed; closing that connection'),
  });
  const client: TerminalClient = {
    get bufferedBytes() {
      return socket.bufferedAmount;
    },
    send: guard('output', (frame: string, onFlushed: () => void) => {
      if (socket.readyState !== socket.OPEN) return onFlushed();
      socket.send(frame, () => onFlushed());
    }),
    close: (code, reason) => closeSocket(socket, code, reason),
  };
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  try {
    terminal.attach(client);
  } catch (err) {
    socket.close(1011, (err as Error).message.slice(0, 100));
    return { closed };
  }
  log.debug({ terminal: terminal.name }, 'terminal websocket connected');

  let warnings = 0;
  const ignore = (reason: string): void => {
    options.onRejected?.();
    if (warnings++ < WARN_BUDGET) log.warn({ terminal: terminal.name, reason }, 'ignored terminal websocket frame');
    else log.debug({ terminal: terminal.name, reason }, 'ignored terminal websocket frame');
  };
  const reject = (code: number, reason: string): void => {
    options.onRejected?.();
    log.warn({ terminal: terminal.name, reason }, 'rejected terminal websocket frame; closing the websocket');
    closeSocket(socket, code, reason.slice(0, 120));
  };

  let backlogTimer: NodeJS.Timeout | undefined;
  const waitForBacklog = (): void => {
    backlogTimer = setTimeout(() => {
      if (terminal.state !== 'running' || terminal.stdinBacklogBytes <= options.maxStdinBacklogBytes / 2) {
        backlogTimer = undefined;
        socket.resume();
      } else {
        waitForBacklog();
      }
    }, BACKLOG_CHECK_MS);
  };

  socket.on('message', guard('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (buf.length > options.maxStdinFrameBytes) {
      return reject(1009, `frame of ${buf.length} bytes is over the ${options.maxStdinFrameBytes} byte limit`);
    }
    const decoded = decodeClientFrame(buf, isBinary);
    if (!decoded.ok) return decoded.fatal ? reject(1007, `invalid message: ${decoded.reason}`) : ignore(decoded.reason);
    const frame = decoded.frame;
    switch (frame.type) {
      case 'stdin':
        terminal.input(frame.data);
        if (backlogTimer === undefined && terminal.stdinBacklogBytes > options.maxStdinBacklogBytes) {
          log.debug({ terminal: terminal.name, backlog: terminal.stdinBacklogBytes }, 'REPL is not reading its input; pausing the websocket');
          socket.pause();
          waitForBacklog();
        }
        return;
      case 'set_size':
        terminal.resize(client, frame.rows, frame.cols);
        return;
      default: {
        const never: never = frame;
        return never;
      }
    }
  }));

  const ping = setInterval(() => socket.ping(), PING_INTERVAL_MS);
  ping.unref();
  socket.once('close', () => {
    clearInterval(ping);
    if (backlogTimer) clearTimeout(backlogTimer);
    terminal.detach(client);
    log.debug({ terminal: terminal.name }, 'terminal websocket closed');
  });
  socket.on('error', (err) => log.debug({ err: err.message }, 'terminal websocket error'));
  return { closed };
}
