/**
 * The "sparkgate warm" target: a gateway started with a warm pool for the bench kernelspec.
 * Before each timed start the bench waits until the pool is full again, read from /metrics
 * (a gauge named `sparkgate_warm_pool*` with labels kernelspec and state="ready"), so every
 * sample measures a hit, not a refill.
 */
import { BENCH_KERNEL_NAME } from './bench-kernelspec.js';
import { WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import type { KernelServer } from './kernel-server.js';
import { serverTarget, type KernelTarget } from './kernel-targets.js';

const GAUGE = /^(sparkgate_warm_pool\w*)\{([^}]*)\}\s+(\S+)$/;

/** Ready kernels in the pool for `kernelspec`, or undefined when the gateway exports no pool gauge. */
export async function readyInPool(scope: DeadlineScope, server: KernelServer, kernelspec: string): Promise<number | undefined> {
  const text = await server.fetchText(scope, '/metrics');
  let found: number | undefined;
  for (const line of text.split('\n')) {
    const m = GAUGE.exec(line);
    if (!m) continue;
    const labels = m[2]!;
    if (labels.includes(`kernelspec="${kernelspec}"`) && labels.includes('state="ready"')) found = (found ?? 0) + Number(m[3]);
  }
  return found;
}

/** `sparkgate_warm_pool_claims_total` by result (hit, empty, changed) for `kernelspec`. */
export async function poolClaims(scope: DeadlineScope, server: KernelServer, kernelspec: string): Promise<Record<string, number>> {
  const text = await server.fetchText(scope, '/metrics');
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^sparkgate_warm_pool_claims_total\{([^}]*)\}\s+(\S+)$/.exec(line);
    if (!m || !m[1]!.includes(`kernelspec="${kernelspec}"`)) continue;
    const result = /result="([^"]*)"/.exec(m[1]!)?.[1] ?? '?';
    out[result] = (out[result] ?? 0) + Number(m[2]);
  }
  return out;
}

/** The pool holds `poolSize` ready kernels (a /metrics read that fails counts as "not yet"). */
function poolFull(server: KernelServer, poolSize: number): (scope: DeadlineScope) => Promise<boolean> {
  return (scope) => readyInPool(scope, server, BENCH_KERNEL_NAME).then(
    (ready) => (ready ?? 0) >= poolSize,
    () => false,
  );
}

export async function warmTarget(scope: DeadlineScope, server: KernelServer, poolSize: number): Promise<KernelTarget | undefined> {
  // The pool fills in the background after start: wait for the gauge to appear and fill.
  try {
    await scope.poll(poolFull(server, poolSize), WAIT_MS.poolFill, `the warm pool of ${server.label} to fill (${poolSize} ready)`, 100);
  } catch (err) {
    if (scope.signal.aborted) throw err; // the phase is over, not the pool missing
    return undefined; // this build has no warm pool (or it never filled): the row says so
  }
  return serverTarget(server, 'v1', {
    label: 'sparkgate (warm)',
    beforeStart: (sampleScope) => sampleScope.poll(poolFull(server, poolSize), WAIT_MS.poolFill, `the warm pool of ${server.label} to refill (${poolSize} ready)`, 20),
  });
}
