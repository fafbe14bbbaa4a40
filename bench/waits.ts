/**
 * The bench's I/O waits with deadlines: an HTTP call (aborted on deadline, body read included)
 * and a websocket open (terminated on deadline). Used by every client of the bench, so none of
 * them can wait forever on a server that accepts connections and never answers.
 */
import WebSocket from 'ws';
import type { DeadlineScope, What } from './deadline.js';

export interface FetchWaitOptions {
  /** Base deadline (scaled by the scope). */
  readonly baseMs: number;
  /** Default: "<METHOD> <url>". */
  readonly what?: What;
}

/** The response body as text; non-2xx is an error with the status and body. */
export function fetchText(scope: DeadlineScope, url: string, init: RequestInit, options: FetchWaitOptions): Promise<string> {
  const method = init.method ?? 'GET';
  return scope.wait(
    async (inner) => {
      const res = await fetch(url, { ...init, signal: inner.signal });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${new URL(url).pathname} -> HTTP ${res.status} ${text}`);
      return text;
    },
    options.baseMs,
    options.what ?? `${method} ${url}`,
  );
}

export interface OpenWaitOptions extends FetchWaitOptions {
  /**
   * Called with the socket before it opens, to attach listeners: a frame that arrives with the
   * upgrade response is emitted before the open promise's continuation runs.
   */
  readonly onSocket?: (ws: WebSocket) => void;
}

/** Open a websocket; a refused upgrade is an error with its status. */
export function openWebSocket(scope: DeadlineScope, url: string, protocols: string[], options: WebSocket.ClientOptions, wait: OpenWaitOptions): Promise<WebSocket> {
  return scope.wait(
    (inner) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(url, protocols, options);
        wait.onSocket?.(ws);
        // On deadline: terminate, so no half-open socket outlives the wait.
        const onAbort = (): void => ws.terminate();
        inner.signal.addEventListener('abort', onAbort, { once: true });
        const settle = (): void => inner.signal.removeEventListener('abort', onAbort);
        ws.once('open', () => {
          settle();
          resolve(ws);
        });
        // Kept for the socket's life: a later error (then 'close') must not be an unhandled event.
        ws.on('error', (err) => {
          settle();
          reject(err);
        });
        ws.once('unexpected-response', (_req, res) => {
          settle();
          ws.terminate();
          reject(new Error(`websocket upgrade refused: HTTP ${res.statusCode}`));
        });
      }),
    wait.baseMs,
    wait.what ?? `websocket ${url} to open`,
  );
}
