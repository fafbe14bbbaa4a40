/**
 * The floor's own figures (start, concurrency): ipykernels spawned by the bench, a ZeroMQ client
 * each, no server. Round trips and iopub run interleaved across targets (interleaved-suite.ts).
 * Each is a phase of its own: the phase runner stops the kernels of one that fails.
 */
import type { BenchOptions, Phase } from './bench-options.js';
import { phaseBudgetMs } from './budgets.js';
import { directTarget, type OpenKernel } from './kernel-targets.js';
import { measureConcurrency } from './measure-concurrency.js';
import { measureStart } from './measure-start.js';
import type { PhaseRunner } from './phase-runner.js';
import { log, type TargetResults } from './target-results.js';

/** `failAs`: the phase a failure is recorded as (default: the part's own; the jupyterlab phase runs the concurrency part too). */
export async function runFloorSuite(runner: PhaseRunner, out: TargetResults, options: BenchOptions, failAs?: Phase): Promise<void> {
  const target = directTarget();
  const { phases } = options;
  const spec = (phase: 'start' | 'concurrency') => ({ name: `${out.label} ${phase}`, targets: [out.label], phases: [failAs ?? phase], budgetMs: phaseBudgetMs(phase, options) });
  if (phases.has('start')) {
    await runner.run(spec('start'), async (scope) => {
      log(`floor: ${options.starts} kernel starts`);
      out.start = await measureStart(scope, target, options.starts);
    });
  }
  if (phases.has('concurrency')) {
    await runner.run(spec('concurrency'), async (scope) => {
      log(`floor: concurrency ${options.concurrency} x ${options.cells}`);
      const kernels: OpenKernel[] = [];
      try {
        for (let i = 0; i < options.concurrency; i += 4) {
          // allSettled: kernels that did start are kept (and closed below) even when one did not.
          const started = await Promise.allSettled(Array.from({ length: Math.min(4, options.concurrency - i) }, () => target.open(scope)));
          for (const s of started) if (s.status === 'fulfilled') kernels.push(s.value);
          const failed = started.find((s) => s.status === 'rejected');
          if (failed) throw failed.reason;
        }
        for (const k of kernels) await k.ready();
        out.concurrency = await measureConcurrency(scope, kernels.map((k) => k.client), options.cells);
      } finally {
        await Promise.all(kernels.map((k) => k.close()));
      }
    });
  }
}
