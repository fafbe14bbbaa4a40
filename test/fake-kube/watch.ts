/**
 * Watch streams (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes):
 * a 200 response with chunked transfer encoding, one JSON `{type, object}` per line.
 * - no resourceVersion (or "0"): synthetic ADDED for every current object, then live events;
 * - resourceVersion N: replay history after N, then live; N older than the history gets one
 *   ERROR event holding a 410 Expired Status and the stream ends, as the real apiserver does;
 * - with selectors, an object that starts/stops matching arrives as ADDED/DELETED;
 * - `timeoutSeconds` ends the stream (after a BOOKMARK when `allowWatchBookmarks`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { matchesFields, matchesLabels, type FieldRequirement, type LabelRequirement } from './selectors.js';
import { statusErrors } from './status.js';
import { RESOURCES, type KubeObject, type ObjectStore, type ResourceName, type StoreEvent } from './store.js';

export interface WatchRequest {
  resource: ResourceName;
  /** undefined: all namespaces. */
  namespace: string | undefined;
  labels: readonly LabelRequirement[];
  fields: readonly FieldRequirement[];
  resourceVersion: string | undefined;
  allowBookmarks: boolean;
  timeoutSeconds: number | undefined;
  /** The selectors as sent, for tests that wait for a particular watch. */
  labelSelector: string | undefined;
  fieldSelector: string | undefined;
}

export interface OpenWatchInfo {
  readonly resource: ResourceName;
  readonly namespace: string | undefined;
  readonly labelSelector: string | undefined;
  readonly fieldSelector: string | undefined;
  readonly resourceVersion: string | undefined;
}

type WireEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: unknown };

interface OpenWatch {
  res: ServerResponse;
  request: WatchRequest;
  close(): void;
}

export class WatchRegistry {
  private readonly open = new Set<OpenWatch>();

  constructor(
    private readonly store: ObjectStore,
    /** Called whenever a watch opens or closes. */
    private readonly onChange: () => void = () => {},
  ) {}

  get size(): number {
    return this.open.size;
  }

  list(): OpenWatchInfo[] {
    return [...this.open].map(({ request: r }) => ({
      resource: r.resource,
      namespace: r.namespace,
      labelSelector: r.labelSelector,
      fieldSelector: r.fieldSelector,
      resourceVersion: r.resourceVersion,
    }));
  }

  /** Throws StatusError (before any byte is written) for a malformed resourceVersion. */
  serve(_req: IncomingMessage, res: ServerResponse, request: WatchRequest): void {
    const matches = (o: KubeObject) =>
      (request.namespace === undefined || o.metadata.namespace === request.namespace) &&
      matchesLabels(request.labels, o.metadata.labels) &&
      matchesFields(request.fields, o);
    const translate = (ev: StoreEvent): WireEvent | undefined => {
      if (ev.resource !== request.resource) return undefined;
      const now = matches(ev.object);
      switch (ev.type) {
        case 'ADDED':
          return now ? { type: 'ADDED', object: ev.object } : undefined;
        case 'DELETED':
          return matches(ev.previous ?? ev.object) ? { type: 'DELETED', object: ev.object } : undefined;
        case 'MODIFIED': {
          const before = ev.previous !== undefined && matches(ev.previous);
          if (now && before) return { type: 'MODIFIED', object: ev.object };
          if (now) return { type: 'ADDED', object: ev.object };
          if (before) return { type: 'DELETED', object: ev.object };
          return undefined;
        }
        default: {
          const never: never = ev.type;
          return never;
        }
      }
    };

    const rvParam = request.resourceVersion;
    let initial: WireEvent[];
    if (rvParam === undefined || rvParam === '' || rvParam === '0') {
      initial = this.store
        .list(request.resource, request.namespace)
        .filter(matches)
        .map((object) => ({ type: 'ADDED', object }));
    } else {
      const rv = Number(rvParam);
      if (!Number.isInteger(rv) || rv < 0) throw statusErrors.badRequest(`invalid resourceVersion: ${JSON.stringify(rvParam)}`);
      const replay = this.store.eventsSince(rv);
      if (replay.expired) {
        startStream(res);
        res.end(line({ type: 'ERROR', object: statusErrors.expired(rv, replay.oldest) }));
        return;
      }
      initial = replay.events.map(translate).filter((e): e is WireEvent => e !== undefined);
    }

    startStream(res);
    for (const ev of initial) res.write(line(ev));

    let timer: NodeJS.Timeout | undefined;
    const unsubscribe = this.store.subscribe((ev) => {
      const out = translate(ev);
      if (out) res.write(line(out));
    });
    const entry: OpenWatch = {
      res,
      request,
      close: () => {
        unsubscribe();
        if (timer) clearTimeout(timer);
        if (this.open.delete(entry)) this.onChange();
      },
    };
    this.open.add(entry);
    this.onChange();
    res.on('close', entry.close);
    if (request.timeoutSeconds !== undefined && request.timeoutSeconds > 0) {
      timer = setTimeout(() => {
        if (request.allowBookmarks) res.write(line(this.bookmark(request.resource)));
        res.end();
      }, request.timeoutSeconds * 1000);
    }
  }

  /** Send a BOOKMARK (current resourceVersion) to every watch that asked for bookmarks. */
  sendBookmarks(): void {
    for (const w of this.open) {
      if (w.request.allowBookmarks) w.res.write(line(this.bookmark(w.request.resource)));
    }
  }

  /** Kill every watch connection abruptly (no terminating chunk), like a network cut. */
  drop(): number {
    const n = this.open.size;
    for (const w of [...this.open]) {
      w.close();
      w.res.destroy();
    }
    return n;
  }

  /** End every watch cleanly (server shutting down). */
  closeAll(): void {
    for (const w of [...this.open]) {
      w.close();
      w.res.end();
    }
  }

  private bookmark(resource: ResourceName): WireEvent {
    return {
      type: 'BOOKMARK',
      object: { kind: RESOURCES[resource].kind, apiVersion: 'v1', metadata: { resourceVersion: this.store.resourceVersion } },
    };
  }
}

function startStream(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  res.socket?.setNoDelay(true);
}

function line(ev: WireEvent): string {
  return `${JSON.stringify(ev)}\n`;
}
