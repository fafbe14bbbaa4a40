/**
 * GC layer 2 (ARCHITECTURE.md): an informer on this gateway's executor pods
 * (`app.kubernetes.io/managed-by=sparkgate,sparkgate.io/gateway=<pod>,sparkgate.io/session`) in
 * every namespace executors may run in (the gateway's and the team namespaces, one informer
 * each) deletes, once a pod has been seen for longer than the grace period,
 * - pods whose session is not live (the session ended without cleanup, or the gateway
 *   restarted after SIGKILL: a fresh reaper lists them at start), and
 * - executors Spark marked `spark-exec-inactive=true`, even of live sessions.
 * Liveness changes without Kubernetes events, so pods are re-evaluated on a resync timer and on
 * `reconcile()`. At start it also sweeps ConfigMaps/Services/PVCs of sessions that are not live,
 * and after reaping a dead session's pod in a team namespace, that session's objects there
 * (session-object-sweeper.ts says which objects count as this gateway's where).
 * Deletes carry a uid precondition: a recreated namesake is never hit.
 */
import { EventEmitter } from 'node:events';
import { LABEL_SESSION, SPARK_LABEL_EXEC_INACTIVE } from '../labels.js';
import type { BackoffOptions } from './backoff.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import {
  byExecutorName,
  parseExecutorPod,
  toExecutorInfo,
  type ExecutorInfo,
  type ExecutorPod,
  type ExecutorPodCache,
} from './executor-lister.js';
import type { GcObserver } from './gc-observer.js';
import { withRetry } from './kube-retry.js';
import type { KubeClient } from './kube-client.js';
import { formatLabelSelector, gatewayPodsSelector, matchesSelector, type LabelSelector } from './label-selector.js';
import { NamespacedResources, type GcResource } from './namespaced-resources.js';
import { ResourceInformer } from './resource-informer.js';
import { SessionObjectSweeper } from './session-object-sweeper.js';

export type ReapReason = 'session-dead' | 'executor-inactive';

export interface ReaperEvents {
  reaped: [info: { name: string; sessionId: string; reason: ReapReason; namespace: string }];
  swept: [info: { resource: GcResource; name: string; sessionId: string; namespace: string }];
  /** Every namespace's informer has listed (again, after a relist). */
  synced: [info: { pods: number }];
  /** A pod of this session was added, changed or removed in the cache. */
  changed: [info: { sessionId: string }];
  relist: [];
  /** Something failed and will be retried (not 'error', which throws without a listener). */
  failure: [info: { what: string; error: unknown }];
}

export interface ReaperCounters {
  /** Pods of sessions that were not live. */
  orphansReaped: number;
  /** `spark-exec-inactive` executors of live sessions. */
  inactiveReaped: number;
  /** ConfigMaps/Services/PVCs removed by sweeps. */
  objectsSwept: number;
  relists: number;
}

export interface ExecutorReaperOptions {
  readonly client: KubeClient;
  /** Namespaces executors run in (default: the gateway's, `client.namespace`). */
  readonly namespaces?: readonly string[];
  /** Whether a session id belongs to a session running in this gateway now. */
  readonly isLive: (sessionId: string) => boolean;
  /** How long a pod must have been seen before it may be reaped (default 30 s). */
  readonly graceMs?: number;
  /** Re-evaluate every pod this often, since liveness changes without events (default 10 s). */
  readonly resyncIntervalMs?: number;
  /** Sweep ConfigMaps/Services/PVCs of dead sessions at start (default true). */
  readonly sweepOnStart?: boolean;
  readonly clock?: Clock;
  readonly backoff?: BackoffOptions;
  readonly observer?: GcObserver;
  /** Server-side watch timeout (default 300 s). */
  readonly watchTimeoutSeconds?: number;
  /** Give up one delete after this long; the next resync tries again (default 60 s). */
  readonly deleteTimeoutMs?: number;
}

/** One namespace's executor pods. */
interface Watched {
  readonly resources: NamespacedResources;
  readonly informer: ResourceInformer<ExecutorPod>;
}

export class ExecutorReaper extends EventEmitter<ReaperEvents> implements ExecutorPodCache {
  readonly counters: ReaperCounters = { orphansReaped: 0, inactiveReaped: 0, objectsSwept: 0, relists: 0 };
  /** Every namespace watched, the gateway's first. */
  readonly namespaces: readonly string[];
  private readonly clock: Clock;
  private readonly graceMs: number;
  private readonly gatewayPod: string;
  private readonly podSelector: LabelSelector;
  private readonly watched = new Map<string, Watched>();
  private readonly sweeper: SessionObjectSweeper;
  /** Team-namespace sweeps running, by "namespace/session". */
  private readonly sessionSweeps = new Set<string>();
  private readonly firstSeen = new Map<string, number>();
  private readonly graceTimers = new Map<string, TimerHandle>();
  private readonly deleting = new Set<string>();
  private readonly inflight = new Set<Promise<unknown>>();
  private resyncTimer: TimerHandle | undefined;
  private abort: AbortController | undefined;
  private lastAlive: number | undefined;

