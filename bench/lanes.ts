/**
 * The side-by-side setup for the interleaved phase: Jupyter Server 2, Jupyter Server 2 with
 * TCP_NODELAY (the experiment), Enterprise Gateway, sparkgate and a direct kernel, each with one
 * kernel and a client per wire protocol. A target that cannot be set up (within its deadlines) is reported failed
 * for the interleaved phases and the others go on without it. `close` stops all of it.
 */
import { kernelInfoWithin } from './bench-client.js';
import type { BenchOptions, Phase } from './bench-options.js';
import { BENCH_KERNEL_NAME } from './bench-kernelspec.js';
import type { DeadlineScope } from './deadline.js';
import { startEnterpriseGateway } from './enterprise-gateway.js';
import type { Lane } from './interleaved-suite.js';
import { startJupyterServer } from './jupyter-server.js';
import type { KernelServer } from './kernel-server.js';
import { directTarget, type OpenKernel } from './kernel-targets.js';
import type { PhaseRunner } from './phase-runner.js';
import { startSparkgate } from './sparkgate-server.js';
import type { TargetResults } from './target-results.js';

export interface LaneTargets {
  readonly js: TargetResults;
  readonly jsNodelay: TargetResults;
  readonly eg: TargetResults;
  readonly sparkgate: TargetResults;
  readonly floor: TargetResults;
}

export interface OpenLanes {
  readonly lanes: Lane[];
  close(): Promise<void>;
}

/** The interleaved phases that run (rtt, iopub), for failure records. */
export function lanePhases(options: BenchOptions): Phase[] {
  return (['rtt', 'iopub'] as const).filter((p) => options.phases.has(p));
}

export async function openLanes(scope: DeadlineScope, runner: PhaseRunner, targets: LaneTargets, options: BenchOptions): Promise<OpenLanes> {
  const servers: KernelServer[] = [];
  const closers: (() => Promise<void> | void)[] = [];
  const lanes: Lane[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => undefined);
    await Promise.all(servers.map((s) => s.stop()));
  };
  /** Set one target up; its failure is its own unless the whole setup is over. */
  const setUp = async (results: TargetResults, phases: readonly Phase[], fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      if (scope.signal.aborted) throw err;
      runner.fail(`${results.label}: side-by-side setup`, [results.label], phases, err);
    }
  };
  const onServer = async (server: KernelServer, results: TargetResults, protocols: readonly ('v1' | 'legacy')[], iopub: boolean): Promise<void> => {
    servers.push(server);
    const id = await server.startKernel(scope, BENCH_KERNEL_NAME);
    for (const protocol of protocols) {
      const client = await server.connect(scope, id, protocol);
      closers.push(() => client.close());
      await kernelInfoWithin(scope, client);
      lanes.push({ results, key: protocol, client, iopub, roundTrips: protocol === 'v1' ? options.roundTrips : options.legacyRoundTrips });
    }
  };
  const phases = lanePhases(options);
  try {
    await setUp(targets.js, phases, async () => onServer(await startJupyterServer(scope), targets.js, ['v1', 'legacy'], true));
    if (options.phases.has('rtt')) await setUp(targets.jsNodelay, ['rtt'], async () => onServer(await startJupyterServer(scope, { nodelay: true }), targets.jsNodelay, ['v1'], false));
    await setUp(targets.eg, phases, async () => onServer(await startEnterpriseGateway(scope), targets.eg, ['v1', 'legacy'], true));
    await setUp(targets.sparkgate, phases, async () =>
      onServer(await startSparkgate(scope, options.cpuProfDir ? { cpuProfDir: options.cpuProfDir } : {}), targets.sparkgate, ['v1', 'legacy'], true),
    );
    await setUp(targets.floor, phases, async () => {
      const floor: OpenKernel = await directTarget().open(scope);
      closers.push(() => floor.close());
      await floor.ready();
      lanes.push({ results: targets.floor, key: 'zmq', client: floor.client, iopub: true, roundTrips: options.roundTrips });
    });
    return { lanes, close };
  } catch (err) {
    await close();
    throw err;
  }
}
