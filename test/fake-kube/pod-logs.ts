// Stand-in for the API server's pods/log in the main tier, where no control plane runs; it also cuts log streams on cue (faults the real one cannot produce). The real pods/log is tested in test/integration/control-plane/executor-logs.test.ts.
/**
 * Container logs for FakeKube: `GET /api/v1/namespaces/{ns}/pods/{name}/log`
 * (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#read-log-of-the-specified-pod)
 * served from text a test appends per pod, the way the API server and kubelet answer:
 * - `tailLines` first, then `sinceTime` (at or after, one-second precision), then `timestamps`
 *   (RFC 3339 with nanoseconds, trailing zeros trimmed as Go's RFC3339Nano does);
 * - 404 for a missing pod, 400 while it is Pending ("waiting to start") or for a wrong or
 *   missing `container` in a multi-container pod;
 * - `follow` streams new lines until the pod is deleted or reaches Succeeded/Failed;
 * - the pod's log goes with the pod (deleted: gone).
 * Faults: `cut()` destroys open follow streams now or in the middle of the next line.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { statusErrors } from './status.js';
import type { KubeObject, ObjectStore } from './store.js';

export interface PodLogLine {
  /** RFC 3339 with nanoseconds. */
  readonly time: string;
  /** Nanoseconds since the epoch. */
  readonly key: bigint;
  readonly text: string;
}

export interface PodLogCut {
  readonly namespace?: string;
  readonly pod?: string;
  /** Write half of the next line, then cut (instead of cutting now). */
  readonly midLine?: boolean;
}

interface OpenStream {
  readonly namespace: string;
  readonly pod: string;
  readonly timestamps: boolean;
  cutMidLine: boolean;
  readonly res: ServerResponse;
}

const TERMINAL = new Set(['Succeeded', 'Failed']);

/** Go's RFC3339Nano for a time in nanoseconds: UTC, fraction without trailing zeros. */
export function formatNanoTime(key: bigint): string {
  const seconds = key / 1_000_000_000n;
  const nanos = key % 1_000_000_000n;
  const base = new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  const fraction = nanos === 0n ? '' : `.${nanos.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${base}${fraction}Z`;
}

