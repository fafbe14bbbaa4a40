/**
 * The three kinds of target behind one interface: a kernel server over websockets (Jupyter
 * Server, sparkgate cold, sparkgate with a warm pool) and the floor (ipykernel spawned by the
 * bench, ZeroMQ client). `open` is timed by the start measurement: it ends when the
 * kernel_info_reply arrived on the client's connection. Every wait is within the deadlines of
 * the scope `open` was given.
 */
import type { WsProtocol } from '../src/wire/ws-codec.js';
import { kernelInfoWithin, type BenchClient } from './bench-client.js';
import { BENCH_KERNEL_NAME } from './bench-kernelspec.js';
import { WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import { DirectKernel } from './direct-kernel.js';
import type { KernelServer } from './kernel-server.js';

export interface OpenKernel {
  readonly client: BenchClient;
  /** ms from the start request to the kernel_info_reply. */
  readonly startMs: number;
  /** Make the client fully usable (iopub flowing); not part of startMs. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface KernelTarget {
  readonly label: string;
  /** Called before each timed start (e.g. wait for the warm pool to refill). */
  beforeStart?(scope: DeadlineScope): Promise<void>;
  open(scope: DeadlineScope): Promise<OpenKernel>;
}

export function serverTarget(server: KernelServer, protocol: WsProtocol = 'v1', extra: Partial<KernelTarget> = {}): KernelTarget {
  return {
    label: server.label,
    ...extra,
    async open(scope) {
      const t0 = performance.now();
      const id = await server.startKernel(scope, BENCH_KERNEL_NAME);
      let client: BenchClient | undefined;
      try {
        client = await server.connect(scope, id, protocol);
        await kernelInfoWithin(scope, client, { untilReply: true, baseMs: WAIT_MS.kernelStart });
      } catch (err) {
        // Not left behind: the socket now, the kernel if the server still answers (else the
        // phase runner stops the server).
        client?.close();
        await server.deleteKernel(scope, id).catch(() => undefined);
        throw err;
      }
      const startMs = performance.now() - t0;
      return {
        client,
        startMs,
        ready: async () => void (await kernelInfoWithin(scope, client)),
        close: async () => {
          client.close();
          await server.deleteKernel(scope, id);
        },
      };
    },
  };
}

export function directTarget(): KernelTarget {
  return {
    label: 'floor (direct ZeroMQ)',
    async open(scope) {
      const t0 = performance.now();
      const kernel = await DirectKernel.start(scope);
      const startMs = performance.now() - t0;
      return {
        client: kernel.client,
        startMs,
        ready: () => kernel.client.waitForIopub(scope),
        close: () => kernel.stop(),
      };
    },
  };
}
