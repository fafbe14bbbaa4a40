/**
 * Server memory: VmRSS of the server process alone (its kernels are separate processes and not
 * counted) with 0 kernels and with `kernels` idle kernels without websocket clients, each read
 * after an idle settle period and a forced full GC where the server allows it (Node: inspector;
 * CPython frees by reference counting), median of 5 readings. Per kernel = (RSS_n - RSS_0) / n.
 * The baseline follows one kernel started and deleted, so code loaded on first use (both servers
 * import their kernel machinery lazily in part) is not counted as per-kernel memory.
 * The kernels are left running for the concurrency measurement; the caller deletes them.
 */
import { BENCH_KERNEL_NAME } from './bench-kernelspec.js';
import type { DeadlineScope } from './deadline.js';
import type { KernelServer } from './kernel-server.js';
import { rssKiB } from './processes.js';
import { percentile } from './stats.js';

export interface MemoryResult {
  readonly kernels: number;
  readonly rss0MB: number;
  readonly rssNMB: number;
  readonly perKernelMB: number;
}

/** The pauses are the scope's: a phase that is over stops sleeping. */
export async function settledRssKiB(scope: DeadlineScope, server: KernelServer, settleMs: number): Promise<number> {
  await scope.sleep(settleMs);
  await server.collectGarbage?.(scope);
  await scope.sleep(500);
  const pid = server.pid;
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    readings.push(rssKiB(pid));
    await scope.sleep(400);
  }
  return percentile(readings, 50);
}

/**
 * Start `count` kernels, `parallel` at a time, into `ids` (the caller's list, so that kernels
 * started before a failure are still known to whoever deletes them).
 */
export async function startKernels(scope: DeadlineScope, server: KernelServer, count: number, ids: string[] = [], parallel = 4): Promise<string[]> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next++;
        ids.push(await server.startKernel(scope, BENCH_KERNEL_NAME));
      }
    }),
  );
  return ids;
}

export async function measureMemory(scope: DeadlineScope, server: KernelServer, kernels: number, settleMs: number, kernelIds: string[] = []): Promise<{ result: MemoryResult; kernelIds: string[] }> {
  await server.deleteKernel(scope, await server.startKernel(scope, BENCH_KERNEL_NAME));
  const rss0 = await settledRssKiB(scope, server, settleMs);
  await startKernels(scope, server, kernels, kernelIds);
  const rssN = await settledRssKiB(scope, server, settleMs);
  // MB = 10^6 bytes (VmRSS is in KiB).
  const mb = (kib: number): number => Math.round(((kib * 1024) / 1e6) * 100) / 100;
  return {
    result: { kernels, rss0MB: mb(rss0), rssNMB: mb(rssN), perKernelMB: Math.round((((rssN - rss0) * 1024) / 1e6 / kernels) * 1000) / 1000 },
    kernelIds,
  };
}
