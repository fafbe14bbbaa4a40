/**
 * One request for a container's log, `GET /api/v1/namespaces/{ns}/pods/{name}/log`
 * (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#read-log-of-the-specified-pod),
 * as a small value like kube-watch.ts: resolves with the body stream once the server answered
 * 200, rejects with a PodLogError (HTTP status, Status body, headers: what kube-errors.ts reads)
 * otherwise. Written on node:http(s) with the KubeConfig's agent and headers instead of
 * client-node 1.4's `Log`, which pipes the body into a Writable without ever reporting a cut
 * connection (the follower would hang), drops 4xx Status bodies and cannot send `tailLines=0`.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';

export interface PodLogRequest {
  readonly namespace: string;
  readonly pod: string;
  /** Required by the server when the pod has more than one container. */
  readonly container?: string | undefined;
  readonly follow: boolean;
  /** Prefix each line with its RFC 3339 (nanosecond) time from the container runtime. */
  readonly timestamps: boolean;
  /** RFC 3339; the API server passes it on to the kubelet at one-second precision. */
  readonly sinceTime?: string | undefined;
  readonly tailLines?: number | undefined;
  readonly limitBytes?: number | undefined;
}

/** Opens one log request; `signal` aborts it (the returned stream is destroyed). */
export type PodLogFn = (request: PodLogRequest, signal: AbortSignal) => Promise<Readable>;

/** A non-200 answer, shaped like client-node's ApiException (`code`, `body`, `headers`). */
export class PodLogError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super(`pod log request failed: HTTP ${code}${statusMessage(body)}`);
    this.name = 'PodLogError';
  }
}

const MAX_ERROR_BODY = 64 * 1024;

/** ": <message>" of a Status body (JSON), or of a plain-text one; "" when empty. */
function statusMessage(body: string): string {
  let message = body.trim();
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not JSON: the text itself
  }
  return message ? `: ${message.split('\n')[0]!.slice(0, 300)}` : '';
}

export function podLogPath(request: Pick<PodLogRequest, 'namespace' | 'pod'>): string {
  return `/api/v1/namespaces/${encodeURIComponent(request.namespace)}/pods/${encodeURIComponent(request.pod)}/log`;
}

export function podLogQuery(request: PodLogRequest): URLSearchParams {
  const q = new URLSearchParams();
  if (request.container) q.set('container', request.container);
  q.set('follow', String(request.follow));
  q.set('timestamps', String(request.timestamps));
  if (request.sinceTime !== undefined) q.set('sinceTime', request.sinceTime);
  if (request.tailLines !== undefined) q.set('tailLines', String(Math.max(0, Math.floor(request.tailLines))));
  if (request.limitBytes !== undefined) q.set('limitBytes', String(Math.max(1, Math.floor(request.limitBytes))));
  return q;
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

export function createPodLogFn(kubeConfig: KubeConfig): PodLogFn {
  return async (request, signal) => {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the Kubernetes configuration has no current cluster');
    // Credentials (bearer token, client certificate, CA, proxy) exactly as the API clients get them.
    const opts: https.RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(opts);
    signal.throwIfAborted();
    const url = new URL(cluster.server.replace(/\/+$/, '') + podLogPath(request));
    url.search = podLogQuery(request).toString();
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise<Readable>((resolve, reject) => {
      const headers = { ...opts.headers, Accept: '*/*' };
      const req = transport.request(url, { method: 'GET', agent: opts.agent, headers, ...(opts.auth ? { auth: opts.auth } : {}), signal });
      req.once('error', reject);
      // A quiet executor sends nothing for long: TCP keep-alive notices a peer that vanished.
      req.once('socket', (socket) => socket.setKeepAlive(true, 30_000));
      req.once('response', (res) => {
        const code = res.statusCode ?? 0;
        if (code === 200) {
          // Errors after this point (a cut connection) surface on the stream itself.
          req.removeListener('error', reject);
          req.on('error', (err) => res.destroy(err));
          resolve(res);
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_ERROR_BODY) chunks.push(c);
          size += c.length;
        });
        res.once('error', reject);
        res.once('end', () => reject(new PodLogError(code, Buffer.concat(chunks).toString('utf8'), flatHeaders(res.headers))));
      });
      req.end();
    });
  };
}
