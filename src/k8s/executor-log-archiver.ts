/**
 * Session logs, executor side (issue 14 item 6): keeps the container log of every executor pod
 * of this gateway (`spark-role=executor`, `app.kubernetes.io/managed-by=sparkgate`,
 * `sparkgate.io/gateway=<pod>`, some `sparkgate.io/session`) in a ring on disk, read through
 * the API server (`pods/log`) from the moment the pod runs, so it stays readable after Spark or
 * the garbage collector deleted the pod. One informer per namespace (the gateway's and the team
 * namespaces); at most `maxConcurrentStreams` log streams at once, the rest wait their turn.
 *
 * Per executor (session id + spark-exec-id):
 *
 *   pod seen (Pending) --> Running: follow (executor-log-follower.ts) --> log complete / pod gone
 *        |                                                                     |
 *        +---------------- pod deleted -------------------> goneAt set --> removed after
 *                                                                          logRetentionSeconds
 *
 * At start, archived logs whose pod is gone are scheduled (or removed) by their goneAt or, when
 * a gateway died before noting it, by their last write. Implements ExecutorLogSource.
 */
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { LABEL_SESSION, SPARK_LABEL_EXEC_ID, SPARK_LABEL_ROLE, SPARK_ROLE_EXECUTOR } from '../labels.js';
import type { ExecutorLogEntry, ExecutorLogReadOptions, ExecutorLogSource } from '../logs/executor-log-source.js';
import { ExecutorLogStore, isSafeId, type ExecutorLogMeta } from '../logs/executor-log-store.js';
import type { BackoffOptions } from './backoff.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { followExecutorLog, type FollowedPodState } from './executor-log-follower.js';
import type { KubeClient } from './kube-client.js';
import { objectMetaSchema } from './kube-schemas.js';
import { formatLabelSelector, gatewayPodsSelector, type LabelSelector } from './label-selector.js';
import type { LogCursorState } from './log-cursor.js';
import { NamespacedResources } from './namespaced-resources.js';
import { createPodLogFn, type PodLogFn } from './pod-log-stream.js';
import { ResourceInformer } from './resource-informer.js';

/** Spark's executor container name (Spark on Kubernetes, `spark.kubernetes.executor.podTemplateContainerName`). */
export const EXECUTOR_CONTAINER = 'spark-kubernetes-executor';
/** setTimeout's largest delay; longer retention timers re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const logPodSchema = z.object({
  metadata: objectMetaSchema,
  spec: z.object({ containers: z.array(z.object({ name: z.string() })).nullish() }).nullish(),
  status: z.object({ phase: z.string().nullish() }).nullish(),
});
type LogPod = z.infer<typeof logPodSchema>;

export interface ExecutorLogArchiverOptions {
  readonly client: KubeClient;
  /** Team namespaces whose executor pods are archived too (the gateway's, `client.namespace`, always is). */
  readonly namespaces?: readonly string[];
  readonly stateDir: string;
  /** `executorLogMaxBytes`: the ring's size per executor. */
  readonly maxBytes: number;
  /** `logRetentionSeconds`: how long a log is kept after its pod is gone. */
  readonly retentionSeconds: number;
  readonly maxConcurrentStreams?: number;
  /** After the pod object is gone, give a still-open log stream this long to end (default 10 s). */
  readonly goneGraceMs?: number;
  /** Persist the read position at most this often per executor (default 1 s). */
  readonly cursorFlushMs?: number;
  readonly clock?: Clock;
  readonly backoff?: BackoffOptions;
  readonly watchTimeoutSeconds?: number;
  /** Tests: the log request (default: through the client's credentials). */
  readonly podLog?: PodLogFn;
}

export interface ArchiverEvents {
  /** A log stream ended: the container's whole log is archived (`complete`) or the pod is gone. */
  archived: [info: { sessionId: string; executorId: string; pod: string; complete: boolean }];
  removed: [info: { sessionId: string; executorId: string }];
  failure: [info: { what: string; error: unknown }];
}

interface Channel {
  readonly sessionId: string;
  readonly executorId: string;
  readonly key: string;
  pod: LogPod | undefined;
  meta: ExecutorLogMeta | undefined;
  follower: { readonly abort: AbortController; goneTimer?: TimerHandle } | undefined;
  queued: boolean;
  removalTimer?: TimerHandle | undefined;
  flushTimer?: TimerHandle | undefined;
}

