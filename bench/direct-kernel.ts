/**
 * The floor's kernels: ipykernel spawned by the bench itself from the bench kernelspec's argv
 * with a connection file, no server in between; a ZeroMQ client talks to it.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { newConnectionInfo, releasePorts, removeFile, writeConnectionFile } from '../src/kernels/connection-file.js';
import { BENCH_KERNEL_NAME, benchKernelArgv } from './bench-kernelspec.js';
import { WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import { BENCH_TMP_DIR, spawnTracked, stopTracked, type Tracked } from './processes.js';
import { ZmqKernelClient } from './zmq-kernel-client.js';

const RUNTIME_DIR = path.join(BENCH_TMP_DIR, 'direct');

export class DirectKernel {
  private constructor(
    private readonly proc: Tracked,
    private readonly file: string,
    private readonly release: () => void,
    readonly client: ZmqKernelClient,
  ) {}

  /** Spawn a kernel and connect; resolves when kernel_info_reply arrived (`untilReply`). */
  static async start(scope: DeadlineScope): Promise<DirectKernel> {
    const info = await newConnectionInfo(BENCH_KERNEL_NAME);
    const file = writeConnectionFile(RUNTIME_DIR, randomUUID(), info);
    const [command, ...args] = benchKernelArgv(file);
    const env: Record<string, string> = { ...(process.env as Record<string, string>), JPY_PARENT_PID: String(process.pid) };
    const proc = spawnTracked('ipykernel (direct)', command!, args, { env, stdio: 'ignore' });
    const client = new ZmqKernelClient(info);
    const kernel = new DirectKernel(proc, file, () => releasePorts(info), client);
    const exited = proc.exited.then(() => {
      throw new Error('ipykernel exited during start');
    });
    try {
      await scope.wait(Promise.race([client.kernelInfo({ untilReply: true }), exited]), WAIT_MS.kernelStart, `kernel_info_reply from a directly spawned ipykernel (pid ${proc.child.pid ?? '?'})`);
    } catch (err) {
      await kernel.stop(); // a kernel that missed its start is not left running
      throw err;
    }
    return kernel;
  }

  async stop(): Promise<void> {
    this.client.close();
    await stopTracked(this.proc, 5_000);
    removeFile(this.file);
    this.release();
  }
}
