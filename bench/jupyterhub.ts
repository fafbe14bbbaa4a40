/**
 * A real JupyterHub 6.1.1 (.venv-hub, requirements/jupyterhub.txt) for the users phase: the
 * identity source behind the gateway's JupyterHub lanes and the anchor of its uncached one
 * (`GET /hub/api/user`, what JupyterHub's own HubAuth asks per uncached request).
 *
 * Started like test/helpers/jupyterhub.ts, with the same config
 * (test/fixtures/jupyterhub/jupyterhub_config.py: dummy authenticator, no proxy, sqlite in its
 * home, an admin service whose token makes the users' tokens), but as a tracked bench process
 * (processes.ts): stopped with its phase, at the end, on error and on SIGINT/SIGTERM, and every
 * wait within a deadline of the caller's scope. The test helper spawns untracked and waits
 * without one, so the bench does not reuse it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../src/config.js';
import { WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import { BENCH_TMP_DIR, freePort, spawnTracked, stopTracked, type Tracked } from './processes.js';
import { HUB_PYTHON } from './python-envs.js';
import { log } from './target-results.js';
import { fetchText } from './waits.js';

const HUB_CONFIG = path.join(REPO_ROOT, 'test', 'fixtures', 'jupyterhub', 'jupyterhub_config.py');

export const JUPYTERHUB_LABEL = 'JupyterHub 6.1.1';

export interface BenchHubOptions {
  /** The Hub's users (the config's allowed_users, created at its start). */
  readonly users: readonly string[];
}

export class BenchHub {
  private constructor(
    /** http://127.0.0.1:PORT: the Hub's own port (no proxy in front). */
    readonly url: string,
    private readonly adminToken: string,
    private readonly proc: Tracked,
    /** The last few KB of its log, for the bench log when a phase on it failed. */
    readonly logTail: () => string,
  ) {}

  /** The REST API, what the gateway's jupyterhubApiUrl takes. */
  get apiUrl(): string {
    return `${this.url}/hub/api`;
  }

  get pid(): number {
    return this.proc.child.pid!;
  }

  /** Resolves once the Hub answers its API with the admin service's token. */
  static async start(scope: DeadlineScope, options: BenchHubOptions): Promise<BenchHub> {
    const home = path.join(BENCH_TMP_DIR, 'jupyterhub');
    mkdirSync(home, { recursive: true });
    const port = await freePort();
    const adminToken = `bench-hub-admin-${randomBytes(16).toString('hex')}`;
    // The environment the test helper gives it: nothing of the bench's (no JUPYTERHUB_* leaks in).
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      SPARKGATE_HUB_HOME: home,
      SPARKGATE_HUB_PORT: String(port),
      SPARKGATE_HUB_USERS: options.users.join(','),
      SPARKGATE_HUB_ADMINS: '',
      SPARKGATE_HUB_GROUPS: '',
      SPARKGATE_HUB_ADMIN_TOKEN: adminToken,
    };
    const proc = spawnTracked(JUPYTERHUB_LABEL, HUB_PYTHON, ['-m', 'jupyterhub', '-f', HUB_CONFIG], { cwd: home, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    // Drained, or the Hub would block on a full pipe (it logs every request at INFO).
    proc.child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
    });
    const hub = new BenchHub(`http://127.0.0.1:${port}`, adminToken, proc, () => stderr);
    try {
      await scope.poll(
        async (inner) => {
          if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new Error(`${JUPYTERHUB_LABEL} exited (${proc.child.exitCode ?? proc.child.signalCode})`);
          return hub.api(inner, '/', {}, 5_000).then(
            () => true,
            () => false,
          );
        },
        WAIT_MS.serverUp,
        `${JUPYTERHUB_LABEL} (pid ${proc.child.pid ?? '?'}) to answer ${hub.apiUrl}/`,
        200,
      );
    } catch (err) {
      await stopTracked(proc, 1_000);
      if (stderr.trim()) log(`${JUPYTERHUB_LABEL} log:\n${stderr.trim()}`);
      throw err;
    }
    return hub;
  }

  /** A new API token of `user`, made by the config's admin service (POST /users/{name}/tokens). */
  async newToken(scope: DeadlineScope, user: string): Promise<string> {
    const body = await this.api(scope, `/users/${encodeURIComponent(user)}/tokens`, { method: 'POST', body: JSON.stringify({ note: 'sparkgate bench' }) });
    return (JSON.parse(body) as { token: string }).token;
  }

  /** SIGTERM, SIGKILL after a grace period; safe twice. */
  stop(): Promise<void> {
    return stopTracked(this.proc, 10_000);
  }

  private api(scope: DeadlineScope, route: string, init: RequestInit = {}, baseMs: number = WAIT_MS.http): Promise<string> {
    const headers = { authorization: `token ${this.adminToken}`, 'content-type': 'application/json' };
    return fetchText(scope, `${this.apiUrl}${route}`, { ...init, headers }, { baseMs, what: `${JUPYTERHUB_LABEL}: ${init.method ?? 'GET'} /hub/api${route}` });
  }
}
