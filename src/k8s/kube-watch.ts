/**
 * One watch request as a small value: events go to a callback, the end is a promise that says
 * why it ended. Built on client-node 1.4's `Watch`, whose quirks it absorbs:
 * - an expired resourceVersion arrives as an `ERROR` event carrying a 410 Status, then a normal
 *   end of stream (or, from some servers, as an HTTP 410 answer): both become `expired`;
 * - `done` also fires after our own abort (with an AbortError): that becomes `aborted`;
 * - `Watch.watch()` resolves its AbortController only once response headers arrive, so an
 *   abort requested earlier is applied when it does;
 * - its 30 s request timeout is overwritten inside client-node (no timeout at all), so callers
 *   pass `timeoutSeconds` and the server ends the stream.
 * Protocol: https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { httpStatusOf, KubeStatusError } from './kube-errors.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchRequest {
  /** Collection path, e.g. `/api/v1/namespaces/ns/pods`. */
  readonly path: string;
  readonly resourceVersion: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly timeoutSeconds?: number;
  readonly allowWatchBookmarks?: boolean;
}

export type WatchEnd =
  | { readonly kind: 'closed' }
  | { readonly kind: 'expired' }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'aborted' };

export interface ActiveWatch {
  readonly ended: Promise<WatchEnd>;
  abort(): void;
}

export type WatchFn = (request: WatchRequest, onEvent: (type: WatchEventType, object: unknown) => void) => ActiveWatch;

const EVENT_TYPES = new Set<string>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK']);

export function createWatchFn(kubeConfig: KubeConfig): WatchFn {
  const watcher = new Watch(kubeConfig);
  return (request, onEvent) => {
    let aborted = false;
    let expired = false;
    let streamError: KubeStatusError | undefined;
    let controller: AbortController | undefined;
    let settle!: (end: WatchEnd) => void;
    let settled = false;
    const ended = new Promise<WatchEnd>((resolve) => {
      settle = (end) => {
        if (settled) return;
        settled = true;
        resolve(end);
      };
    });

    const query: Record<string, string | number | boolean> = { resourceVersion: request.resourceVersion };
    if (request.labelSelector) query['labelSelector'] = request.labelSelector;
    if (request.fieldSelector) query['fieldSelector'] = request.fieldSelector;
    if (request.timeoutSeconds !== undefined) query['timeoutSeconds'] = Math.max(1, Math.ceil(request.timeoutSeconds));
    if (request.allowWatchBookmarks) query['allowWatchBookmarks'] = true;

    const onData = (type: string, object: unknown) => {
      if (aborted || settled) return;
      if (type === 'ERROR') {
        const status = new KubeStatusError(object);
        if (status.code === 410) expired = true;
        else streamError = status;
        return;
      }
      if (EVENT_TYPES.has(type)) onEvent(type as WatchEventType, object);
    };
    const onDone = (err: unknown) => {
      if (aborted) return settle({ kind: 'aborted' });
      if (expired || httpStatusOf(err) === 410) return settle({ kind: 'expired' });
      if (err) return settle({ kind: 'failed', error: err });
      if (streamError) return settle({ kind: 'failed', error: streamError });
      return settle({ kind: 'closed' });
    };

    watcher.watch(request.path, query, onData, onDone).then(
      (c) => {
        controller = c;
        if (aborted) c.abort();
      },
      (error: unknown) => settle({ kind: 'failed', error }),
    );

    return {
      ended,
      abort: () => {
        if (aborted) return;
        aborted = true;
        controller?.abort();
        settle({ kind: 'aborted' });
      },
    };
  };
}
