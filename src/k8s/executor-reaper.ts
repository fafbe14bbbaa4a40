/**
 * GC layer 2 (ARCHITECTURE.md): an informer on this gateway's executor pods
 * (`app.kubernetes.io/managed-by=sparkgate,sparkgate.io/gateway=<pod>,sparkgate.io/session`)
 * deletes, once a pod has been seen for longer than the grace period,
 * - pods whose session is not live (the session ended without cleanup, or the gateway
 *   restarted after SIGKILL: a fresh reaper lists them at start), and
 * - executors Spark marked `spark-exec-inactive=true`, even of live sessions.
 * Liveness changes without Kubernetes events, so pods are re-evaluated on a resync timer and on
 * `reconcile()`. At start it also sweeps ConfigMaps/Services/PVCs of sessions that are not live:
 * those labelled with a session and this gateway, and those Spark labelled only with a sparkgate
 * app id and owned by this gateway pod (the executor ConfigMap).
 * Deletes carry a uid precondition: a recreated namesake is never hit.
 */
import { EventEmitter } from 'node:events';
import { LABEL_SESSION, SPARK_LABEL_APP_ID, SPARK_LABEL_EXEC_INACTIVE } from '../labels.js';
import { sessionIdOfAppId } from '../spark/session-naming.js';
import type { BackoffOptions } from './backoff.js';
import { sleep, systemClock, type Clock, type TimerHandle } from './clock.js';
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
import { kubeObjectRefSchema, type KubeObjectRef } from './kube-schemas.js';
import {
  formatLabelSelector,
  gatewayObjectsSelector,
  gatewayPodsSelector,
  matchesSelector,
  sparkAppObjectsSelector,
  type LabelSelector,
} from './label-selector.js';
import { NamespacedResources, type GcResource } from './namespaced-resources.js';
import { ResourceInformer } from './resource-informer.js';

export type ReapReason = 'session-dead' | 'executor-inactive';

export interface ReaperEvents {
  reaped: [info: { name: string; sessionId: string; reason: ReapReason }];
  swept: [info: { resource: GcResource; name: string; sessionId: string }];
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

const SWEPT_RESOURCES: readonly GcResource[] = ['configmaps', 'services', 'persistentvolumeclaims'];

export class ExecutorReaper extends EventEmitter<ReaperEvents> implements ExecutorPodCache {
  readonly counters: ReaperCounters = { orphansReaped: 0, inactiveReaped: 0, objectsSwept: 0, relists: 0 };
  private readonly resources: NamespacedResources;
  private readonly clock: Clock;
  private readonly graceMs: number;
  private readonly gatewayPod: string;
  private readonly podSelector: LabelSelector;
  private readonly informer: ResourceInformer<ExecutorPod>;
  private readonly firstSeen = new Map<string, number>();
  private readonly graceTimers = new Map<string, TimerHandle>();
  private readonly deleting = new Set<string>();
  private readonly inflight = new Set<Promise<unknown>>();
  private resyncTimer: TimerHandle | undefined;
  private abort: AbortController | undefined;
  private lastAlive: number | undefined;