export class ExecutorLogArchiver extends EventEmitter<ArchiverEvents> implements ExecutorLogSource {
  readonly store: ExecutorLogStore;
  readonly namespaces: readonly string[];
  private readonly clock: Clock;
  private readonly podLog: PodLogFn;
  private readonly informers = new Map<string, ResourceInformer<LogPod>>();
  private readonly channels = new Map<string, Channel>();
  private readonly queue: Channel[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private active = 0;
  private running = false;
  private stopping = new AbortController();

  constructor(private readonly options: ExecutorLogArchiverOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.podLog = options.podLog ?? createPodLogFn(options.client.kubeConfig);
    this.store = new ExecutorLogStore({ stateDir: options.stateDir, maxBytes: options.maxBytes });
    this.namespaces = [...new Set([options.client.namespace, ...(options.namespaces ?? [])])];
    const base = gatewayPodsSelector(options.client.gatewayPod.name);
    const selector: LabelSelector = { ...base, matchLabels: { ...base.matchLabels, [SPARK_LABEL_ROLE]: SPARK_ROLE_EXECUTOR } };
    const selectorText = formatLabelSelector(selector);
    for (const namespace of this.namespaces) {
      const resources = new NamespacedResources({ ...options.client, namespace });
      const informer = new ResourceInformer<LogPod>({
        source: {
          list: () => resources.list('pods', selectorText),
          watch: (request, onEvent) => resources.watch('pods', { ...request, labelSelector: selectorText }, onEvent),
        },
        parse: (raw) => logPodSchema.safeParse(raw).data,
        key: (pod) => pod.metadata.name,
        version: (pod) => pod.metadata.resourceVersion,
        clock: this.clock,
        ...(options.backoff ? { backoff: options.backoff } : {}),
        ...(options.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: options.watchTimeoutSeconds } : {}),
      });
      informer.on('add', (pod) => this.guard('pod added', () => this.onPod(namespace, pod)));
      informer.on('update', (pod) => this.guard('pod changed', () => this.onPod(namespace, pod)));
      informer.on('delete', (pod) => this.guard('pod deleted', () => this.onGone(pod)));
      informer.on('failure', ({ phase, error }) => this.emit('failure', { what: `${phase} executor pods in ${namespace}`, error }));
      this.informers.set(namespace, informer);
    }
  }

