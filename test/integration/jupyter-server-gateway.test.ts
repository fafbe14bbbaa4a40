/**
 * How JupyterLab really uses sparkgate: a real Jupyter Server (Debian python3-jupyter-server)
 * started with --gateway-url pointing at sparkgate, driven by @jupyterlab/services. Jupyter
 * Server proxies REST and the kernel websocket (legacy protocol) to us.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { KernelManager, KernelSpecManager, ServerConnection } from '@jupyterlab/services';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { execute, waitFor } from '../helpers/kernel-client.js';

const JUPYTER_PYTHON = process.env['SPARKGATE_TEST_JUPYTER_PYTHON'] ?? '/usr/bin/python3';

let tg: TestGateway;
let jupyter: ChildProcess;
let rootDir: string;
let settings: ServerConnection.ISettings;
let jupyterLog = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

beforeAll(async () => {
  // A warm pool: what Jupyter Server sends with every start (KERNEL_USERNAME, KERNEL_LAUNCH_TIMEOUT,
  // KERNEL_WORKING_DIR) must not keep JupyterLab users from pooled sessions.
  tg = await startGateway({ warmPool: 'plain-python=1' });
  rootDir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-jupyter-'));
  const port = await freePort();
  const jupyterToken = 'jupyter-test-token';
  jupyter = spawn(
    JUPYTER_PYTHON,
    [
      '-m',
      'jupyter_server',
      `--gateway-url=${tg.url}`,
      `--GatewayClient.auth_token=${tg.token}`,
      '--GatewayClient.request_timeout=60',
      `--ServerApp.token=${jupyterToken}`,
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      '--ServerApp.open_browser=False',
      '--ServerApp.allow_root=True',
      `--ServerApp.root_dir=${rootDir}`,
    ],
    { env: { ...process.env, JUPYTER_CONFIG_DIR: rootDir, JUPYTER_RUNTIME_DIR: rootDir, JUPYTER_DATA_DIR: rootDir }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  jupyter.stdout!.on('data', (d) => (jupyterLog += d));
  jupyter.stderr!.on('data', (d) => (jupyterLog += d));
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitFor(() => /is running at|Jupyter Server .* is running/.test(jupyterLog) || jupyter.exitCode !== null, 60_000, 'jupyter server');
  if (jupyter.exitCode !== null) throw new Error(`jupyter server exited:\n${jupyterLog}`);
  settings = ServerConnection.makeSettings({
    baseUrl,
    wsUrl: baseUrl.replace('http', 'ws'),
    token: jupyterToken,
    appendToken: true,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    fetch: globalThis.fetch,
    Request: globalThis.Request,
    Headers: globalThis.Headers,
  });
});

afterAll(async () => {
  if (jupyter && jupyter.exitCode === null) {
    jupyter.kill('SIGTERM');
    await new Promise((r) => jupyter.once('exit', r));
  }
  await tg?.stop();
  if (rootDir) rmSync(rootDir, { recursive: true, force: true });
});

describe('Jupyter Server in gateway mode', () => {
  it('lists sparkgate kernelspecs', async () => {
    const ksm = new KernelSpecManager({ serverSettings: settings });
    await ksm.ready;
    expect(Object.keys(ksm.specs!.kernelspecs)).toContain('plain-python');
    ksm.dispose();
  });

  it('starts a kernel on sparkgate, executes through the proxied websocket, shuts down', async () => {
    const km = new KernelManager({ serverSettings: settings });
    await km.ready;
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
    // Jupyter Server sends KERNEL_USERNAME and KERNEL_LAUNCH_TIMEOUT; both were accepted.
    expect(Object.keys(tg.gateway.kernels.get(kernel.id).userEnv)).toContain('KERNEL_LAUNCH_TIMEOUT');
    await kernel.interrupt();
    await kernel.restart();
    await waitFor(() => kernel.status === 'idle', 20_000, 'idle after restart');
    expect((await execute(kernel, '3*3')).results[0]!['text/plain']).toBe('9');
    await kernel.shutdown();
    await waitFor(() => tg.gateway.kernels.find(kernel.id) === undefined, 10_000, 'kernel gone from sparkgate');
    km.dispose();
  });
});
