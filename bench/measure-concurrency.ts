/**
 * Concurrency: N clients (one per kernel), each running `cells` small cells back to back, all at
 * once. Reports total cells/s over the wall time and per-cell latency percentiles.
 */
import { executeWithin, type BenchClient } from './bench-client.js';
import type { DeadlineScope } from './deadline.js';
import { summarize, type Summary } from './stats.js';

export interface ConcurrencyResult {
  readonly kernels: number;
  readonly cellsPerKernel: number;
  readonly cellsPerS: number;
  readonly latency: Summary;
}

/**
 * Every cell waits within its deadline; when one misses it, the phase's scope aborts and the
 * other clients stop at their next cell (the caller closes them).
 */
export async function measureConcurrency(scope: DeadlineScope, clients: readonly BenchClient[], cells: number): Promise<ConcurrencyResult> {
  const n = clients.length;
  // Every connection warm before the clock starts.
  for (const [k, c] of clients.entries()) await executeWithin(scope, c, 'x=1', { where: () => `warm-up of client ${k + 1} of ${n}` });
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (client, k) => {
      for (let i = 0; i < cells; i++) {
        const t = performance.now();
        await executeWithin(scope, client, 'x=1', { where: () => `client ${k + 1} of ${n}, cell ${i + 1} of ${cells}` });
        latencies.push(performance.now() - t);
      }
    }),
  );
  const wallS = (performance.now() - t0) / 1000;
  return { kernels: clients.length, cellsPerKernel: cells, cellsPerS: latencies.length / wallS, latency: summarize(latencies) };
}