  constructor(private readonly options: ExecutorReaperOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.graceMs = options.graceMs ?? 30_000;
    this.gatewayPod = options.client.gatewayPod.name;
    this.podSelector = gatewayPodsSelector(this.gatewayPod);
    this.namespaces = [...new Set([options.client.namespace, ...(options.namespaces ?? [])])];
    for (const namespace of this.namespaces) this.watched.set(namespace, this.watch(namespace));
    this.sweeper = new SessionObjectSweeper({
      client: options.client,
      isLive: options.isLive,
      graceMs: this.graceMs,
      clock: this.clock,
      retry: (what, op, signal) => this.retry(what, op, signal),
      onSwept: (object) => {
        this.counters.objectsSwept += 1;
        this.emit('swept', object);
      },
      onFailure: (what, error) => this.emit('failure', { what, error }),
    });
  }

  private watch(namespace: string): Watched {
    const resources = new NamespacedResources({ ...this.options.client, namespace });
    const selectorText = formatLabelSelector(this.podSelector);
    const informer = new ResourceInformer<ExecutorPod>({
      source: {
        list: () => resources.list('pods', selectorText),
        watch: (request, onEvent) => resources.watch('pods', { ...request, labelSelector: selectorText }, onEvent),
      },
      parse: parseExecutorPod,
      key: (pod) => pod.metadata.name,
      version: (pod) => pod.metadata.resourceVersion,
      clock: this.clock,
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
      ...(this.options.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: this.options.watchTimeoutSeconds } : {}),
    });
    const changed = (pod: ExecutorPod) => this.emit('changed', { sessionId: pod.metadata.labels[LABEL_SESSION] ?? '' });
    informer.on('add', (pod) => (this.observe(namespace, pod), changed(pod)));
    informer.on('update', (pod) => (this.observe(namespace, pod), changed(pod)));
    informer.on('delete', (pod) => (this.forget(pod), changed(pod)));
    informer.on('synced', () => {
      this.reportAlive();
      for (const pod of informer.items()) this.evaluate(namespace, pod);
      if (this.hasSynced) this.emit('synced', { pods: this.pods().length });
    });
    informer.on('relist', () => {
      this.counters.relists += 1;
      this.emit('relist');
    });
    const where = namespace === this.options.client.namespace ? '' : ` in namespace ${namespace}`;
    informer.on('failure', ({ phase, error }) => this.emit('failure', { what: `${phase} executor pods${where}`, error }));
    return { resources, informer };
  }

  private pods(): ExecutorPod[] {
    return [...this.watched.values()].flatMap((w) => w.informer.items());
  }

  get hasSynced(): boolean {
    return [...this.watched.values()].every((w) => w.informer.hasSynced);
  }

  async whenSynced(): Promise<void> {
    await Promise.all([...this.watched.values()].map((w) => w.informer.whenSynced()));
  }

  start(): void {
    if (this.abort) return;
    this.abort = new AbortController();
    for (const { informer } of this.watched.values()) informer.start();
    this.scheduleResync();
    if (this.options.sweepOnStart ?? true) this.track(this.sweep());
  }

  async stop(): Promise<void> {
    const abort = this.abort;
    if (!abort) return;
    this.abort = undefined;
    abort.abort();
    if (this.resyncTimer !== undefined) this.clock.clearTimeout(this.resyncTimer);
    this.resyncTimer = undefined;
    for (const t of this.graceTimers.values()) this.clock.clearTimeout(t);
    this.graceTimers.clear();
    await Promise.all([...this.watched.values()].map((w) => w.informer.stop()));
    await Promise.allSettled([...this.inflight]);
  }

  /** Snapshot of one session's executor pods from the informer caches (all namespaces). */
  podsForSession(sessionId: string): ExecutorInfo[] {
    const now = this.clock.now();
    return this.pods()
      .filter((pod) => pod.metadata.labels[LABEL_SESSION] === sessionId)
      .map((pod) => toExecutorInfo(pod, now))
      .sort(byExecutorName);
  }

  /** Re-evaluate every cached pod now (e.g. right after a session ended). */
  reconcile(): void {
    if (!this.abort) return;
    for (const [namespace, { informer }] of this.watched) for (const pod of informer.items()) this.evaluate(namespace, pod);
  }

  /**
   * Delete ConfigMaps/Services/PVCs of sessions that are not live in every watched namespace,
   * after the grace period, re-checking liveness first. Returns how many were deleted.
   */
  async sweep(): Promise<number> {
    const signal = this.abort?.signal;
    if (!signal) return 0;
    return this.sweeper.sweepNamespaces(this.namespaces, signal);
  }

  private observe(namespace: string, pod: ExecutorPod): void {
    if (!this.firstSeen.has(pod.metadata.uid)) this.firstSeen.set(pod.metadata.uid, this.clock.now());
    this.reportAlive();
    this.evaluate(namespace, pod);
  }

  private forget(pod: ExecutorPod): void {
    const uid = pod.metadata.uid;
    this.firstSeen.delete(uid);
    this.deleting.delete(uid);
    this.clearGraceTimer(uid);
    this.reportAlive();
  }

  private evaluate(namespace: string, pod: ExecutorPod): void {
    if (!this.abort) return;
    const { uid, name, labels } = pod.metadata;
    if (pod.metadata.deletionTimestamp !== undefined || this.deleting.has(uid)) return this.clearGraceTimer(uid);
    const sessionId = labels[LABEL_SESSION];
    if (!sessionId || name === this.gatewayPod || !matchesSelector(this.podSelector, labels)) return;
    const live = this.options.isLive(sessionId);
    const inactive = labels[SPARK_LABEL_EXEC_INACTIVE] === 'true';
    if (live && !inactive) return this.clearGraceTimer(uid);

    const now = this.clock.now();
    const due = (this.firstSeen.get(uid) ?? now) + this.graceMs;
    if (now >= due) {
      this.clearGraceTimer(uid);
      this.track(this.reap(namespace, pod, sessionId, live ? 'executor-inactive' : 'session-dead'));
    } else if (!this.graceTimers.has(uid)) {
      const timer = this.clock.setTimeout(() => {
        this.graceTimers.delete(uid);
        const current = this.watched.get(namespace)?.informer.get(name);
        if (current?.metadata.uid === uid) this.evaluate(namespace, current);
      }, due - now);
      this.graceTimers.set(uid, timer);
    }
  }

  private async reap(namespace: string, pod: ExecutorPod, sessionId: string, reason: ReapReason): Promise<void> {
    const signal = this.abort?.signal;
    const resources = this.watched.get(namespace)?.resources;
    if (!signal || !resources) return;
    const { uid, name } = pod.metadata;
    this.deleting.add(uid);
    try {
      const outcome = await this.retry(`delete pod ${name} in namespace ${namespace}`, () => resources.deleteOne('pods', name, uid), signal);
      if (outcome !== 'deleted') return;
      if (reason === 'session-dead') this.counters.orphansReaped += 1;
      else this.counters.inactiveReaped += 1;
      this.options.observer?.onOrphanReaped?.();
      this.emit('reaped', { name, sessionId, reason, namespace });
      if (reason === 'session-dead' && namespace !== this.options.client.namespace) this.sweepSession(namespace, sessionId, signal);
    } catch (error) {
      // Not deleted: forget the attempt so the next resync tries again.
      this.deleting.delete(uid);
      if (!signal.aborted) this.emit('failure', { what: `delete executor pod ${name}`, error });
    }
  }

  /** A dead session's objects in a team namespace, once per session at a time. */
  private sweepSession(namespace: string, sessionId: string, signal: AbortSignal): void {
    const key = `${namespace}/${sessionId}`;
    if (this.sessionSweeps.has(key)) return;
    this.sessionSweeps.add(key);
    this.track(this.sweeper.sweepSession(namespace, sessionId, signal).finally(() => this.sessionSweeps.delete(key)));
  }

  private retry<T>(what: string, op: () => Promise<T>, signal: AbortSignal): Promise<T> {
    return withRetry(op, {
      clock: this.clock,
      deadline: this.clock.now() + (this.options.deleteTimeoutMs ?? 60_000),
      signal,
      what,
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
    });
  }

  private scheduleResync(): void {
    const interval = this.options.resyncIntervalMs ?? 10_000;
    this.resyncTimer = this.clock.setTimeout(() => {
      if (!this.abort) return;
      this.reconcile();
      this.scheduleResync();
    }, interval);
  }

  private clearGraceTimer(uid: string): void {
    const timer = this.graceTimers.get(uid);
    if (timer !== undefined) this.clock.clearTimeout(timer);
    this.graceTimers.delete(uid);
  }

  private reportAlive(): void {
    const alive = this.pods().filter((p) => p.metadata.deletionTimestamp === undefined).length;
    if (alive === this.lastAlive) return;
    this.lastAlive = alive;
    this.options.observer?.executorsAlive?.(alive);
  }

  private track(work: Promise<unknown>): void {
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }
}
