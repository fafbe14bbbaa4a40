/**
 * Executor pod lifetimes as the watch sees them, and what they cost: pure accounting, no I/O.
 *
 * A pod holds its resource requests (what the scheduler reserved and the namespace's
 * ResourceQuota counts) from the moment its executor container first ran until it finished or
 * the pod object vanished. One pod's timeline:
 *
 *   start = the earliest container start the watch ever showed (state.running.startedAt,
 *           state.terminated.startedAt, lastState.terminated.startedAt: a restarted container
 *           keeps the first run's start, the restart gap is still reserved), else, for a pod
 *           seen Running without container times, status.startTime, else the first Running
 *           observation. A pod that never ran (Pending, then deleted) costs nothing.
 *   end   = state.terminated.finishedAt of the executor container once the pod is Succeeded or
 *           Failed, or in the object the watch last saw when it went away; else the moment the
 *           watch showed the pod terminal or gone (DELETED, or missing from a relist).
 *
 * Cost over an interval (from, to]: cores x seconds and bytes x seconds of the overlap of
 * [start, end ?? to] with it, from the executor container's resources.requests (Spark sets
 * cpu = spark.kubernetes.executor.request.cores, else spark.executor.cores; memory =
 * spark.executor.memory + memoryOverhead (+ spark.executor.pyspark.memory)). Sidecars a pod
 * template adds are not counted.
 *
 * Error bound per pod: Kubernetes serializes times with one-second resolution (metav1.Time), so
 * start and finishedAt are each up to 1 s early (truncated); an end taken from an observation
 * is late by the watch's delivery latency (milliseconds on a healthy watch; up to one
 * relist after a cut watch); times from the kubelet and from the gateway's clock differ by
 * their clock skew. Requests changed in place (pod resize) apply from when the change is seen.
 */

export const MS_PER_S = 1000;

/** One observation of an executor pod, reduced to what metering needs (built in src/k8s). */
export interface PodSample {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly sessionId: string;
  /** The executor container's resources.requests.cpu, in cores. */
  readonly cpuCores: number;
  /** Its resources.requests.memory, in bytes. */
  readonly memoryBytes: number;
  readonly phase: string;
  /** Earliest container start in this object (running, terminated or lastState.terminated startedAt). */
  readonly containerStartedMs: number | undefined;
  /** status.startTime (the kubelet accepted the pod: before image pull and container start). */
  readonly podStartedMs: number | undefined;
  /** state.terminated.finishedAt of the executor container, when it is terminated now. */
  readonly finishedMs: number | undefined;
  /** `seen`: listed, added or modified; `gone`: DELETED, or missing from a relist. */
  readonly kind: 'seen' | 'gone';
  /** When the gateway received it (its clock). */
  readonly observedMs: number;
}

export type StartSource = 'container' | 'pod-start' | 'observed';
export type EndSource = 'finished' | 'observed';

export interface PodTimeline {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly sessionId: string;
  readonly cpuCores: number;
  readonly memoryBytes: number;
  readonly startMs: number | undefined;
  readonly startSource: StartSource | undefined;
  readonly endMs: number | undefined;
  readonly endSource: EndSource | undefined;
  /** The pod object is gone: nothing more will be seen of it. */
  readonly gone: boolean;
}

export interface ResourceSeconds {
  coreSeconds: number;
  memoryByteSeconds: number;
}

const TERMINAL = new Set(['Succeeded', 'Failed']);

function startOf(previous: PodTimeline | undefined, sample: PodSample): Pick<PodTimeline, 'startMs' | 'startSource'> {
  const before = { startMs: previous?.startMs, startSource: previous?.startSource };
  if (sample.containerStartedMs !== undefined) {
    // A container time beats any fallback; among container times the earliest (first run) wins.
    if (before.startSource !== 'container' || before.startMs === undefined || sample.containerStartedMs < before.startMs) {
      return { startMs: sample.containerStartedMs, startSource: 'container' };
    }
    return before;
  }
  if (before.startMs !== undefined || sample.phase !== 'Running') return before;
  return sample.podStartedMs !== undefined
    ? { startMs: sample.podStartedMs, startSource: 'pod-start' }
    : { startMs: sample.observedMs, startSource: 'observed' };
}

function endOf(previous: PodTimeline | undefined, sample: PodSample): Pick<PodTimeline, 'endMs' | 'endSource'> {
  const before = { endMs: previous?.endMs, endSource: previous?.endSource };
  if (before.endSource === 'finished') return before;
  const ending = sample.kind === 'gone' || TERMINAL.has(sample.phase);
  if (!ending) return before;
  if (sample.finishedMs !== undefined) return { endMs: sample.finishedMs, endSource: 'finished' };
  return before.endMs !== undefined ? before : { endMs: sample.observedMs, endSource: 'observed' };
}

/** The timeline after one more observation (a new object; `previous` is not changed). */
export function applySample(previous: PodTimeline | undefined, sample: PodSample): PodTimeline {
  return {
    uid: sample.uid,
    name: sample.name,
    namespace: sample.namespace,
    sessionId: sample.sessionId,
    // Requests are immutable but for in-place resize; a gone pod's last object still has them.
    cpuCores: sample.cpuCores,
    memoryBytes: sample.memoryBytes,
    ...startOf(previous, sample),
    ...endOf(previous, sample),
    gone: (previous?.gone ?? false) || sample.kind === 'gone',
  };
}

/** Seconds of [start, end] inside (fromMs, toMs]; a pod not ended yet runs to `toMs`. */
export function liveSecondsIn(timeline: Pick<PodTimeline, 'startMs' | 'endMs'>, fromMs: number, toMs: number): number {
  if (timeline.startMs === undefined) return 0;
  const start = Math.max(timeline.startMs, fromMs);
  const end = Math.min(timeline.endMs ?? toMs, toMs);
  return Math.max(0, end - start) / MS_PER_S;
}

/** What the pod's requests cost in (fromMs, toMs]. */
export function accruePod(timeline: PodTimeline, fromMs: number, toMs: number): ResourceSeconds {
  const seconds = liveSecondsIn(timeline, fromMs, toMs);
  return { coreSeconds: timeline.cpuCores * seconds, memoryByteSeconds: timeline.memoryBytes * seconds };
}

/** Nothing more can accrue once the pod is gone and accounted up to its end (or it never ran). */
export function isSettled(timeline: PodTimeline, accountedUntilMs: number): boolean {
  return timeline.gone && (timeline.startMs === undefined || timeline.endMs === undefined || timeline.endMs <= accountedUntilMs);
}
