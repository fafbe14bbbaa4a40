/**
 * HTTP routing for FakeKube: the core/v1 REST paths
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-uris), the verb each
 * request maps to (RBAC vocabulary), request log, latency and fault injection, and `Status`
 * bodies for every error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { FaultInjector, KubeVerb } from './faults.js';
import type { PodLogRegistry } from './pod-logs.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { makeStatus, StatusError, statusErrors } from './status.js';
import { isResource, RESOURCES, type DeleteOptions, type KubeObject, type ObjectStore, type ResourceName } from './store.js';
import type { WatchRegistry } from './watch.js';

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly verb: KubeVerb | undefined;
  readonly resource: string | undefined;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
}

export interface RouterContext {
  readonly store: ObjectStore;
  readonly watches: WatchRegistry;
  readonly faults: FaultInjector;
  readonly requests: RequestRecord[];
  readonly podLogs: PodLogRegistry;
  latencyMs(): number;
}

type Route =
  | { kind: 'collection'; resource: ResourceName; namespace: string | undefined }
  | { kind: 'item'; resource: ResourceName; namespace: string; name: string; subresource: 'status' | 'log' | undefined }
  | { kind: 'namespace'; name: string }
  | { kind: 'static'; body: unknown };

const MAX_BODY_BYTES = 8 * 1024 * 1024;

function parseRoute(pathname: string): Route | undefined {
  const seg = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (seg.length === 1 && seg[0] === 'version') {
    return { kind: 'static', body: { major: '1', minor: '30', gitVersion: 'v1.30.0-fakekube', platform: 'linux/amd64' } };
  }
  if (seg[0] !== 'api') return undefined;
  if (seg.length === 1) return { kind: 'static', body: { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] } };
  if (seg[1] !== 'v1') return undefined;
  if (seg.length === 2) {
    const resources = Object.entries(RESOURCES).map(([name, r]) => ({
      name,
      namespaced: true,
      kind: r.kind,
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    }));
    return { kind: 'static', body: { kind: 'APIResourceList', groupVersion: 'v1', resources } };
  }
  const [, , third, ns, resource, name, sub, ...rest] = seg;
  if (third === undefined) return undefined;
  if (third !== 'namespaces') {
    return seg.length === 3 && isResource(third) ? { kind: 'collection', resource: third, namespace: undefined } : undefined;
  }
  if (ns === undefined) return undefined;
  if (resource === undefined) return { kind: 'namespace', name: ns };
  if (!isResource(resource) || rest.length > 0) return undefined;
  if (name === undefined) return { kind: 'collection', resource, namespace: ns };
  if (sub === 'log' && resource === 'pods') return { kind: 'item', resource, namespace: ns, name, subresource: sub };
  if (sub !== undefined && sub !== 'status') return undefined;
  return { kind: 'item', resource, namespace: ns, name, subresource: sub };
}

function verbOf(method: string, route: Route | undefined, query: Record<string, string>): KubeVerb | undefined {
  if (!route || route.kind === 'static') return method === 'GET' ? 'get' : undefined;
  if (route.kind === 'namespace') return method === 'GET' ? 'get' : undefined;
  const watch = query['watch'] === 'true' || query['watch'] === '1';
  if (route.kind === 'collection') {
    switch (method) {
      case 'GET':
        return watch ? 'watch' : 'list';
      case 'POST':
        return 'create';
      case 'DELETE':
        return 'deletecollection';
      default:
        return undefined;
    }
  }
  switch (method) {
    case 'GET':
      return 'get';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new StatusError(makeStatus(413, 'Request entity too large', 'RequestEntityTooLarge'));
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw statusErrors.badRequest('the request body is not valid JSON');
  }
}

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(code, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** List items carry no kind/apiVersion on the wire; the list itself does. */
function listBody(store: ObjectStore, resource: ResourceName, items: KubeObject[], cont?: string): unknown {
  const metadata: Record<string, string> = { resourceVersion: store.resourceVersion };
  if (cont) metadata['continue'] = cont;
  return {
    kind: RESOURCES[resource].listKind,
    apiVersion: 'v1',
    metadata,
    items: items.map(({ kind: _k, apiVersion: _a, ...rest }) => rest),
  };
}

function deleteOptions(query: Record<string, string>, body: unknown): DeleteOptions {
  const opts: DeleteOptions = {};
  const b = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const grace = query['gracePeriodSeconds'] ?? b['gracePeriodSeconds'];
  if (grace !== undefined) opts.gracePeriodSeconds = Number(grace);
  const policy = query['propagationPolicy'] ?? b['propagationPolicy'];
  if (policy === 'Background' || policy === 'Foreground' || policy === 'Orphan') opts.propagationPolicy = policy;
  else if (policy !== undefined) throw statusErrors.badRequest(`unsupported propagationPolicy: ${String(policy)}`);
  if (query['orphanDependents'] === 'true' || b['orphanDependents'] === true) opts.propagationPolicy = 'Orphan';
  const pre = b['preconditions'];
  if (pre !== null && typeof pre === 'object') {
    const p = pre as Record<string, unknown>;
    opts.preconditions = {};
    if (typeof p['uid'] === 'string') opts.preconditions.uid = p['uid'];
    if (typeof p['resourceVersion'] === 'string') opts.preconditions.resourceVersion = p['resourceVersion'];
  }
  return opts;
}

