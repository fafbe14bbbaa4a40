/**
 * The figures one kernel server process (Jupyter Server 2, Enterprise Gateway or sparkgate) gives alone, in an order
 * that keeps the memory baseline clean: memory (fresh process) -> concurrency (on those idle
 * kernels) -> start. Round trips and iopub run interleaved across targets (interleaved-suite.ts).
 *
 * Each is a phase of its own (phase-runner.ts): one that fails is reported and the next runs on
 * a fresh server, since the failed one may still hold busy or half-started kernels.
 */
import { kernelInfoWithin, type BenchClient } from './bench-client.js';
import type { BenchOptions } from './bench-options.js';
import { phaseBudgetMs } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import type { KernelServer } from './kernel-server.js';
import { serverTarget } from './kernel-targets.js';
import { measureConcurrency } from './measure-concurrency.js';
import { measureMemory, startKernels } from './measure-memory.js';
import { measureStart } from './measure-start.js';
import type { PhaseRunner } from './phase-runner.js';
import { log, type TargetResults } from './target-results.js';

const SUITE_PHASES = ['memory', 'concurrency', 'start'] as const;
type SuitePhase = (typeof SUITE_PHASES)[number];

/** Delete kernels 8 at a time; one that does not go is left to the server's stop. */
async function deleteAll(scope: DeadlineScope, server: KernelServer, ids: string[]): Promise<void> {
  const queue = ids.splice(0);
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) await server.deleteKernel(scope, id).catch(() => undefined);
    }),
  );
}

export async function runServerSuite(runner: PhaseRunner, out: TargetResults, start: (scope: DeadlineScope) => Promise<KernelServer>, options: BenchOptions): Promise<void> {
  const { phases } = options;
  const order = SUITE_PHASES.filter((p) => phases.has(p));
  /** Idle kernels the memory phase leaves for the concurrency phase. */
  let ids: string[] = [];
  const body = (phase: SuitePhase, server: KernelServer) => async (scope: DeadlineScope): Promise<void> => {
    switch (phase) {
      case 'memory': {
        log(`${server.label}: memory, 0 and ${options.idleKernels} idle kernels`);
        const memory = await measureMemory(scope, server, options.idleKernels, options.settleMs, ids);
        out.memory = memory.result;
        log(`${server.label}: RSS ${memory.result.rss0MB} MB -> ${memory.result.rssNMB} MB, ${memory.result.perKernelMB} MB/kernel`);
        if (!phases.has('concurrency')) await deleteAll(scope, server, ids);
        return;
      }
      case 'concurrency': {
        if (ids.length < options.concurrency) await startKernels(scope, server, options.concurrency - ids.length, ids);
        log(`${server.label}: concurrency ${options.concurrency} x ${options.cells}`);
        const clients: BenchClient[] = [];
        try {
          for (const id of ids.slice(0, options.concurrency)) {
            const client = await server.connect(scope, id, 'v1');
            clients.push(client);
            await kernelInfoWithin(scope, client);
          }
          out.concurrency = await measureConcurrency(scope, clients, options.cells);
        } finally {
          for (const c of clients) c.close();
        }
        log(`${server.label}: ${out.concurrency.cellsPerS.toFixed(0)} cells/s, p99 ${out.concurrency.latency.p99} ms`);
        await deleteAll(scope, server, ids);
        return;
      }
      case 'start':
        log(`${server.label}: ${options.starts} kernel starts`);
        out.start = await measureStart(scope, serverTarget(server, 'v1'), options.starts);
        return;
      default: {
        const never: never = phase;
        throw new Error(`unknown phase ${String(never)}`);
      }
    }
  };

  let server: KernelServer | undefined;
  try {
    for (const [i, phase] of order.entries()) {
      if (!server) {
        // A server that does not come up fails every phase still to run on it.
        const up = await runner.run({ name: `${out.label}: server start`, targets: [out.label], phases: order.slice(i), budgetMs: phaseBudgetMs('setup', options) }, start);
        if (!up.ok) return;
        server = up.value;
      }
      const outcome = await runner.run({ name: `${out.label} ${phase}`, targets: [out.label], phases: [phase], budgetMs: phaseBudgetMs(phase, options) }, body(phase, server));
      if (!outcome.ok) {
        const tail = server.stderrTail?.().trim();
        if (tail) log(`${server.label} stderr (last lines, after its ${phase} failed):\n${tail}`);
        await server.stop(); // its kernels with it
        server = undefined;
        ids = [];
      }
    }
  } finally {
    await server?.stop();
  }
}
