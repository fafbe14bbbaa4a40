/**
 * The figures one kernel server process (Jupyter Server or sparkgate) gives alone, in an order
 * that keeps the memory baseline clean: memory (fresh process) -> concurrency (on those idle
 * kernels) -> start. Round trips and iopub run interleaved across targets (interleaved-suite.ts).
 */
import type { BenchClient } from './bench-client.js';
import type { BenchOptions } from './bench-options.js';
import type { KernelServer } from './kernel-server.js';
import { serverTarget } from './kernel-targets.js';
import { measureConcurrency } from './measure-concurrency.js';
import { measureMemory, startKernels } from './measure-memory.js';
import { measureStart } from './measure-start.js';
import { emptyResults, log, type TargetResults } from './target-results.js';

async function deleteAll(server: KernelServer, ids: readonly string[]): Promise<void> {
  const queue = [...ids];
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) await server.deleteKernel(id).catch(() => undefined);
  }));
}

export async function runServerSuite(server: KernelServer, options: BenchOptions): Promise<TargetResults> {
  const out = emptyResults(server.label);
  const { phases } = options;
  let ids: string[] = [];
  if (phases.has('memory')) {
    log(`${server.label}: memory, 0 and ${options.idleKernels} idle kernels`);
    const memory = await measureMemory(server, options.idleKernels, options.settleMs);
    out.memory = memory.result;
    ids = memory.kernelIds;
    log(`${server.label}: RSS ${memory.result.rss0MB} MB -> ${memory.result.rssNMB} MB, ${memory.result.perKernelMB} MB/kernel`);
  }
  if (phases.has('concurrency')) {
    if (ids.length < options.concurrency) ids.push(...(await startKernels(server, options.concurrency - ids.length)));
    log(`${server.label}: concurrency ${options.concurrency} x ${options.cells}`);
    const clients: BenchClient[] = [];
    for (const id of ids.slice(0, options.concurrency)) {
      const client = await server.connect(id, 'v1');
      await client.kernelInfo();
      clients.push(client);
    }
    out.concurrency = await measureConcurrency(clients, options.cells);
    for (const c of clients) c.close();
    log(`${server.label}: ${out.concurrency.cellsPerS.toFixed(0)} cells/s, p99 ${out.concurrency.latency.p99} ms`);
  }
  await deleteAll(server, ids);

  if (phases.has('start')) {
    log(`${server.label}: ${options.starts} kernel starts`);
    out.start = await measureStart(serverTarget(server, 'v1'), options.starts);
  }
  return out;
}
