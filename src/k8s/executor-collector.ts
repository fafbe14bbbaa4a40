/**
 * GC layer 1 (ARCHITECTURE.md, "Garbage collection, three layers"): when a session ends, delete
 * everything labelled with its id AND this gateway pod, and the ConfigMaps, Services and PVCs
 * Spark labelled with the session's app id (`spark-app-selector=sparkgate-<session id>`: Spark
 * does not put our executor labels on them), then wait until the API confirms it is gone. Per
 * kind and selector, concurrently:
 *
 *   list (selector) -> nothing left? done
 *        -> deletecollection (selector) unless all are already terminating
 *        -> watch from the list's resourceVersion until every listed uid has a DELETED event
 *             - a new matching object appears (ADDED): relist, delete again
 *             - 410 Expired / stream closed: relist at once
 *             - watch failed (cut, 5xx): back off, relist
 *   every call retried on 429 (Retry-After) / 5xx / cut connections, all bounded by timeoutMs.
 *
 * Objects lacking either label are never selected; each listed object is also checked locally
 * against the same selector before it counts.
 *
 * A session's objects live in one namespace: its executor namespace (`CollectOptions.namespace`:
 * its team's, see spark-conf.ts), by default the gateway's.
 */
import { Backoff, type BackoffOptions } from './backoff.js';
import { sleep, systemClock, type Clock } from './clock.js';
import type { GcObserver } from './gc-observer.js';
import { describeKubeError, KubeDeadlineError } from './kube-errors.js';
import { KubeAbortedError, withRetry } from './kube-retry.js';
import type { KubeClient } from './kube-client.js';
import type { ActiveWatch } from './kube-watch.js';
import { kubeObjectRefSchema, type KubeObjectRef } from './kube-schemas.js';
import { sparkAppId } from '../spark/session-naming.js';
import { formatLabelSelector, matchesSelector, sessionSelector, sparkAppSelector, type LabelSelector } from './label-selector.js';
import { GC_RESOURCES, NamespacedResources, type GcResource } from './namespaced-resources.js';

export interface CollectStats {
  readonly podsDeleted: number;
  /** ConfigMaps, Services and PVCs. */
  readonly otherDeleted: number;
  readonly durationMs: number;
}

export interface CollectOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Where the session's executors ran (its team's namespace); default the gateway's. */
  readonly namespace?: string | undefined;
}

export interface RemainingObject {
  readonly resource: GcResource;
  readonly name: string;
}