function keyOf(time: Date | string): bigint {
  if (time instanceof Date) return BigInt(time.getTime()) * 1_000_000n;
  const m = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(time);
  const ms = Date.parse(m ? `${m[1]}${m[3]}` : time);
  if (!m || Number.isNaN(ms)) throw new Error(`not an RFC 3339 time: ${time}`);
  return BigInt(ms / 1000) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

export class PodLogRegistry {
  private readonly logs = new Map<string, PodLogLine[]>();
  private readonly open = new Set<OpenStream>();
  private lastKey = 0n;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ObjectStore,
    /** Called whenever a follow stream opens or closes. */
    private readonly onChange: () => void = () => {},
  ) {
    this.unsubscribe = store.subscribe((ev) => {
      if (ev.resource !== 'pods') return;
      const { namespace, name } = ev.object.metadata;
      if (ev.type === 'DELETED') {
        this.logs.delete(`${namespace}/${name}`);
        this.endStreams(namespace, name);
      } else if (TERMINAL.has(String(ev.object.status?.['phase'] ?? ''))) {
        this.endStreams(namespace, name);
      }
    });
  }

  get openStreams(): number {
    return this.open.size;
  }

  /** Append text (split into lines; a last line without '\n' counts as a line). */
  append(namespace: string, pod: string, text: string, options: { time?: Date | string } = {}): PodLogLine[] {
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const log = this.logs.get(`${namespace}/${pod}`) ?? [];
    this.logs.set(`${namespace}/${pod}`, log);
    const added: PodLogLine[] = [];
    for (const line of lines) {
      let key: bigint;
      if (options.time !== undefined) key = keyOf(options.time);
      else {
        // Distinct, increasing times like a runtime's clock (ms from Date.now(), ns to break ties).
        key = BigInt(Date.now()) * 1_000_000n;
        if (key <= this.lastKey) key = this.lastKey + 1n;
        this.lastKey = key;
      }
      const entry = { time: formatNanoTime(key), key, text: line };
      log.push(entry);
      added.push(entry);
      for (const s of this.open) if (s.namespace === namespace && s.pod === pod) this.send(s, entry);
    }
    return added;
  }

  lines(namespace: string, pod: string): readonly PodLogLine[] {
    return this.logs.get(`${namespace}/${pod}`) ?? [];
  }

  /** Cut matching follow streams (now, or in the middle of the next line); returns how many. */
  cut(options: PodLogCut = {}): number {
    let n = 0;
    for (const s of [...this.open]) {
      if ((options.namespace !== undefined && s.namespace !== options.namespace) || (options.pod !== undefined && s.pod !== options.pod)) continue;
      n += 1;
      if (options.midLine) s.cutMidLine = true;
      else this.destroy(s);
    }
    return n;
  }

  closeAll(): void {
    for (const s of [...this.open]) {
      this.forget(s);
      s.res.end();
    }
  }

  dispose(): void {
    this.unsubscribe();
    this.closeAll();
  }

  /** Throws StatusError (before any byte is written) for a missing pod or a bad request. */
  serve(_req: IncomingMessage, res: ServerResponse, namespace: string, name: string, query: Record<string, string>): void {
    const pod = this.store.get('pods', namespace, name);
    const container = this.checkContainer(pod, query['container']);
    const phase = String(pod.status?.['phase'] ?? 'Pending');
    if (phase === 'Pending') {
      throw statusErrors.badRequest(`container "${container}" in pod "${name}" is waiting to start: ContainerCreating`);
    }
    const timestamps = query['timestamps'] === 'true';
    let lines = [...this.lines(namespace, name)];
    const tail = query['tailLines'];
    if (tail !== undefined) {
      const n = Number(tail);
      if (!Number.isInteger(n) || n < 0) throw statusErrors.badRequest(`invalid tailLines: ${tail}`);
      lines = n === 0 ? [] : lines.slice(-n);
    }
    const since = query['sinceTime'];
    if (since !== undefined) {
      let sinceKey: bigint;
      try {
        // The API server forwards sinceTime to the kubelet at one-second precision.
        sinceKey = (keyOf(since) / 1_000_000_000n) * 1_000_000_000n;
      } catch {
        throw statusErrors.badRequest(`invalid sinceTime: ${since}`);
      }
      lines = lines.filter((l) => l.key >= sinceKey);
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
    const follow = query['follow'] === 'true' && !TERMINAL.has(phase) && pod.metadata.deletionTimestamp === undefined;
    const stream: OpenStream = { namespace, pod: name, timestamps, cutMidLine: false, res };
    for (const l of lines) res.write(this.render(stream, l));
    if (!follow) {
      res.end();
      return;
    }
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    this.open.add(stream);
    this.onChange();
    res.on('close', () => this.forget(stream));
  }

  private checkContainer(pod: KubeObject, requested: string | undefined): string {
    const containers = ((pod.spec?.['containers'] ?? []) as { name?: string }[]).map((c) => c.name ?? '');
    const name = pod.metadata.name;
    if (requested) {
      if (!containers.includes(requested)) throw statusErrors.badRequest(`container ${requested} is not valid for pod ${name}`);
      return requested;
    }
    if (containers.length > 1) {
      throw statusErrors.badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`);
    }
    return containers[0] ?? '';
  }

  private render(stream: OpenStream, line: PodLogLine): string {
    return `${stream.timestamps ? `${line.time} ` : ''}${line.text}\n`;
  }

  private send(stream: OpenStream, line: PodLogLine): void {
    const text = this.render(stream, line);
    if (!stream.cutMidLine) {
      stream.res.write(text);
      return;
    }
    this.forget(stream);
    const half = Buffer.from(text).subarray(0, Math.max(1, Math.floor(Buffer.byteLength(text) / 2)));
    stream.res.write(half, () => stream.res.destroy());
  }

  private destroy(stream: OpenStream): void {
    this.forget(stream);
    stream.res.destroy();
  }

  private forget(stream: OpenStream): void {
    if (this.open.delete(stream)) this.onChange();
  }

  private endStreams(namespace: string, pod: string): void {
    for (const s of [...this.open]) {
      if (s.namespace !== namespace || s.pod !== pod) continue;
      this.forget(s);
      s.res.end();
    }
  }
}
