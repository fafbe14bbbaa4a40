/**
 * The ~40 ms per cell inside Jupyter Server's proxy (issue 16): tornado puts Nagle back on after
 * the websocket upgrade, so the tail of a reply waits for the client's delayed ACK. With the
 * sparkgate extension loaded, Jupyter Server keeps TCP_NODELAY on its kernel websockets.
 * Two real Jupyter Server 2 instances in gateway mode in front of one sparkgate, the extension off
 * and on, driven by JupyterLab's own client (@jupyterlab/services): the ratio of their `1+1`
 * round trips shows the stall, whatever the machine's speed.
 */
import { KernelManager, type Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../../helpers/gateway.js';
import { startJupyterServer, type RunningJupyterServer } from '../../helpers/jupyter-server.js';
import { execute } from '../../helpers/kernel-client.js';

const EXTENSION_OFF = '--ServerApp.jpserver_extensions=jupyterlab_sparkgate=False';
const ROUNDS = 40;

let tg: TestGateway;
const servers: Record<'off' | 'on', RunningJupyterServer | undefined> = { off: undefined, on: undefined };

beforeAll(async () => {
  tg = await startGateway();
  servers.off = await startJupyterServer({ kind: 'jupyter-server-2', gatewayUrl: tg.url, gatewayToken: tg.token, args: [EXTENSION_OFF] });
  servers.on = await startJupyterServer({ kind: 'jupyter-server-2', gatewayUrl: tg.url, gatewayToken: tg.token });
}, 240_000);

afterAll(async () => {
  await servers.off?.stop();
  await servers.on?.stop();
  await tg?.stop();
});

async function roundTrips(kernel: Kernel.IKernelConnection, n: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await execute(kernel, '1+1');
    ms.push(performance.now() - t0);
    expect(r.results[0]?.['text/plain']).toBe('2');
  }
  return ms.sort((a, b) => a - b);
}

const median = (sorted: number[]): number => sorted[Math.floor(sorted.length / 2)]!;

describe('TCP_NODELAY on Jupyter Server 2\'s kernel websockets (gateway mode)', () => {
  it('the extension says what it changed, and only when loaded', () => {
    expect(servers.on!.log()).toMatch(/sparkgate: TCP_NODELAY on kernel websockets/);
    expect(servers.off!.log()).not.toMatch(/sparkgate: TCP_NODELAY/);
  });

  it('with the extension a cell\'s reply comes without the delayed-ACK stall', async () => {
    const kernels: Record<'off' | 'on', Kernel.IKernelConnection> = {} as never;
    const managers: KernelManager[] = [];
    for (const side of ['off', 'on'] as const) {
      const km = new KernelManager({ serverSettings: servers[side]!.settings });
      managers.push(km);
      await km.ready;
      kernels[side] = await km.startNew({ name: 'python3' });
      await kernels[side].info;
      await roundTrips(kernels[side], 5); // warm: imports, first display formatter, JIT
    }
    // Interleaved, so a busy moment of the machine hits both sides alike.
    const off: number[] = [];
    const on: number[] = [];
    for (let i = 0; i < ROUNDS / 5; i++) {
      off.push(...(await roundTrips(kernels.off, 5)));
      on.push(...(await roundTrips(kernels.on, 5)));
    }
    off.sort((a, b) => a - b);
    on.sort((a, b) => a - b);
    const ratio = median(off) / median(on);
    console.log(`1+1 through Jupyter Server 2: p50 extension off ${median(off).toFixed(1)} ms, on ${median(on).toFixed(1)} ms (x${ratio.toFixed(1)})`);
    // The stall is a delayed ACK (40 ms on Linux) on a reply of a few milliseconds.
    expect(ratio, `off ${median(off).toFixed(1)} ms, on ${median(on).toFixed(1)} ms`).toBeGreaterThan(2);
    for (const side of ['off', 'on'] as const) await kernels[side].shutdown();
    for (const km of managers) km.dispose();
  }, 180_000);
});
