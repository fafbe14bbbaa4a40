/** Kernel start to kernel_info_reply on the client's connection, sequential samples. */
import type { DeadlineScope } from './deadline.js';
import type { KernelTarget } from './kernel-targets.js';
import { summarize, type Summary } from './stats.js';

export async function measureStart(scope: DeadlineScope, target: KernelTarget, samples: number): Promise<Summary> {
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    await target.beforeStart?.(scope);
    const kernel = await target.open(scope);
    ms.push(kernel.startMs);
    // Shutdown is not timed, but finishes before the next sample so it does not compete for CPU.
    await kernel.close();
  }
  return summarize(ms);
}