export function createRequestHandler(ctx: RouterContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(ctx, req, res).catch((err: unknown) => {
      if (err instanceof StatusError) send(res, err.status.code, err.status, { ...err.headers });
      else send(res, 500, makeStatus(500, `fake-kube internal error: ${(err as Error).message}`));
    });
  };
}

async function handle(ctx: RouterContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://fake-kube');
  const query = Object.fromEntries(url.searchParams);
  const route = parseRoute(url.pathname);
  const verb = verbOf(method, route, query);
  // pods/log is its own resource for RBAC, the request log and faults (`injectFault({ resource: 'pods/log' })`).
  const resource =
    route?.kind === 'item' && route.subresource === 'log'
      ? 'pods/log'
      : route && (route.kind === 'collection' || route.kind === 'item')
        ? route.resource
        : undefined;
  const namespace =
    route?.kind === 'collection' || route?.kind === 'item' ? route.namespace : route?.kind === 'namespace' ? route.name : undefined;
  const name = route?.kind === 'item' ? route.name : undefined;
  ctx.requests.push({ method, path: url.pathname, query, verb, resource, namespace, name });

  const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req);
  const latency = ctx.latencyMs();
  if (latency > 0) await delay(latency);

  const fault = ctx.faults.take(verb, resource, namespace);
  if (fault?.reset) {
    req.socket.destroy();
    return;
  }
  if (fault) {
    const err = statusErrors.injected(fault.status, fault.message, fault.retryAfterSeconds);
    if (!(fault.inStream && verb === 'watch')) throw err;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(`${JSON.stringify({ type: 'ERROR', object: err.status })}\n`);
    return;
  }

  if (!route) throw statusErrors.noRoute();
  if (!verb) throw statusErrors.methodNotAllowed(method);
  const { store } = ctx;

  switch (route.kind) {
    case 'static':
      return send(res, 200, route.body);
    case 'namespace':
      return send(res, 200, {
        kind: 'Namespace',
        apiVersion: 'v1',
        metadata: { name: route.name, resourceVersion: '1', labels: { 'kubernetes.io/metadata.name': route.name } },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      });
    case 'collection': {
      const labels = parseLabelSelector(query['labelSelector']);
      const fields = parseFieldSelector(query['fieldSelector'], route.resource);
      if (verb === 'watch') {
        const timeout = query['timeoutSeconds'];
        return ctx.watches.serve(req, res, {
          resource: route.resource,
          namespace: route.namespace,
          labels,
          fields,
          resourceVersion: query['resourceVersion'],
          allowBookmarks: query['allowWatchBookmarks'] === 'true',
          timeoutSeconds: timeout === undefined ? undefined : Number(timeout),
          labelSelector: query['labelSelector'],
          fieldSelector: query['fieldSelector'],
        });
      }
      const selected = () =>
        store.list(route.resource, route.namespace).filter((o) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o));
      if (verb === 'list') {
        const all = selected();
        const offset = query['continue'] ? Number(Buffer.from(query['continue'], 'base64url').toString()) : 0;
        const limit = query['limit'] ? Number(query['limit']) : 0;
        if (limit > 0 && offset + limit < all.length) {
          const next = Buffer.from(String(offset + limit)).toString('base64url');
          return send(res, 200, listBody(store, route.resource, all.slice(offset, offset + limit), next));
        }
        return send(res, 200, listBody(store, route.resource, all.slice(offset)));
      }
      if (route.namespace === undefined) throw statusErrors.methodNotAllowed(method);
      if (verb === 'create') return send(res, 201, store.create(route.resource, route.namespace, body));
      if (verb === 'deletecollection') {
        const opts = deleteOptions(query, body);
        const deleted: KubeObject[] = [];
        for (const o of selected()) {
          try {
            deleted.push(store.delete(route.resource, o.metadata.namespace, o.metadata.name, opts));
          } catch (err) {
            if (!(err instanceof StatusError && err.status.code === 404)) throw err;
          }
        }
        return send(res, 200, listBody(store, route.resource, deleted));
      }
      throw statusErrors.methodNotAllowed(method);
    }
    case 'item': {
      const { resource: r, namespace: ns, name: n, subresource } = route;
      if (subresource === 'log') {
        if (verb !== 'get') throw statusErrors.methodNotAllowed(method);
        return ctx.podLogs.serve(req, res, ns, n, query);
      }
      switch (verb) {
        case 'get':
          return send(res, 200, store.get(r, ns, n));
        case 'update':
          return send(res, 200, store.replace(r, ns, n, body, subresource));
        case 'patch':
          return send(res, 200, store.patch(r, ns, n, String(req.headers['content-type'] ?? ''), body, subresource));
        case 'delete': {
          if (subresource) throw statusErrors.methodNotAllowed(method);
          const result = store.delete(r, ns, n, deleteOptions(query, body));
          // 202 Accepted while graceful deletion is pending, 200 once gone (apiserver delete handler).
          return send(res, result.metadata.deletionTimestamp === undefined ? 200 : 202, result);
        }
        default:
          throw statusErrors.methodNotAllowed(method);
      }
    }
    default: {
      const never: never = route;
      return never;
    }
  }
}
