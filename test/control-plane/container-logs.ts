// Stand-in for the kubelet's log endpoint: there is no kubelet on test machines, so the node agent keeps each executor process's output and serves it here for kube-apiserver's `pods/log`.
/**
 * Test infrastructure. Keeps every container's stdout/stderr lines in a file per pod in the CRI
 * logging format the kubelet reads (`<RFC3339Nano> <stream> F <line>`, see
 * https://github.com/kubernetes/design-proposals-archive/blob/main/node/kubelet-cri-logging.md)
 * and answers kube-apiserver's proxied log requests over HTTPS, as the kubelet does:
 *   GET /containerLogs/{namespace}/{pod}/{container}?follow=&timestamps=&tailLines=&sinceTime=&sinceSeconds=&limitBytes=&stream=
 * `tailLines` is applied first, then `sinceTime`/`sinceSeconds`, then `stream` (kubelet's
 * ReadLogs order); `follow` streams new lines until the container's process has ended.
 * kube-apiserver does not verify this server's certificate when --kubelet-certificate-authority
 * is unset (pkg/kubelet/client: no CA means an insecure transport), and sends no client
 * certificate without --kubelet-client-certificate, so any certificate will do: the node agent
 * reuses the API server's self-signed one.
 */
import { EventEmitter } from 'node:events';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { timestampKey } from '../../src/k8s/log-cursor.js';

export type LogStream = 'stdout' | 'stderr';

export interface ContainerLogServerOptions {
  /** Folder for the per-pod log files (created). */
  readonly dir: string;
  /** Without one the endpoint is off (logs are still kept): `pods/log` then fails. */
  readonly tls: { readonly cert: string | Buffer; readonly key: string | Buffer } | undefined;
  readonly log?: (line: string) => void;
}

interface Entry {
  time: string;
  key: bigint;
  stream: LogStream;
  text: string;
}

/** One container's log: written by the node agent, read by requests. */
export class ContainerLog extends EventEmitter<{ line: [entry: Entry]; end: [] }> {
  private ended = false;

  constructor(
    readonly file: string,
    readonly uid: string,
    readonly container: string,
    private readonly clock: () => bigint,
  ) {
    super();
    writeFileSync(file, '');
  }

  get running(): boolean {
    return !this.ended;
  }

  write(stream: LogStream, text: string): void {
    if (this.ended) return;
    const key = this.clock();
    const entry = { time: formatNanoTime(key), key, stream, text };
    appendFileSync(this.file, `${entry.time} ${stream} F ${text}\n`);
    this.emit('line', entry);
  }

