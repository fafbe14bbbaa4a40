/**
 * Containment for one connection's handlers: a bug that throws while handling one client's frame
 * or output closes that client's websocket (1011, logged with who it was), never the gateway
 * process and never anyone else's connection. Node ends the process on an exception thrown out of
 * an event listener, so every listener that runs per connection goes through `guard`.
 */
import type { WebSocket } from 'ws';

export interface ConnectionGuardOptions {
  socket: WebSocket;
  /** Logs the failure with the connection's identity (kernel id, terminal name). */
  onFailure: (err: Error, where: string) => void;
}

export type Guard = <A extends unknown[]>(where: string, fn: (...args: A) => void) => (...args: A) => void;

export function connectionGuard(options: ConnectionGuardOptions): Guard {
  const { socket, onFailure } = options;
  let failed = false;
  return (where, fn) =>
    (...args) => {
      try {
        fn(...args);
      } catch (thrown) {
        const err = thrown instanceof Error ? thrown : new Error(String(thrown));
        if (failed) return;
        failed = true;
        try {
          onFailure(err, where);
        } finally {
          // 1011: the server hit an unexpected condition. terminate() if the close handshake
          // cannot even start (a socket in a broken state).
          try {
            socket.close(1011, 'internal error while handling this connection; see the gateway log');
          } catch {
            socket.terminate();
          }
          setTimeout(() => socket.terminate(), 1_000).unref();
        }
      }
    };
}
