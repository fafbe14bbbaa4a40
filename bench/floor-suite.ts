/**
 * The floor's own figures (start, concurrency): ipykernels spawned by the bench, a ZeroMQ client
 * each, no server. Round trips and iopub run interleaved across targets (interleaved-suite.ts).
 */
import type { BenchOptions } from './bench-options.js';
import { directTarget, type OpenKernel } from './kernel-targets.js';
import { measureConcurrency } from './measure-concurrency.js';
import { measureStart } from './measure-start.js';
import { emptyResults, log, type TargetResults } from './target-results.js';

export async function runFloorSuite(options: BenchOptions): Promise<TargetResults> {
  const target = directTarget();
  const out = emptyResults(target.label);
  const { phases } = options;
  if (phases.has('start')) {
    log(`floor: ${options.starts} kernel starts`);
    out.start = await measureStart(target, options.starts);
  }
  if (phases.has('concurrency')) {
    log(`floor: concurrency ${options.concurrency} x ${options.cells}`);
    const kernels: OpenKernel[] = [];
    try {
      for (let i = 0; i < options.concurrency; i += 4) {
        kernels.push(...(await Promise.all(Array.from({ length: Math.min(4, options.concurrency - i) }, () => target.open()))));
      }
      for (const k of kernels) await k.ready();
      out.concurrency = await measureConcurrency(kernels.map((k) => k.client), options.cells);
    } finally {
      await Promise.all(kernels.map((k) => k.close()));
    }
  }
  return out;
}