export class CollectSessionError extends Error {
  constructor(
    readonly sessionId: string,
    readonly reason: 'timeout' | 'api' | 'aborted',
    readonly remaining: readonly RemainingObject[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CollectSessionError';
  }
}

export interface ExecutorCollectorOptions {
  readonly client: KubeClient;
  readonly clock?: Clock;
  /** Retry/backoff for API calls and broken watches (default 250 ms doubling to 5 s). */
  readonly backoff?: BackoffOptions;
  readonly observer?: GcObserver;
  /** Called before each retry (for logs). */
  readonly onRetry?: (info: { what: string; error: string; delayMs: number }) => void;
}

interface CollectJob {
  readonly resource: GcResource;
  readonly selector: LabelSelector;
}

/** Kinds Spark creates per application and labels with `spark-app-selector` only. */
const APP_LABELLED_RESOURCES: readonly GcResource[] = ['configmaps', 'services', 'persistentvolumeclaims'];

type WatchOutcome = 'gone' | 'new-object' | 'relist' | 'failed' | 'deadline' | 'aborted';

function parseRef(raw: unknown): KubeObjectRef | undefined {
  const parsed = kubeObjectRefSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

export class ExecutorCollector {
  private readonly resources: NamespacedResources;
  private readonly clock: Clock;
  private readonly backoff: BackoffOptions;

  constructor(private readonly options: ExecutorCollectorOptions) {
    this.resources = new NamespacedResources(options.client);
    this.clock = options.clock ?? systemClock;
    this.backoff = options.backoff ?? { initialMs: 250, maxMs: 5_000 };
  }

  async collectSession(sessionId: string, options: CollectOptions): Promise<CollectStats> {
    const started = this.clock.now();
    const resources =
      options.namespace === undefined || options.namespace === this.resources.namespace
        ? this.resources
        : new NamespacedResources({ ...this.options.client, namespace: options.namespace });
    const deadline = started + options.timeoutMs;
    // Everything labelled with the session (and this gateway), plus what Spark labels only with
    // the session's app id: the executor ConfigMap, on-demand PVCs and Services.
    const bySession = sessionSelector({ gatewayPod: this.options.client.gatewayPod.name, sessionId });
    formatLabelSelector(bySession); // a session id that is no label value fails here, before any call
    const byApp = sparkAppSelector(sparkAppId(sessionId));
    const jobs: CollectJob[] = [
      ...GC_RESOURCES.map((resource) => ({ resource, selector: bySession })),
      ...APP_LABELLED_RESOURCES.map((resource) => ({ resource, selector: byApp })),
    ];
    const abort = new AbortController();
    const onOuterAbort = () => abort.abort();
    options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const remaining = jobs.map(() => new Map<string, string>());
    // Distinct objects deleted per kind (both selectors may match the same object).
    const seen = new Map<GcResource, Set<string>>(GC_RESOURCES.map((r) => [r, new Set()]));

    const run = async (job: CollectJob, i: number) => {
      try {
        return await this.collectKind(resources, job, deadline, abort.signal, remaining[i]!, seen.get(job.resource)!);
      } catch (err) {
        abort.abort(); // one kind failed: the others stop too
        throw err;
      }
    };

    try {
      await Promise.all(jobs.map(run));
      const pods = seen.get('pods')!.size;
      const others = [...seen].filter(([r]) => r !== 'pods').map(([, uids]) => uids.size);
      const durationMs = this.clock.now() - started;
      this.options.observer?.onGcDuration?.(durationMs);
      return { podsDeleted: pods, otherDeleted: others.reduce((a, b) => a + b, 0), durationMs };
    } catch (err) {
      const left = remaining.flatMap((m, i) => [...m.values()].map((name) => ({ resource: jobs[i]!.resource, name })));
      const list = left.length === 0 ? '' : `; still present: ${left.map((o) => `${o.resource}/${o.name}`).join(', ')}`;
      if (err instanceof CollectSessionError) throw err;
      if (err instanceof KubeDeadlineError) {
        throw new CollectSessionError(sessionId, 'timeout', left, `session ${sessionId}: Kubernetes cleanup not confirmed within ${options.timeoutMs} ms (${err.message})${list}`, { cause: err });
      }
      if (err instanceof KubeAbortedError || options.signal?.aborted) {
        throw new CollectSessionError(sessionId, 'aborted', left, `session ${sessionId}: Kubernetes cleanup aborted${list}`, { cause: err });
      }
      throw new CollectSessionError(
        sessionId,
        'api',
        left,
        `session ${sessionId}: Kubernetes cleanup failed in namespace ${resources.namespace}: ${describeKubeError(err)}${list}`,
        { cause: err },
      );
    } finally {
      options.signal?.removeEventListener('abort', onOuterAbort);
      abort.abort();
    }
  }

  /** One kind and selector: adds the uid of every object it deletes to `seen`. */
  private async collectKind(
    resources: NamespacedResources,
    { resource, selector }: CollectJob,
    deadline: number,
    signal: AbortSignal,
    remaining: Map<string, string>,
    seen: Set<string>,
  ): Promise<void> {
    const selectorText = formatLabelSelector(selector);
    const backoff = new Backoff(this.backoff);
    const retry = <T>(what: string, op: () => Promise<T>) =>
      withRetry(op, {
        clock: this.clock,
        backoff: this.backoff,
        deadline,
        signal,
        what: `${what} ${resource} (${selectorText}) in namespace ${resources.namespace}`,
        onRetry: ({ error, delayMs }) =>
          this.options.onRetry?.({ what: `${what} ${resource}`, error: describeKubeError(error), delayMs }),
      });

    for (;;) {
      const listed = await retry('list', () => resources.list(resource, selectorText));
      const objects = listed.items
        .map(parseRef)
        .filter((o): o is KubeObjectRef => o !== undefined && matchesSelector(selector, o.metadata.labels));
      remaining.clear();
      for (const o of objects) {
        seen.add(o.metadata.uid);
        remaining.set(o.metadata.uid, o.metadata.name);
      }
      if (objects.length === 0) return;
      if (objects.some((o) => o.metadata.deletionTimestamp === undefined)) {
        await retry('delete', () => resources.deleteCollection(resource, selectorText));
      }
      const outcome = await this.watchUntilGone(resources, resource, selector, selectorText, listed.resourceVersion, remaining, seen, deadline, signal);
      switch (outcome) {
        case 'gone':
          return;
        case 'new-object':
        case 'relist':
          break;
        case 'failed': {
          const delayMs = backoff.next();
          if (this.clock.now() + delayMs > deadline) throw new KubeDeadlineError(`watch ${resource} kept failing`);
          if (!(await sleep(this.clock, delayMs, signal))) throw new KubeAbortedError(`watch ${resource}`);
          break;
        }
        case 'deadline':
          throw new KubeDeadlineError(`waiting for ${resource} to disappear`);
        case 'aborted':
          throw new KubeAbortedError(`watch ${resource}`);
        default: {
          const never: never = outcome;
          throw new Error(`unexpected outcome ${String(never)}`);
        }
      }
    }
  }

  private watchUntilGone(
    resources: NamespacedResources,
    resource: GcResource,
    selector: LabelSelector,
    selectorText: string,
    resourceVersion: string,
    pending: Map<string, string>,
    seen: Set<string>,
    deadline: number,
    signal: AbortSignal,
  ): Promise<WatchOutcome> {
    const budgetMs = deadline - this.clock.now();
    if (budgetMs <= 0) return Promise.resolve('deadline');
    if (signal.aborted) return Promise.resolve('aborted');
    return new Promise<WatchOutcome>((resolve) => {
      let decided: WatchOutcome | undefined;
      let watch: ActiveWatch | undefined;
      const decide = (outcome: WatchOutcome) => {
        decided ??= outcome;
        watch?.abort();
      };
      watch = resources.watch(
        resource,
        { resourceVersion, labelSelector: selectorText, timeoutSeconds: Math.ceil(budgetMs / 1000) },
        (type, raw) => {
          const o = parseRef(raw);
          if (!o || !matchesSelector(selector, o.metadata.labels)) return;
          if (type === 'DELETED') {
            pending.delete(o.metadata.uid);
            if (pending.size === 0) decide('gone');
          } else if (type === 'ADDED' && !pending.has(o.metadata.uid)) {
            // Created after our list (e.g. Spark still scaling up): relist and delete it too.
            seen.add(o.metadata.uid);
            decide('new-object');
          }
        },
      );
      if (decided) watch.abort();
      const timer = this.clock.setTimeout(() => decide('deadline'), budgetMs);
      const onAbort = () => decide('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
      void watch.ended.then((end) => {
        this.clock.clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (decided) return resolve(decided);
        switch (end.kind) {
          case 'expired':
          case 'closed':
            return resolve('relist');
          case 'failed':
            return resolve('failed');
          case 'aborted':
            return resolve('aborted');
          default: {
            const never: never = end;
            return resolve(never);
          }
        }
      });
    });
  }
}