  constructor(private readonly options: ExecutorReaperOptions) {
    super();
    this.resources = new NamespacedResources(options.client);
    this.clock = options.clock ?? systemClock;
    this.graceMs = options.graceMs ?? 30_000;
    this.gatewayPod = options.client.gatewayPod.name;
    this.podSelector = gatewayPodsSelector(this.gatewayPod);
    const selectorText = formatLabelSelector(this.podSelector);
    this.informer = new ResourceInformer<ExecutorPod>({
      source: {
        list: () => this.resources.list('pods', selectorText),
        watch: (request, onEvent) => this.resources.watch('pods', { ...request, labelSelector: selectorText }, onEvent),
      },
      parse: parseExecutorPod,
      key: (pod) => pod.metadata.name,
      version: (pod) => pod.metadata.resourceVersion,
      clock: this.clock,
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: options.watchTimeoutSeconds } : {}),
    });
    const changed = (pod: ExecutorPod) => this.emit('changed', { sessionId: pod.metadata.labels[LABEL_SESSION] ?? '' });
    this.informer.on('add', (pod) => (this.observe(pod), changed(pod)));
    this.informer.on('update', (pod) => (this.observe(pod), changed(pod)));
    this.informer.on('delete', (pod) => (this.forget(pod), changed(pod)));
    this.informer.on('synced', () => {
      this.reportAlive();
      this.reconcile();
      this.emit('synced', { pods: this.informer.items().length });
    });
    this.informer.on('relist', () => {
      this.counters.relists += 1;
      this.emit('relist');
    });
    this.informer.on('failure', ({ phase, error }) => this.emit('failure', { what: `${phase} executor pods`, error }));
  }

  get hasSynced(): boolean {
    return this.informer.hasSynced;
  }

  whenSynced(): Promise<void> {
    return this.informer.whenSynced();
  }

  start(): void {
    if (this.abort) return;
    this.abort = new AbortController();
    this.informer.start();
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
    await this.informer.stop();
    await Promise.allSettled([...this.inflight]);
  }

  /** Snapshot of one session's executor pods from the informer cache. */
  podsForSession(sessionId: string): ExecutorInfo[] {
    const now = this.clock.now();
    return this.informer
      .items()
      .filter((pod) => pod.metadata.labels[LABEL_SESSION] === sessionId)
      .map((pod) => toExecutorInfo(pod, now))
      .sort(byExecutorName);
  }

  /** Re-evaluate every cached pod now (e.g. right after a session ended). */
  reconcile(): void {
    if (!this.abort) return;
    for (const pod of this.informer.items()) this.evaluate(pod);
  }

  /**
   * Delete ConfigMaps/Services/PVCs (gateway + session labels) of sessions that are not live,
   * after the grace period, re-checking liveness first. Returns how many were deleted.
   */
  async sweep(): Promise<number> {
    const signal = this.abort?.signal;
    if (!signal) return 0;
    const bySession = gatewayObjectsSelector(this.gatewayPod);
    const byApp = sparkAppObjectsSelector();
    const candidates: { resource: GcResource; ref: KubeObjectRef; sessionId: string }[] = [];
    try {
      for (const resource of SWEPT_RESOURCES) {
        for (const selector of [bySession, byApp]) {
          const selectorText = formatLabelSelector(selector);
          const { items } = await this.retry(`list ${resource}`, () => this.resources.list(resource, selectorText), signal);
          for (const raw of items) {
            const ref = kubeObjectRefSchema.safeParse(raw).data;
            if (!ref || !matchesSelector(selector, ref.metadata.labels)) continue;
            const sessionId = selector === bySession ? ref.metadata.labels[LABEL_SESSION] : this.sessionOfSparkObject(ref);
            if (!sessionId || candidates.some((c) => c.ref.metadata.uid === ref.metadata.uid)) continue;
            if (ref.metadata.deletionTimestamp === undefined && !this.options.isLive(sessionId)) {
              candidates.push({ resource, ref, sessionId });
            }
          }
        }
      }
      if (candidates.length === 0) return 0;
      if (!(await sleep(this.clock, this.graceMs, signal))) return 0;
      let deleted = 0;
      for (const { resource, ref, sessionId } of candidates) {
        if (this.options.isLive(sessionId)) continue;
        const outcome = await this.retry(
          `delete ${resource}/${ref.metadata.name}`,
          () => this.resources.deleteOne(resource, ref.metadata.name, ref.metadata.uid),
          signal,
        );
        if (outcome !== 'deleted') continue;
        deleted += 1;
        this.counters.objectsSwept += 1;
        this.emit('swept', { resource, name: ref.metadata.name, sessionId });
      }
      return deleted;
    } catch (error) {
      if (!signal.aborted) this.emit('failure', { what: 'sweep session objects', error });
      return 0;
    }
  }

  /**
   * The session of an object Spark labelled only with its app id (the executor ConfigMap, PVCs):
   * a sparkgate app id (`sparkgate-<session id>`) AND owned by this gateway pod (Spark sets the
   * driver pod as controller owner), so another gateway's or another tool's objects are never hit.
   */
  private sessionOfSparkObject(ref: KubeObjectRef): string | undefined {
    const sessionId = sessionIdOfAppId(ref.metadata.labels[SPARK_LABEL_APP_ID] ?? '');
    if (!sessionId) return undefined;
    const podUid = this.options.client.gatewayPod.uid;
    const owned = ref.metadata.ownerReferences.some(
      (o) => o.kind === 'Pod' && o.name === this.gatewayPod && (podUid === undefined || o.uid === undefined || o.uid === podUid),
    );
    return owned ? sessionId : undefined;
  }

  private observe(pod: ExecutorPod): void {
    if (!this.firstSeen.has(pod.metadata.uid)) this.firstSeen.set(pod.metadata.uid, this.clock.now());
    this.reportAlive();
    this.evaluate(pod);
  }

  private forget(pod: ExecutorPod): void {
    const uid = pod.metadata.uid;
    this.firstSeen.delete(uid);
    this.deleting.delete(uid);
    this.clearGraceTimer(uid);
    this.reportAlive();
  }

  private evaluate(pod: ExecutorPod): void {
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
      this.track(this.reap(pod, sessionId, live ? 'executor-inactive' : 'session-dead'));
    } else if (!this.graceTimers.has(uid)) {
      const timer = this.clock.setTimeout(() => {
        this.graceTimers.delete(uid);
        const current = this.informer.get(name);
        if (current?.metadata.uid === uid) this.evaluate(current);
      }, due - now);
      this.graceTimers.set(uid, timer);
    }
  }

  private async reap(pod: ExecutorPod, sessionId: string, reason: ReapReason): Promise<void> {
    const signal = this.abort?.signal;
    if (!signal) return;
    const { uid, name } = pod.metadata;
    this.deleting.add(uid);
    try {
      const outcome = await this.retry(`delete pod ${name}`, () => this.resources.deleteOne('pods', name, uid), signal);
      if (outcome !== 'deleted') return;
      if (reason === 'session-dead') this.counters.orphansReaped += 1;
      else this.counters.inactiveReaped += 1;
      this.options.observer?.onOrphanReaped?.();
      this.emit('reaped', { name, sessionId, reason });
    } catch (error) {
      // Not deleted: forget the attempt so the next resync tries again.
      this.deleting.delete(uid);
      if (!signal.aborted) this.emit('failure', { what: `delete executor pod ${name}`, error });
    }
  }

  private retry<T>(what: string, op: () => Promise<T>, signal: AbortSignal): Promise<T> {
    return withRetry(op, {
      clock: this.clock,
      deadline: this.clock.now() + (this.options.deleteTimeoutMs ?? 60_000),
      signal,
      what: `${what} in namespace ${this.resources.namespace}`,
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
    const alive = this.informer.items().filter((p) => p.metadata.deletionTimestamp === undefined).length;
    if (alive === this.lastAlive) return;
    this.lastAlive = alive;
    this.options.observer?.executorsAlive?.(alive);
  }

  private track(work: Promise<unknown>): void {
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }
}
