/**
 * What the session-logs route (`GET /api/sparkgate/sessions/{id}/logs?source=executor`) asks
 * about executors. Implemented in Kubernetes mode by ExecutorLogArchiver
 * (src/k8s/executor-log-archiver.ts); the route answers 404 when none is configured.
 */

export interface ExecutorLogEntry {
  /** Spark's executor id (the pod label `spark-exec-id`). */
  readonly id: string;
  readonly pod: string;
  readonly namespace: string;
  /** The pod exists and has not ended (Pending or Running). */
  readonly live: boolean;
  /** When the executor ended (container terminated or pod gone), ISO 8601; null while live. */
  readonly endedAt: string | null;
}

export interface ExecutorLogReadOptions {
  /** Last N lines of the archived log; all when undefined. */
  readonly tail?: number | undefined;
  readonly follow: boolean;
  readonly signal: AbortSignal;
}

export interface ExecutorLogSource {
  /** Executor ids (spark-exec-id) known for a session: live pods and archived logs, with state. */
  executors(sessionId: string): Promise<ExecutorLogEntry[]>;
  /**
   * The executor's log: the archived text (tail = last N lines, all when undefined), then, when follow
   * is true and the pod is still running, new lines as they arrive, ending when the pod ends or signal aborts.
   * Each item is one line ending in '\n'. A line `[sparkgate: N earlier bytes dropped]` first
   * means the ring on disk dropped older text.
   * Returns undefined when the session has no such executor (the route answers 404).
   */
  read(sessionId: string, executorId: string, options: ExecutorLogReadOptions): Promise<AsyncIterable<string> | undefined>;
}
