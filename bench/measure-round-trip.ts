/** `1+1` round trips on one connection: execute_request to execute_reply + status idle. */
import { executeWithin, type BenchClient } from './bench-client.js';
import type { DeadlineScope } from './deadline.js';

export async function roundTripSamples(scope: DeadlineScope, client: BenchClient, count: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await executeWithin(scope, client, '1+1', { where: () => `round trip ${i + 1} of ${count}` });
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** Untimed round trips first: JIT, caches, TCP windows. */
export async function warmUp(scope: DeadlineScope, client: BenchClient, count = 50): Promise<void> {
  await roundTripSamples(scope, client, count);
}
