/** `1+1` round trips on one connection: execute_request to execute_reply + status idle. */
import type { BenchClient } from './bench-client.js';

export async function roundTripSamples(client: BenchClient, count: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await client.execute('1+1');
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** Untimed round trips first: JIT, caches, TCP windows. */
export async function warmUp(client: BenchClient, count = 50): Promise<void> {
  await roundTripSamples(client, count);
}