  /** The container's process ended (and its output was read to the end). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.emit('end');
  }

  entries(): Entry[] {
    if (!existsSync(this.file)) return [];
    const out: Entry[] = [];
    for (const raw of readFileSync(this.file, 'utf8').split('\n')) {
      const m = /^(\S+) (stdout|stderr) [FP] (.*)$/s.exec(raw);
      const key = m ? timestampKey(m[1]!) : undefined;
      if (m && key !== undefined) out.push({ time: m[1]!, key, stream: m[2] as LogStream, text: m[3]! });
    }
    return out;
  }
}

/** Go's RFC3339Nano (UTC, trailing zeros of the fraction trimmed), as the kubelet writes times. */
export function formatNanoTime(key: bigint): string {
  const base = new Date(Number(key / 1_000_000_000n) * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  const nanos = key % 1_000_000_000n;
  return `${base}${nanos === 0n ? '' : `.${nanos.toString().padStart(9, '0').replace(/0+$/, '')}`}Z`;
}

/**
 * kube-apiserver's self-signed serving certificate and key: in its --cert-dir, the CA file a
 * ControlPlane kubeconfig names (apiserver.crt) sits next to apiserver.key.
 */
export function apiServerCertificate(kubeConfig: KubeConfig): { cert: Buffer; key: Buffer } | undefined {
  const ca = kubeConfig.getCurrentCluster()?.caFile;
  const key = ca?.replace(/\.crt$/, '.key');
  if (!ca || !key || key === ca || !existsSync(key)) return undefined;
  return { cert: readFileSync(ca), key: readFileSync(key) };
}

export class ContainerLogServer {
  private readonly logs = new Map<string, ContainerLog>(); // by "namespace/pod": the newest incarnation
  private server: Server | undefined;
  private lastKey = 0n;

  constructor(private readonly options: ContainerLogServerOptions) {}

  /** Listen on 127.0.0.1 (a free port); returns the port (the Node's kubeletEndpoint), 0 when off. */
  async start(): Promise<number> {
    mkdirSync(this.options.dir, { recursive: true });
    const tls = this.options.tls;
    if (!tls) {
      this.options.log?.('node-agent: no certificate for the log endpoint (pass logServerTls): pods/log will not work');
      return 0;
    }
    const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      try {
        this.handle(req, res);
      } catch (err) {
        reply(res, 500, `container logs: ${(err as Error).message}`);
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const log of this.logs.values()) log.end();
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** A container starts: its output goes to a fresh log (replacing an older pod of that name). */
  open(namespace: string, pod: string, uid: string, container: string): ContainerLog {
    this.logs.get(`${namespace}/${pod}`)?.end();
    const file = join(this.options.dir, `${namespace}_${pod}_${uid}.log`);
    const log = new ContainerLog(file, uid, container, () => this.nextKey());
    this.logs.set(`${namespace}/${pod}`, log);
    return log;
  }

  /** The pod object is gone: so is its log (as with a kubelet). */
  remove(namespace: string, pod: string, uid: string): void {
    const log = this.logs.get(`${namespace}/${pod}`);
    if (!log || log.uid !== uid) return;
    log.end();
    this.logs.delete(`${namespace}/${pod}`);
    rmSync(log.file, { force: true });
  }

  /** Distinct, increasing times (ms from the wall clock, nanoseconds to break ties). */
  private nextKey(): bigint {
    let key = BigInt(Date.now()) * 1_000_000n;
    if (key <= this.lastKey) key = this.lastKey + 1n;
    this.lastKey = key;
    return key;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://node');
    const seg = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (req.method !== 'GET' || seg.length !== 4 || seg[0] !== 'containerLogs') return reply(res, 404, 'not found');
    const [, namespace, pod, container] = seg as [string, string, string, string];
    const q = url.searchParams;
    const log = this.logs.get(`${namespace}/${pod}`);
    if (!log) return reply(res, 400, `container "${container}" in pod "${pod}" is waiting to start: ContainerCreating`);
    if (log.container !== container) return reply(res, 404, `container "${container}" not found in pod "${pod}"`);
    if (q.get('previous') === 'true') return reply(res, 400, `previous terminated container "${container}" in pod "${pod}" not found`);

    let entries = log.entries();
    const tail = q.get('tailLines');
    if (tail !== null && Number(tail) >= 0) entries = Number(tail) === 0 ? [] : entries.slice(-Number(tail));
    const sinceTime = q.get('sinceTime');
    const sinceSeconds = q.get('sinceSeconds');
    const sinceSecondsKey = sinceSeconds === null ? undefined : BigInt(Date.now() - Number(sinceSeconds) * 1000) * 1_000_000n;
    const since = sinceTime !== null ? timestampKey(sinceTime) : sinceSecondsKey;
    const stream = (q.get('stream') ?? 'All').toLowerCase();
    const wanted = (e: Entry) => (since === undefined || e.key >= since) && (stream === 'all' || e.stream === stream);
    const timestamps = q.get('timestamps') === 'true';
    let budget = q.get('limitBytes') === null ? Number.POSITIVE_INFINITY : Number(q.get('limitBytes'));
    const render = (e: Entry): string | undefined => {
      if (budget <= 0) return undefined;
      const out = Buffer.from(`${timestamps ? `${e.time} ` : ''}${e.text}\n`);
      budget -= out.length;
      return out.subarray(0, Math.max(0, out.length + Math.min(0, budget))).toString('utf8');
    };

    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' });
    for (const e of entries.filter(wanted)) {
      const text = render(e);
      if (text !== undefined) res.write(text);
    }
    if (q.get('follow') !== 'true' || !log.running || budget <= 0) {
      res.end();
      return;
    }
    res.flushHeaders();
    const onLine = (e: Entry) => {
      if (!wanted(e)) return;
      const text = render(e);
      if (text !== undefined) res.write(text);
      if (budget <= 0) done();
    };
    const done = () => {
      log.off('line', onLine);
      log.off('end', done);
      res.end();
    };
    log.on('line', onLine);
    log.once('end', done);
    res.once('close', () => {
      log.off('line', onLine);
      log.off('end', done);
    });
  }
}

function reply(res: ServerResponse, code: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`${message}\n`);
}
