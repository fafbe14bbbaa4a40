/**
 * A real JupyterHub (from PyPI, in .venv-hub) for the multi-user tests: users, groups and API
 * tokens made through its REST API; the gateway checks those tokens against it. Its proxy is a
 * no-op (test/fixtures/jupyterhub/jupyterhub_config.py says why).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../src/config.js';
import { freePort } from './jupyter-server.js';

export const HUB_PYTHON = path.join(REPO_ROOT, '.venv-hub', 'bin', 'python');
const CONFIG = path.join(REPO_ROOT, 'test', 'fixtures', 'jupyterhub', 'jupyterhub_config.py');

export interface HubOptions {
  users: string[];
  admins?: string[];
  /** group name -> members */
  groups?: Record<string, string[]>;
}

export interface RunningHub {
  /** The Hub's REST API, e.g. http://127.0.0.1:PORT/hub/api (what jupyterhubApiUrl takes). */
  apiUrl: string;
  child: ChildProcess;
  log(): string;
  /** A new API token of `user`, made by the test's admin service. */
  newToken(user: string): Promise<{ token: string; id: string }>;
  revokeToken(user: string, id: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startJupyterHub(options: HubOptions): Promise<RunningHub> {
  if (!existsSync(HUB_PYTHON)) throw new Error(`${HUB_PYTHON} is missing: run bash scripts/ensure-python.sh hub (the test command does)`);
  // Named like the other test servers' folders, so the test command's leak check sees a Hub left running.
  const home = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-jupyter-hub-'));
  const port = await freePort();
  const adminToken = `hub-admin-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  const child = spawn(HUB_PYTHON, ['-m', 'jupyterhub', '-f', CONFIG], {
    cwd: home,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      SPARKGATE_HUB_HOME: home,
      SPARKGATE_HUB_PORT: String(port),
      SPARKGATE_HUB_USERS: options.users.join(','),
      SPARKGATE_HUB_ADMINS: (options.admins ?? []).join(','),
      SPARKGATE_HUB_GROUPS: Object.entries(options.groups ?? {})
        .map(([g, members]) => `${g}=${members.join('+')}`)
        .join(','),
      SPARKGATE_HUB_ADMIN_TOKEN: adminToken,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const apiUrl = `http://127.0.0.1:${port}/hub/api`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(home, { recursive: true, force: true });
  };
  const api = (route: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${apiUrl}${route}`, { ...init, headers: { authorization: `token ${adminToken}`, 'content-type': 'application/json' } });
  try {
    const deadline = Date.now() + 90_000;
    while (child.exitCode === null && !(await api('/').then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error('timed out waiting for JupyterHub to answer');
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  if (child.exitCode !== null) {
    await stop();
    throw new Error(`JupyterHub exited (${child.exitCode}):\n${log}`);
  }
  return {
    apiUrl,
    child,
    log: () => log,
    async newToken(user) {
      const res = await api(`/users/${encodeURIComponent(user)}/tokens`, { method: 'POST', body: JSON.stringify({ note: 'sparkgate test' }) });
      if (!res.ok) throw new Error(`JupyterHub refused a token for ${user}: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { token: string; id: string };
      return { token: body.token, id: body.id };
    },
    async revokeToken(user, id) {
      const res = await api(`/users/${encodeURIComponent(user)}/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' });
      if (!res.ok) throw new Error(`JupyterHub refused to revoke ${id}: ${res.status} ${await res.text()}`);
    },
    stop,
  };
}
