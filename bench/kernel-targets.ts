/**
 * The three kinds of target behind one interface: a kernel server over websockets (Jupyter
 * Server, sparkgate cold, sparkgate with a warm pool) and the floor (ipykernel spawned by the
 * bench, ZeroMQ client). `open` is timed by the start measurement: it ends when the
 * kernel_info_reply arrived on the client's connection.
 */
import type { WsProtocol } from '../src/wire/ws-codec.js';
import type { BenchClient } from './bench-client.js';
import { BENCH_KERNEL_NAME } from './bench-kernelspec.js';
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
  beforeStart?(): Promise<void>;
  open(): Promise<OpenKernel>;
}

export function serverTarget(server: KernelServer, protocol: WsProtocol = 'v1', extra: Partial<KernelTarget> = {}): KernelTarget {
  return {
    label: server.label,
    ...extra,
    async open() {
      const t0 = performance.now();
      const id = await server.startKernel(BENCH_KERNEL_NAME);
      const client = await server.connect(id, protocol);
      await client.kernelInfo({ untilReply: true });
      const startMs = performance.now() - t0;
      return {
        client,
        startMs,
        ready: async () => void (await client.kernelInfo()),
        close: async () => {
          client.close();
          await server.deleteKernel(id);
        },
      };
    },
  };
}

export function directTarget(): KernelTarget {
  return {
    label: 'floor (direct ZeroMQ)',
    async open() {
      const t0 = performance.now();
      const kernel = await DirectKernel.start();
      const startMs = performance.now() - t0;
      return {
        client: kernel.client,
        startMs,
        ready: () => kernel.client.waitForIopub(),
        close: () => kernel.stop(),
      };
    },
  };
}
