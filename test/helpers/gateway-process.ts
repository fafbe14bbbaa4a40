/**
 * `sparkgate serve` as a child process of the test (from source, through tsx), for tests that
 * SIGTERM or SIGKILL the gateway. Resolves once the banner names its URL and token.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { ServerConnection } from '@jupyterlab/services';
import { REPO_ROOT } from '../../src/config.js';
import { makeSettings } from '../../src/runner/gateway-client.js';
import { descendants } from '../soak/process-probe.js';
import { waitFor } from './kernel-client.js';

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly token: string;
  /** @jupyterlab/services settings for this gateway. */
  readonly settings: ServerConnection.ISettings;
  output(): string;
  /** fetch with the token header and a JSON content type. */
  api(route: string, init?: RequestInit): Promise<Response>;
  /** Signal the gateway and wait for it to exit (SIGKILL after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  /**
   * SIGKILL the gateway and every process below it at once (its kernels, their driver JVMs), as
   * an OOM kill or a lost node does to a pod's container: nobody gets to clean up.
   */
  killContainer(): Promise<void>;
}

export async function startGatewayProcess(env: Record<string, string>, options: { timeoutMs?: number } = {}): Promise<GatewayProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(REPO_ROOT, 'test/helpers/cli-entry.ts'), 'serve', '--port', '0'],
    {
      cwd: REPO_ROOT,
      // Usage records and logs in the test's temp space, not the machine's ~/.local/state.
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', SPARKGATE_STATE_DIR: path.join(os.tmpdir(), `sparkgate-test-state-${process.pid}`), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(() => /running at (\S+)/.test(out) || child.exitCode !== null, options.timeoutMs ?? 60_000, 'gateway banner');
  if (child.exitCode !== null) throw new Error(`gateway exited (${child.exitCode}):\n${out}`);
  const url = /running at (\S+)/.exec(out)![1]!;
  const token = env['SPARKGATE_TOKEN'] || /token: (\S+)/.exec(out)![1]!;
  return {
    child,
    url,
    token,
    settings: makeSettings(url, token),
    output: () => out,
    api: (route, init = {}) =>
      fetch(`${url}${route}`, {
        ...init,
        headers: { authorization: `token ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
      }),
    async killContainer() {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      const tree = [child.pid, ...descendants(child.pid)];
      for (const pid of tree) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exited;
    },
    async stop(signal = 'SIGTERM', timeoutMs = 120_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
