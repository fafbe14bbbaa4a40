/** What one target measured; every field optional (phases can be skipped, targets can fail). */
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
  error?: string;
}

export function emptyResults(label: string): TargetResults {
  return { label, rtt: {}, iopub: {} };
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
