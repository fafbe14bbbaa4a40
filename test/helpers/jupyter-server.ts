/**
 * A real Jupyter Server in gateway mode (`--gateway-url` at a test sparkgate), as users run it
 * (or, without `gatewayUrl`, in its local mode):
 * - `jupyter-server-2`: Jupyter Server 2 and JupyterLab 4 from `.venv-jupyter`
 *   (requirements/jupyter.txt, `scripts/ensure-python.sh jupyter`), started as `jupyter lab`;
 * - `jupyter-server-1`: Debian's python3-jupyter-server 1.23 (`/usr/bin/python3 -m jupyter_server`).
 * Its config, data and runtime dirs are a temp dir of the test; stop() removes them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ServerConnection } from '@jupyterlab/services';
import { REPO_ROOT } from '../../src/config.js';
import { makeSettings } from '../../src/runner/gateway-client.js';
import { waitFor } from './kernel-client.js';

export type JupyterServerKind = 'jupyter-server-2' | 'jupyter-server-1';

export const JUPYTER_VENV_PYTHON = path.join(REPO_ROOT, '.venv-jupyter', 'bin', 'python');

export interface JupyterServerOptions {
  kind: JupyterServerKind;
  /** Where the gateway is; without it Jupyter Server runs its own kernels (local mode). */
  gatewayUrl?: string;
  gatewayToken?: string;
  /** More `--Name.option=value` arguments. */
  args?: string[];
  env?: Record<string, string>;
  /** JupyterLab user settings: file path under the settings dir -> its JSON. */
  labSettings?: Record<string, unknown>;
}

export interface RunningJupyterServer {
  kind: JupyterServerKind;
  /** http://127.0.0.1:port (no trailing slash). */
  baseUrl: string;
  token: string;
  settings: ServerConnection.ISettings;
  child: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export function jupyterServerCommand(kind: JupyterServerKind): { python: string; entry: string[] } {
  if (kind === 'jupyter-server-2') {
    if (!existsSync(JUPYTER_VENV_PYTHON)) {
      throw new Error(`${JUPYTER_VENV_PYTHON} is missing: run bash scripts/ensure-python.sh jupyter (the test command does)`);
    }
    return { python: JUPYTER_VENV_PYTHON, entry: ['-m', 'jupyterlab'] };
  }
  return { python: process.env['SPARKGATE_TEST_JUPYTER_PYTHON'] ?? '/usr/bin/python3', entry: ['-m', 'jupyter_server'] };
}

export async function startJupyterServer(options: JupyterServerOptions): Promise<RunningJupyterServer> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-jupyter-'));
  const port = await freePort();
  const token = `jupyter-test-${Math.random().toString(36).slice(2)}`;
  const { python, entry } = jupyterServerCommand(options.kind);
  for (const [file, value] of Object.entries(options.labSettings ?? {})) {
    const target = path.join(home, '.lab-settings', file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, JSON.stringify(value));
  }
  const child = spawn(
    python,
    [
      ...entry,
      ...(options.gatewayUrl === undefined
        ? []
        : [
            `--gateway-url=${options.gatewayUrl}`,
            `--GatewayClient.auth_token=${options.gatewayToken ?? ''}`,
            ...((options.args ?? []).some((a) => a.startsWith('--GatewayClient.request_timeout=')) ? [] : ['--GatewayClient.request_timeout=60']),
          ]),
      `--ServerApp.token=${token}`,
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      '--ServerApp.open_browser=False',
      '--ServerApp.allow_root=True',
      `--ServerApp.root_dir=${home}`,
      ...(options.args ?? []),
    ],
    {
      env: {
        ...process.env,
        JUPYTER_CONFIG_DIR: path.join(home, '.config'),
        JUPYTER_RUNTIME_DIR: path.join(home, '.runtime'),
        JUPYTER_DATA_DIR: path.join(home, '.data'),
        // JupyterLab's own settings and workspaces stay in the temp dir too.
        JUPYTERLAB_SETTINGS_DIR: path.join(home, '.lab-settings'),
        JUPYTERLAB_WORKSPACES_DIR: path.join(home, '.lab-workspaces'),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const exited = new Promise((r) => child.once('exit', r));
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(home, { recursive: true, force: true });
  };
  try {
    await waitFor(
      () => /is running at|Jupyter Server .* is running/.test(log) || child.exitCode !== null,
      90_000,
      `${options.kind} to start`,
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  if (child.exitCode !== null) {
    await stop();
    throw new Error(`${options.kind} exited (${child.exitCode}):\n${log}`);
  }
  const settings = makeSettings(baseUrl, token);
  return { kind: options.kind, baseUrl, token, settings, child, log: () => log, stop };
}
