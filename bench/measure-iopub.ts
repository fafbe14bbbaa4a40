/**
 * iopub throughput: one cell printing `lines` lines; wall time from send to idle, stream text
 * bytes received (checked complete) and MB/s (10^6 bytes) at the median wall time.
 */
import { executeWithin, type BenchClient } from './bench-client.js';
import { WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import { percentile } from './stats.js';

export interface IopubRun {
  readonly ms: number;
  readonly streamBytes: number;
}

export interface IopubResult {
  readonly lines: number;
  readonly wallMs: number;
  readonly streamBytes: number;
  readonly mbPerS: number;
  /** Every run received every byte of output. */
  readonly complete: boolean;
  readonly runsMs: number[];
}

export function expectedBytes(lines: number): number {
  let total = 0;
  for (let i = 0; i < lines; i++) total += String(i).length + 1;
  return total;
}

export async function iopubRun(scope: DeadlineScope, client: BenchClient, lines: number): Promise<IopubRun> {
  const t0 = performance.now();
  const result = await executeWithin(scope, client, `for i in range(${lines}): print(i)`, { baseMs: WAIT_MS.cell + lines * WAIT_MS.iopubLine });
  return { ms: performance.now() - t0, streamBytes: result.streamBytes };
}

export function iopubResult(lines: number, runs: readonly IopubRun[]): IopubResult {
  const expected = expectedBytes(lines);
  const runsMs = runs.map((r) => Math.round(r.ms * 10) / 10);
  const wallMs = percentile(runsMs, 50);
  return { lines, wallMs, streamBytes: expected, mbPerS: expected / 1e6 / (wallMs / 1000), complete: runs.every((r) => r.streamBytes === expected), runsMs };
}
