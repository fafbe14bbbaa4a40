/**
 * The side-by-side setup for the interleaved phase: Jupyter Server, Jupyter Server with
 * TCP_NODELAY (the experiment), sparkgate and a direct kernel, each with one kernel and a client
 * per wire protocol. `close` stops all of it.
 */
import type { BenchOptions } from './bench-options.js';
import { BENCH_KERNEL_NAME } from './bench-kernelspec.js';
import type { Lane } from './interleaved-suite.js';
import { startJupyterServer } from './jupyter-server.js';
import type { KernelServer } from './kernel-server.js';
import { directTarget, type OpenKernel } from './kernel-targets.js';
import { startSparkgate } from './sparkgate-server.js';
import type { TargetResults } from './target-results.js';

export interface LaneTargets {
  readonly js: TargetResults;
  readonly jsNodelay: TargetResults;
  readonly sparkgate: TargetResults;
  readonly floor: TargetResults;
}

export interface OpenLanes {
  readonly lanes: Lane[];
  close(): Promise<void>;
}

export async function openLanes(targets: LaneTargets, options: BenchOptions): Promise<OpenLanes> {
  const servers: KernelServer[] = [];
  const closers: (() => Promise<void> | void)[] = [];
  const lanes: Lane[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => undefined);
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    const onServer = async (server: KernelServer, results: TargetResults, protocols: readonly ('v1' | 'legacy')[], iopub: boolean): Promise<void> => {
      servers.push(server);
      const id = await server.startKernel(BENCH_KERNEL_NAME);
      for (const protocol of protocols) {
        const client = await server.connect(id, protocol);
        await client.kernelInfo();
        closers.push(() => client.close());
        lanes.push({ results, key: protocol, client, iopub, roundTrips: protocol === 'v1' ? options.roundTrips : options.legacyRoundTrips });
      }
    };
    await onServer(await startJupyterServer(), targets.js, ['v1', 'legacy'], true);
    if (options.phases.has('rtt')) await onServer(await startJupyterServer({ nodelay: true }), targets.jsNodelay, ['v1'], false);
    await onServer(await startSparkgate(options.cpuProfDir ? { cpuProfDir: options.cpuProfDir } : {}), targets.sparkgate, ['v1', 'legacy'], true);
    const floor: OpenKernel = await directTarget().open();
    closers.push(() => floor.close());
    await floor.ready();
    lanes.push({ results: targets.floor, key: 'zmq', client: floor.client, iopub: true, roundTrips: options.roundTrips });
    return { lanes, close };
  } catch (err) {
    await close();
    throw err;
  }
}
