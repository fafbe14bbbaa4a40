/**
 * An executor pod as usage metering reads it back from the API (list item or watch event): the
 * executor container's resource requests and the container and pod times, reduced to a
 * `PodSample` (src/usage/pod-timeline.ts says how they become a lifetime). Pure.
 * Fields: https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#PodStatus
 */
import { z } from 'zod';
import { LABEL_SESSION } from '../labels.js';
import type { PodSample } from '../usage/pod-timeline.js';
import { objectMetaSchema, timestampSchema } from './kube-schemas.js';
import { parseQuantity } from './quantity.js';

/** Spark's name for the executor container (KubernetesExecutorBuilder / BasicExecutorFeatureStep). */
export const EXECUTOR_CONTAINER = 'spark-kubernetes-executor';

const time = timestampSchema.nullish().transform((v) => v ?? undefined);
const containerStateSchema = z
  .object({
    running: z.object({ startedAt: time }).loose().nullish(),
    terminated: z.object({ startedAt: time, finishedAt: time }).loose().nullish(),
  })
  .loose()
  .nullish();

const quantity = z.union([z.string(), z.number()]);

export const usagePodSchema = z.object({
  metadata: objectMetaSchema,
  spec: z
    .object({
      containers: z
        .array(
          z
            .object({
              name: z.string(),
              args: z.array(z.string()).nullish(),
              resources: z.object({ requests: z.record(z.string(), quantity).nullish() }).loose().nullish(),
            })
            .loose(),
        )
        .nullish(),
    })
    .loose()
    .nullish(),
  status: z
    .object({
      phase: z.string().nullish(),
      startTime: time,
      containerStatuses: z
        .array(z.object({ name: z.string(), state: containerStateSchema, lastState: containerStateSchema }).loose())
        .nullish(),
    })
    .loose()
    .nullish(),
});
export type UsagePod = z.infer<typeof usagePodSchema>;

export function parseUsagePod(raw: unknown): UsagePod | undefined {
  const parsed = usagePodSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/** The executor container: Spark's name, else the one run with args ["executor"], else the first. */
function executorContainer(pod: UsagePod) {
  const cs = pod.spec?.containers ?? [];
  return cs.find((c) => c.name === EXECUTOR_CONTAINER) ?? cs.find((c) => c.args?.[0] === 'executor') ?? cs[0];
}

const ms = (t: string | undefined): number | undefined => {
  const v = t === undefined ? Number.NaN : Date.parse(t);
  return Number.isNaN(v) ? undefined : v;
};

export function toPodSample(pod: UsagePod, kind: PodSample['kind'], observedMs: number): PodSample {
  const container = executorContainer(pod);
  const requests = container?.resources?.requests ?? {};
  const status = (pod.status?.containerStatuses ?? []).find((s) => s.name === container?.name) ?? pod.status?.containerStatuses?.[0];
  const starts = [status?.state?.running?.startedAt, status?.state?.terminated?.startedAt, status?.lastState?.terminated?.startedAt]
    .map(ms)
    .filter((v): v is number => v !== undefined);
  return {
    uid: pod.metadata.uid,
    name: pod.metadata.name,
    namespace: pod.metadata.namespace ?? '',
    sessionId: pod.metadata.labels[LABEL_SESSION] ?? '',
    cpuCores: parseQuantity(requests['cpu']) ?? 0,
    memoryBytes: parseQuantity(requests['memory']) ?? 0,
    phase: pod.status?.phase ?? 'Unknown',
    containerStartedMs: starts.length > 0 ? Math.min(...starts) : undefined,
    podStartedMs: ms(pod.status?.startTime),
    finishedMs: ms(status?.state?.terminated?.finishedAt),
    kind,
    observedMs,
  };
}