  /** Resolves once every namespace's informer listed once. */
  async whenSynced(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.whenSynced()));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = new AbortController();
    for (const informer of this.informers.values()) informer.start();
    this.track('sweep archived logs', this.sweep());
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping.abort();
    for (const informer of this.informers.values()) await informer.stop();
    this.queue.length = 0;
    for (const c of this.channels.values()) {
      c.follower?.abort.abort();
      for (const t of [c.removalTimer, c.flushTimer, c.follower?.goneTimer]) if (t !== undefined) this.clock.clearTimeout(t);
      c.removalTimer = c.flushTimer = undefined;
    }
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    for (const c of this.channels.values()) {
      // Save where reading stopped; finished logs' metadata is saved already (and its time is their age).
      if (c.meta && c.pod) await this.store.writeMeta(c.meta).catch(() => undefined);
      if (c.pod) await (await this.store.file(c.sessionId, c.executorId)).detachWriter();
    }
  }

  /** The ExecutorLogSource the session-logs route uses. */
  logSource(): ExecutorLogSource {
    return this;
  }

  async executors(sessionId: string): Promise<ExecutorLogEntry[]> {
    if (!isSafeId(sessionId)) return [];
    const byId = new Map<string, ExecutorLogEntry>();
    for (const a of await this.store.list(sessionId)) {
      const m = a.meta;
      const endedAt = m?.endedAt ?? new Date(a.modifiedMs).toISOString();
      byId.set(a.executorId, { id: a.executorId, pod: m?.pod ?? '', namespace: m?.namespace ?? '', live: false, endedAt });
    }
    for (const c of this.channels.values()) {
      if (c.sessionId !== sessionId || (!c.pod && !byId.has(c.executorId))) continue;
      const live = c.pod !== undefined && !terminal(c.pod);
      byId.set(c.executorId, {
        id: c.executorId,
        pod: c.pod?.metadata.name ?? c.meta?.pod ?? '',
        namespace: c.pod?.metadata.namespace ?? c.meta?.namespace ?? '',
        live,
        endedAt: live ? null : (c.meta?.endedAt ?? byId.get(c.executorId)?.endedAt ?? null),
      });
    }
    return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
  }

  async read(sessionId: string, executorId: string, options: ExecutorLogReadOptions): Promise<AsyncIterable<string> | undefined> {
    if (!isSafeId(sessionId) || !isSafeId(executorId)) return undefined;
    const channel = this.channels.get(`${sessionId}/${executorId}`);
    if (!channel?.pod && !(await this.store.has(sessionId, executorId))) return undefined;
    const file = await this.store.file(sessionId, executorId);
    return file.read(options);
  }

  // ---- pods ----

  private onPod(namespace: string, raw: LogPod): void {
    const pod = { ...raw, metadata: { ...raw.metadata, namespace: raw.metadata.namespace ?? namespace } };
    const sessionId = pod.metadata.labels[LABEL_SESSION] ?? '';
    const executorId = pod.metadata.labels[SPARK_LABEL_EXEC_ID] ?? '';
    if (!this.running || !isSafeId(sessionId) || !isSafeId(executorId)) return;
    const channel = this.channel(sessionId, executorId);
    if (channel.pod && channel.pod.metadata.uid !== pod.metadata.uid) channel.follower?.abort.abort(); // a new incarnation
    channel.pod = pod;
    if (channel.removalTimer !== undefined) this.clock.clearTimeout(channel.removalTimer);
    channel.removalTimer = undefined;
    const phase = pod.status?.phase ?? 'Pending';
    if (!terminal(pod)) this.track('open executor log', this.store.file(sessionId, executorId).then((f) => f.attachWriter()));
    const archived = channel.meta?.uid === pod.metadata.uid && channel.meta.complete;
    if ((phase === 'Running' || terminal(pod)) && !archived) this.requestFollow(channel);
  }

  private onGone(pod: LogPod): void {
    const key = `${pod.metadata.labels[LABEL_SESSION] ?? ''}/${pod.metadata.labels[SPARK_LABEL_EXEC_ID] ?? ''}`;
    const channel = this.channels.get(key);
    if (!channel || channel.pod?.metadata.uid !== pod.metadata.uid) return;
    channel.pod = undefined;
    const follower = channel.follower;
    if (follower) {
      // The container has stopped by now; a stream that does not end by itself is ended here.
      follower.goneTimer = this.clock.setTimeout(() => follower.abort.abort(), this.options.goneGraceMs ?? 10_000);
    } else {
      this.track('finish executor log', this.finish(channel));
    }
  }

  private podState(channel: Channel, uid: string): FollowedPodState {
    const pod = channel.pod;
    if (!pod || pod.metadata.uid !== uid) return 'gone';
    return terminal(pod) ? 'terminated' : 'running';
  }

  // ---- followers (bounded concurrency) ----

  private requestFollow(channel: Channel): void {
    if (channel.follower || channel.queued) return;
    if (this.active >= (this.options.maxConcurrentStreams ?? 64)) {
      channel.queued = true;
      this.queue.push(channel);
      return;
    }
    this.active += 1;
    const abort = new AbortController();
    const followedUid = channel.pod?.metadata.uid;
    channel.follower = { abort };
    this.track(
      `follow executor log ${channel.key}`,
      this.follow(channel, abort.signal).finally(() => {
        if (channel.follower?.goneTimer !== undefined) this.clock.clearTimeout(channel.follower.goneTimer);
        channel.follower = undefined;
        this.active -= 1;
        // A newer pod with this executor id took over meanwhile: read it too.
        if (this.running && channel.pod && channel.pod.metadata.uid !== followedUid) this.requestFollow(channel);
        this.pump();
      }),
    );
  }

  private pump(): void {
    while (this.running && this.queue.length > 0 && this.active < (this.options.maxConcurrentStreams ?? 64)) {
      const next = this.queue.shift()!;
      next.queued = false;
      if (next.pod) this.requestFollow(next);
      else this.track('finish executor log', this.finish(next));
    }
  }

  private async follow(channel: Channel, signal: AbortSignal): Promise<void> {
    const pod = channel.pod;
    if (!pod) return this.finish(channel);
    const { uid, name, namespace = '' } = pod.metadata;
    const file = await this.store.file(channel.sessionId, channel.executorId);
    const previous = channel.meta ?? (await this.store.readMeta(channel.sessionId, channel.executorId));
    if (previous?.uid === uid && previous.complete) return this.finish(channel);
    if (previous && previous.uid !== uid) {
      await file.append(`[sparkgate: executor ${channel.executorId} is now pod ${name} (previous pod ${previous.pod})]\n`);
    }
    const same = previous?.uid === uid ? previous : undefined;
    channel.meta = {
      ...{ sessionId: channel.sessionId, executorId: channel.executorId, namespace, pod: name, uid },
      ...{ container: pickContainer(pod), cursor: same?.cursor ?? null, endedAt: null, goneAt: null, complete: false },
    };
    await this.store.writeMeta(channel.meta);
    if (!terminal(pod)) file.attachWriter();
    const result = await followExecutorLog({
      podLog: this.podLog,
      target: { namespace, pod: name, container: channel.meta.container ?? undefined },
      file,
      cursor: channel.meta.cursor,
      state: () => this.podState(channel, uid),
      clock: this.clock,
      backoff: this.options.backoff,
      signal,
      onProgress: (cursor) => this.saveCursor(channel, uid, cursor),
      onFailure: ({ error }) => this.emit('failure', { what: `read log of executor pod ${namespace}/${name}`, error }),
    });
    if (channel.meta?.uid === uid) {
      channel.meta = { ...channel.meta, cursor: result.cursor, complete: result.complete };
      this.emit('archived', { sessionId: channel.sessionId, executorId: channel.executorId, pod: name, complete: result.complete });
    }
    if (channel.pod && channel.pod.metadata.uid !== uid) return; // a newer pod took over (see requestFollow)
    if (this.running) await this.finish(channel);
  }

  private saveCursor(channel: Channel, uid: string, cursor: LogCursorState | null): void {
    if (!channel.meta || channel.meta.uid !== uid) return;
    channel.meta = { ...channel.meta, cursor };
    if (channel.flushTimer !== undefined) return;
    channel.flushTimer = this.clock.setTimeout(() => {
      channel.flushTimer = undefined;
      if (channel.meta) this.track('save executor log position', this.store.writeMeta(channel.meta));
    }, this.options.cursorFlushMs ?? 1_000);
  }

  /** The log will not grow for now (pod ended or gone): readers end; once gone, retention starts. */
  private async finish(channel: Channel): Promise<void> {
    if (channel.flushTimer !== undefined) this.clock.clearTimeout(channel.flushTimer);
    channel.flushTimer = undefined;
    const file = await this.store.file(channel.sessionId, channel.executorId);
    if (channel.pod && !terminal(channel.pod)) return; // still running (a stop() cut the stream)
    await file.detachWriter();
    const now = new Date(this.clock.now()).toISOString();
    const gone = channel.pod === undefined;
    const meta = channel.meta ?? (await this.store.readMeta(channel.sessionId, channel.executorId));
    if (meta) {
      channel.meta = { ...meta, endedAt: meta.endedAt ?? now, goneAt: gone ? (meta.goneAt ?? now) : null };
      await this.store.writeMeta(channel.meta);
    }
    if (gone) this.scheduleRemoval(channel, Date.parse(channel.meta?.goneAt ?? now));
  }

  // ---- retention ----

  private scheduleRemoval(channel: Channel, goneAtMs: number): void {
    if (channel.removalTimer !== undefined) this.clock.clearTimeout(channel.removalTimer);
    const due = goneAtMs + this.options.retentionSeconds * 1000;
    const arm = () => {
      const wait = due - this.clock.now();
      if (wait > 0) {
        channel.removalTimer = this.clock.setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
        return;
      }
      channel.removalTimer = undefined;
      if (channel.pod || channel.follower || !this.running) return;
      this.channels.delete(channel.key);
      const { sessionId, executorId } = channel;
      this.track('remove executor log', this.store.remove(sessionId, executorId).then(() => this.emit('removed', { sessionId, executorId })));
    };
    arm();
  }

  /**
   * At start: archived logs whose pod is gone (once its namespace's informer has listed) get
   * their removal scheduled from goneAt, or removed at once when that is past. A gateway that
   * died before it saw the pod go left no goneAt: the log's last write is the best estimate.
   */
  private async sweep(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.stopping.signal.addEventListener('abort', () => resolve(), { once: true }));
    for (const archived of await this.store.list()) {
      if (!this.running) return;
      const { sessionId, executorId, meta } = archived;
      const informer = meta ? this.informers.get(meta.namespace) : undefined;
      if (informer && !informer.hasSynced) await Promise.race([informer.whenSynced(), stopped]);
      if (!this.running) return;
      const channel = this.channel(sessionId, executorId);
      if (channel.pod || channel.follower) continue;
      channel.meta ??= meta;
      const goneMs = meta?.goneAt ? Date.parse(meta.goneAt) : Number.NaN;
      this.scheduleRemoval(channel, Number.isNaN(goneMs) ? archived.modifiedMs : goneMs);
    }
  }

  // ---- helpers ----

  private channel(sessionId: string, executorId: string): Channel {
    const key = `${sessionId}/${executorId}`;
    let c = this.channels.get(key);
    if (!c) {
      c = { sessionId, executorId, key, pod: undefined, meta: undefined, follower: undefined, queued: false };
      this.channels.set(key, c);
    }
    return c;
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.emit('failure', { what, error });
    }
  }

  private track(what: string, work: Promise<unknown>): void {
    const p = work.catch((error: unknown) => {
      if (this.running) this.emit('failure', { what, error });
    });
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }
}

function terminal(pod: LogPod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

function pickContainer(pod: LogPod): string | null {
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  if (names.length <= 1) return names[0] ?? null;
  return names.includes(EXECUTOR_CONTAINER) ? EXECUTOR_CONTAINER : (names[0] ?? null);
}
