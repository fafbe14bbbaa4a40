/** What one target measured; every field optional (phases can be skipped, targets can fail). */
import type { Phase } from './bench-options.js';
import type { ConcurrencyResult } from './measure-concurrency.js';
import type { IopubResult } from './measure-iopub.js';
import type { MemoryResult } from './measure-memory.js';
import type { Summary } from './stats.js';

export interface TargetResults {
  label: string;
  start?: Summary;
  /** By wire: 'v1', 'legacy' (websocket) or 'zmq' (floor). */
  rtt: Record<string, Summary>;
  iopub: Record<string, IopubResult>;
  concurrency?: ConcurrencyResult;
  memory?: MemoryResult;
  /** Warm pool only: claims by result (hit, empty, changed) over the start samples. */
  poolClaims?: Record<string, number>;
}

/** A phase of one target that did not finish (a missed deadline or an error); its cells say so. */
export interface PhaseFailure {
  /** Column label: a TargetResults label, or one of STANDALONE_TARGETS. */
  readonly target: string;
  readonly phase: Phase;
  /** One line, e.g. "deadline: waited 30000 ms for execute_reply + status idle of `x=1` from ...". */
  readonly message: string;
}

/** Labels of the phases that are not a server's: their failures show in these names. */
export const STANDALONE_TARGETS = {
  reference: 'Python jupyter_client (2nd floor)',
  gc: 'executor GC (FakeKube)',
  scala: 'Scala kernel',
  k8s: 'real control plane',
} as const;

export function emptyResults(label: string): TargetResults {
  return { label, rtt: {}, iopub: {} };
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
