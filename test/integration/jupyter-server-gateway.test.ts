/**
 * How JupyterLab really uses sparkgate: a real Jupyter Server started with --gateway-url pointing
 * at sparkgate, driven by @jupyterlab/services. Jupyter Server proxies REST and the kernel
 * websocket to us. Every test runs against Jupyter Server 2 (with JupyterLab 4, what users run
 * today: .venv-jupyter) and against Debian's Jupyter Server 1.23.
 */
import { KernelAPI, KernelManager, KernelSpecManager, type Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startJupyterServer, type JupyterServerKind, type RunningJupyterServer } from '../helpers/jupyter-server.js';
import { alive, execute, waitFor } from '../helpers/kernel-client.js';

const SERVERS: JupyterServerKind[] = ['jupyter-server-2', 'jupyter-server-1'];
/** Tests that start a Jupyter Server of their own (tens of seconds on a busy machine). */
const SERVER_TEST_MS = 240_000;

describe.each(SERVERS)('%s in gateway mode', (kind) => {
  let tg: TestGateway;
  let jupyter: RunningJupyterServer;
  let km: KernelManager;
  /** Gateways and servers a test starts for itself: stopped here too, should the test time out. */
  const extra: { stop(): Promise<void> }[] = [];

  beforeAll(async () => {
    // A warm pool: what Jupyter Server sends with every start (KERNEL_USERNAME, KERNEL_LAUNCH_TIMEOUT,
    // KERNEL_WORKING_DIR) must not keep JupyterLab users from pooled sessions.
    // KERNEL_SPARKGATE_TEAM is declared harmless for pooled sessions, like the defaults.
    tg = await startGateway({
      warmPool: 'plain-python=1',
      warmPoolIgnoredEnv: ['KERNEL_USERNAME', 'KERNEL_LAUNCH_TIMEOUT', 'KERNEL_WORKING_DIR', 'KERNEL_SPARKGATE_TEAM'],
    });
    // Jupyter Server forwards the KERNEL_* variables of its own environment to every kernel start.
    jupyter = await startJupyterServer({ kind, gatewayUrl: tg.url, gatewayToken: tg.token, env: { KERNEL_SPARKGATE_TEAM: 'data-eng' } });
    km = new KernelManager({ serverSettings: jupyter.settings });
    await km.ready;
  }, SERVER_TEST_MS);

  afterAll(async () => {
    for (const x of extra.reverse()) await x.stop().catch(() => undefined);
    km?.dispose();
    await jupyter?.stop();
    await tg?.stop();
  });

  it('lists sparkgate kernelspecs', async () => {
    const ksm = new KernelSpecManager({ serverSettings: jupyter.settings });
    await ksm.ready;
    expect(Object.keys(ksm.specs!.kernelspecs)).toEqual(expect.arrayContaining(['plain-python', 'pyspark', 'spark-scala', 'spark-sql']));
    expect(ksm.specs!.kernelspecs['pyspark']!.display_name).toBe(tg.gateway.kernelspecs.get('pyspark').spec.display_name);
    ksm.dispose();
  });

  it('starts a kernel on sparkgate with the KERNEL_* variables, executes through the proxied websocket, shuts down', async () => {
    await waitFor(() => tg.gateway.kernels.warmPool.kernels().length === 1, 30_000, 'warm pool filled');
    const pooled = tg.gateway.kernels.warmPool.kernels()[0]!.id;
    const kernel = await km.startNew({ name: 'plain-python' });
    await kernel.info;
    // The kernel lives on sparkgate under the same id, and came from the warm pool.
    expect(tg.gateway.kernels.find(kernel.id)).toBeDefined();
    expect(kernel.id).toBe(pooled);
    const result = await execute(kernel, 'print("via jupyter server")\n1+1');
    expect(result.stdout).toBe('via jupyter server\n');
    expect(result.results[0]!['text/plain']).toBe('2');
    // Jupyter Server sends KERNEL_LAUNCH_TIMEOUT and the KERNEL_* variables of its environment
    // (KERNEL_USERNAME too when it has one); all were accepted and reached the pooled kernel.
    const userEnv = tg.gateway.kernels.get(kernel.id).userEnv;
    expect(Object.keys(userEnv)).toEqual(expect.arrayContaining(['KERNEL_LAUNCH_TIMEOUT', 'KERNEL_SPARKGATE_TEAM']));
    const env = await execute(kernel, 'import os; print(os.environ["KERNEL_SPARKGATE_TEAM"], os.environ["KERNEL_LAUNCH_TIMEOUT"])');
    expect(env.stdout).toBe(`data-eng ${userEnv['KERNEL_LAUNCH_TIMEOUT']}\n`);
    await kernel.shutdown();
    await waitFor(() => tg.gateway.kernels.find(kernel.id) === undefined, 10_000, 'kernel gone from sparkgate');
  });

  it('interrupts a running cell and restarts; the kernel keeps its id and works after each', async () => {
    const kernel = await km.startNew({ name: 'plain-python' });
    await kernel.info;
    const running = execute(kernel, 'import time\nfor _ in range(600): time.sleep(0.1)');
    await waitFor(() => kernel.status === 'busy', 10_000, 'busy');
    await new Promise((r) => setTimeout(r, 300));
    await kernel.interrupt();
    const interrupted = await running;
    expect(interrupted.reply.content.status).toBe('error');
    expect(interrupted.errors[0]?.ename).toBe('KeyboardInterrupt');
    expect((await execute(kernel, '6*7')).results[0]!['text/plain']).toBe('42');
    const pidBefore = tg.gateway.kernels.get(kernel.id).pid;
    await kernel.restart();
    // The gateway's own state: on 1.x the client's status after a restart can be the message 1.x
    // drops while it re-opens its gateway websocket (below), so the client may never show it.
    await waitFor(() => tg.gateway.kernels.get(kernel.id).state === 'idle', 20_000, 'idle after restart');
    if (kind === 'jupyter-server-2') await waitFor(() => kernel.status === 'idle', 20_000, 'the client sees idle after restart');
    expect(tg.gateway.kernels.get(kernel.id).pid).not.toBe(pidBefore);
    expect((await executeAfterReconnect(kernel, 'x = 3\nx*3')).results[0]!['text/plain']).toBe('9');
    await kernel.shutdown();
  }, 120_000);

  /**
   * After a restart @jupyterlab/services re-opens its websocket, and Jupyter Server 1.x then
   * re-opens its own to the gateway; a request sent in between can be dropped by 1.x (the race
   * described below), which hung this test in CI under load. On 1.x the (idempotent) cell is
   * sent again when no reply came within 10 s; on 2.x once, as a client would.
   */
  async function executeAfterReconnect(kernel: Kernel.IKernelConnection, code: string): Promise<Awaited<ReturnType<typeof execute>>> {
    for (let attempt = 1; ; attempt++) {
      let timer: NodeJS.Timeout | undefined;
      const noReply = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 10_000)));
      const result = await Promise.race([execute(kernel, code), noReply]);
      clearTimeout(timer);
      if (result) return result;
      if (kind !== 'jupyter-server-1' || attempt === 3) throw new Error(`no reply to ${JSON.stringify(code)} after the restart (attempt ${attempt})`);
    }
  }

  // Jupyter Server 1.x only: a message the client sends while 1.x re-opens its websocket to the
  // gateway can be dropped (jupyter_server/gateway/handlers.py connects in a spawned callback
  // and forwards only once its future is there), so an execute right after a reconnect hung in
  // CI under load. That is 1.x's race, not the gateway's; the test runs against 2.x.
  const reconnectIt = kind === 'jupyter-server-2' ? it : it.skip;
  reconnectIt('reconnects after the websocket drops: the session and its state survive', async () => {
    const kernel = await km.startNew({ name: 'plain-python' });
    await kernel.info;
    await execute(kernel, 'kept = 41');
    // The network drops the connection (no close handshake): the client reconnects on its own.
    const statuses: Kernel.ConnectionStatus[] = [];
    kernel.connectionStatusChanged.connect((_k, s) => statuses.push(s));
    const ws = (kernel as unknown as { _ws: { terminate?: () => void; close: () => void } })._ws;
    (ws.terminate ?? ws.close).call(ws);
    await waitFor(() => statuses.includes('connecting') && kernel.connectionStatus === 'connected', 30_000, 'reconnected');
    expect((await execute(kernel, 'kept + 1')).results[0]!['text/plain']).toBe('42');
    // And an explicit reconnect (JupyterLab's "Reconnect to Kernel").
    await kernel.reconnect();
    expect((await execute(kernel, 'kept + 2')).results[0]!['text/plain']).toBe('43');
    await kernel.shutdown();
  });

  it('a start slower than the client\'s timeout leaves no session behind', async () => {
    // The kernel takes 6 s to start; this Jupyter Server waits 3 s. Jupyter Server 2 keeps
    // request_timeout = KERNEL_LAUNCH_TIMEOUT + launch_timeout_pad and sends KERNEL_LAUNCH_TIMEOUT,
    // so sparkgate gives up on the start first; had the client left first, sparkgate would end
    // the kernel it started for nobody (start-retry.test.ts). Either way nothing is left.
    const impatient = await startJupyterServer({
      kind,
      gatewayUrl: tg.url,
      gatewayToken: tg.token,
      args: ['--GatewayClient.request_timeout=3', '--GatewayClient.launch_timeout_pad=1'],
      env: { KERNEL_LAUNCH_TIMEOUT: '2' },
    });
    extra.push(impatient);
    try {
      const before = new Set(tg.gateway.kernels.list().map((k) => k.id));
      const logged = tg.logLines.length;
      await expect(KernelAPI.startNew({ name: 'slow-start' }, impatient.settings)).rejects.toThrow();
      const started = (): { pid: number }[] =>
        tg.logLines
          .slice(logged)
          .filter((l) => l.includes('"kernelspec":"slow-start"') && l.includes('kernel process started'))
          .map((l) => JSON.parse(l) as { pid: number });
      await waitFor(() => started().length > 0, 10_000, 'the slow kernel process');
      await waitFor(() => tg.gateway.kernels.list().every((k) => before.has(k.id)), 20_000, 'no kernel left from the start');
      await waitFor(() => started().every(({ pid }) => !alive(pid)), 15_000, 'the slow kernel process gone');
    } finally {
      await impatient.stop();
    }
  }, SERVER_TEST_MS);

  it('sees culling: a kernel sparkgate culled is gone from Jupyter Server\'s list too', async () => {
    // Jupyter Server 1.x keeps its websockets to the gateway open after its client leaves (2.x
    // closes them), so there only cull_connected=True culls; the README says so.
    const cullConnected = kind === 'jupyter-server-1';
    // The culler runs when the test says (kernels.cull(), the timer's own call), not on a timer:
    // with a 3 s timer a slow start under load was culled before its kernel_info reply came back
    // through Jupyter Server, and the client waited for it forever (CI, twice).
    const culling = await startGateway({ cullIdleTimeoutSeconds: 1, cullIntervalSeconds: 86_400, cullConnected });
    extra.push(culling);
    const server = await startJupyterServer({ kind, gatewayUrl: culling.url, gatewayToken: culling.token });
    extra.push(server);
    try {
      const manager = new KernelManager({ serverSettings: server.settings });
      await manager.ready;
      const kernel = await manager.startNew({ name: 'plain-python' });
      await kernel.info;
      const id = kernel.id;
      expect((await KernelAPI.listRunning(server.settings)).map((k) => k.id)).toContain(id);
      kernel.dispose(); // culling spares kernels with a connection (cull_connected=false)
      if (!cullConnected) await waitFor(() => culling.gateway.kernels.find(id)?.connections === 0, 10_000, 'Jupyter Server to close its websocket to sparkgate');
      const deadline = Date.now() + 30_000;
      while (culling.gateway.kernels.find(id) !== undefined) {
        if (Date.now() > deadline) throw new Error('timed out waiting for sparkgate to cull the idle kernel');
        await new Promise((r) => setTimeout(r, 250));
        await culling.gateway.kernels.cull();
      }
      const listed = await KernelAPI.listRunning(server.settings);
      expect(listed.map((k) => k.id)).not.toContain(id);
      await expect(KernelAPI.getKernelModel(id, server.settings)).resolves.toBeUndefined();
      manager.dispose();
    } finally {
      await server.stop();
      await culling.stop();
    }
  }, SERVER_TEST_MS);
});
