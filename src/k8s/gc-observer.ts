/**
 * Metrics hooks for executor garbage collection. The gateway wires these to its Prometheus
 * registry; src/k8s/ imports no metrics library.
 */
export interface GcObserver {
  /** One collectSession run, session end to "Kubernetes confirms all gone". */
  onGcDuration?(ms: number): void;
  /** The reaper deleted a pod whose session is not live (or an inactive executor). */
  onOrphanReaped?(): void;
  /** Executor pods of this gateway that exist and are not terminating. */
  executorsAlive?(n: number): void;
}
