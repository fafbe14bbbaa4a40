/**
 * Concurrency: N clients (one per kernel), each running `cells` small cells back to back, all at
 * once. Reports total cells/s over the wall time and per-cell latency percentiles.
 */
import type { BenchClient } from './bench-client.js';
import { summarize, type Summary } from './stats.js';

export interface ConcurrencyResult {
  readonly kernels: number;
  readonly cellsPerKernel: number;
  readonly cellsPerS: number;
  readonly latency: Summary;
}

export async function measureConcurrency(clients: readonly BenchClient[], cells: number): Promise<ConcurrencyResult> {
  for (const c of clients) await c.execute('x=1'); // every connection warm before the clock starts
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; i < cells; i++) {
        const t = performance.now();
        await client.execute('x=1');
        latencies.push(performance.now() - t);
      }
    }),
  );
  const wallS = (performance.now() - t0) / 1000;
  return { kernels: clients.length, cellsPerKernel: cells, cellsPerS: latencies.length / wallS, latency: summarize(latencies) };
}
