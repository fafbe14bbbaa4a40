/**
 * A session's executors as clients see them: name, phase, node, start time and age. Read from
 * the reaper's informer cache when it has synced (no API call), else with one list call in the
 * session's executor namespace (its team's, or the gateway's).
 */
import { z } from 'zod';
import { LABEL_SESSION, SPARK_LABEL_EXEC_ID, SPARK_LABEL_EXEC_INACTIVE } from '../labels.js';
import { systemClock, type Clock } from './clock.js';
import { withRetry } from './kube-retry.js';
import type { BackoffOptions } from './backoff.js';
import type { KubeClient } from './kube-client.js';
import { objectMetaSchema, timestampSchema } from './kube-schemas.js';
import { formatLabelSelector, sessionSelector } from './label-selector.js';
import { NamespacedResources } from './namespaced-resources.js';

/** An executor pod as read back from the API (list item or watch event). */
export const executorPodSchema = z.object({
  metadata: objectMetaSchema,
  spec: z
    .object({ nodeName: z.string().nullish() })
    .nullish()
    .transform((v) => ({ nodeName: v?.nodeName ?? undefined })),
  status: z
    .object({ phase: z.string().nullish(), startTime: timestampSchema.nullish() })
    .nullish()
    .transform((v) => ({ phase: v?.phase ?? 'Unknown', startTime: v?.startTime ?? undefined })),
});
export type ExecutorPod = z.infer<typeof executorPodSchema>;

/** What the gateway reports per executor. */
export const executorInfoSchema = z.object({
  name: z.string(),
  sessionId: z.string(),
  executorId: z.string().nullable(),
  phase: z.string(),
  node: z.string().nullable(),
  startTime: z.string().nullable(),
  ageMs: z.number().int().nonnegative().nullable(),
  inactive: z.boolean(),
  terminating: z.boolean(),
});
export type ExecutorInfo = z.infer<typeof executorInfoSchema>;

export function parseExecutorPod(raw: unknown): ExecutorPod | undefined {
  const parsed = executorPodSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

export function toExecutorInfo(pod: ExecutorPod, nowMs: number): ExecutorInfo {
  const started = pod.status.startTime ?? pod.metadata.creationTimestamp;
  const startMs = started === undefined ? Number.NaN : Date.parse(started);
  return {
    name: pod.metadata.name,
    sessionId: pod.metadata.labels[LABEL_SESSION] ?? '',
    executorId: pod.metadata.labels[SPARK_LABEL_EXEC_ID] ?? null,
    phase: pod.status.phase,
    node: pod.spec.nodeName ?? null,
    startTime: pod.status.startTime ?? null,
    ageMs: Number.isNaN(startMs) ? null : Math.max(0, Math.round(nowMs - startMs)),
    inactive: pod.metadata.labels[SPARK_LABEL_EXEC_INACTIVE] === 'true',
    terminating: pod.metadata.deletionTimestamp !== undefined,
  };
}

export function byExecutorName(a: ExecutorInfo, b: ExecutorInfo): number {
  return a.name.localeCompare(b.name, 'en', { numeric: true });
}

/** A synced cache of this gateway's executor pods (the ExecutorReaper is one). */
export interface ExecutorPodCache {
  readonly hasSynced: boolean;
  podsForSession(sessionId: string): ExecutorInfo[];
}

export interface ExecutorListerOptions {
  readonly client: KubeClient;
  readonly cache?: ExecutorPodCache;
  /**
   * The namespaces a session's executors may be in (its team's); default the gateway's. Asked
   * only when the cache has not synced.
   */
  readonly namespacesOf?: (sessionId: string) => readonly string[];
  readonly clock?: Clock;
  readonly backoff?: BackoffOptions;
  /** Give up retrying after this long (default 10 s). */
  readonly timeoutMs?: number;
}

export class ExecutorLister {
  private readonly clock: Clock;

  constructor(private readonly options: ExecutorListerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  async list(sessionId: string): Promise<ExecutorInfo[]> {
    const cache = this.options.cache;
    if (cache?.hasSynced) return cache.podsForSession(sessionId);
    const selector = formatLabelSelector(sessionSelector({ gatewayPod: this.options.client.gatewayPod.name, sessionId }));
    const namespaces = this.options.namespacesOf?.(sessionId) ?? [this.options.client.namespace];
    const deadline = this.clock.now() + (this.options.timeoutMs ?? 10_000);
    const lists = await Promise.all(
      namespaces.map((namespace) => {
        const resources = new NamespacedResources({ ...this.options.client, namespace });
        return withRetry(() => resources.list('pods', selector), {
          clock: this.clock,
          deadline,
          what: `list executor pods of session ${sessionId} in namespace ${namespace}`,
          ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
        });
      }),
    );
    const now = this.clock.now();
    return lists
      .flatMap((l) => l.items)
      .map(parseExecutorPod)
      .filter((p): p is ExecutorPod => p !== undefined)
      .map((p) => toExecutorInfo(p, now))
      .sort(byExecutorName);
  }
}
