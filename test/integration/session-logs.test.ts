/**
 * Session logs through the real gateway with real ipykernel processes: the driver log (the
 * kernel process's stdout and stderr) with tail and follow, after the session ended, across a
 * restart, the errors (404, 400, executor logs in local mode), no descriptor or subscription left
 * behind by a client that hangs up, and `sparkgate logs`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KernelManager, type Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config.js';
import { DriverLogStore } from '../../src/logs/driver-log-store.js';
import type { ExecutorLogSource } from '../../src/logs/executor-log-source.js';
import { api, startGateway, type TestGateway } from '../helpers/gateway.js';
import { execute, waitFor } from '../helpers/kernel-client.js';
import { as, writeUsersFile } from './users/users-fixture.js';

const CLI = path.join(REPO_ROOT, 'test', 'helpers', 'cli-entry.ts');

let tg: TestGateway;
let km: KernelManager;
let stateDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-state-'));
  tg = await startGateway({ stateDir, kernelRestartLimit: 0 });
  km = new KernelManager({ serverSettings: tg.settings });
}, 60_000);

afterAll(async () => {
  km?.dispose();
  await tg?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

async function startKernel(): Promise<Kernel.IKernelConnection> {
  const kernel = await km.startNew({ name: 'plain-python' });
  await kernel.info;
  return kernel;
}

const logsRoute = (id: string, query = '') => `/api/sparkgate/sessions/${id}/logs${query ? `?${query}` : ''}`;

async function logText(id: string, query = ''): Promise<string> {
  const res = await api(tg, logsRoute(id, query));
  expect(res.status).toBe(200);
  return res.text();
}

/** The log once it contains `text` (kernel output reaches the gateway through a pipe, unsynchronized with replies). */
async function logContaining(id: string, text: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = await logText(id);
    if (log.includes(text)) return log;
    if (Date.now() > deadline) throw new Error(`the log of ${id} never showed ${JSON.stringify(text)}; it has: ${JSON.stringify(log.slice(-500))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Python that writes to the kernel process's own fd (1 or 2), not to the notebook. */
const writeFd = (fd: 1 | 2, text: string) => `import os; os.write(${fd}, ${JSON.stringify(text)}.encode())`;

/** A streamed response read as it arrives. */
function reader(res: Response): { text: () => string; done: Promise<void> } {
  let text = '';
  const decoder = new TextDecoder();
  const done = (async () => {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true });
  })();
  return { text: () => text, done };
}

function logFile(id: string): string {
  return path.join(DriverLogStore.dirIn(stateDir), `${id}.log`);
}

/** Descriptors of this process (the gateway runs in it) open on `file`. */
function openDescriptorsOf(file: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  }).length;
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'logs', ...args, '--url', tg.url, '--token', tg.token], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('GET /api/sparkgate/sessions/{id}/logs (driver)', () => {
  it("serves the kernel process's stdout and stderr as plain text, all of it or its tail", async () => {
    const kernel = await startKernel();
    await execute(kernel, writeFd(2, 'hello-driver-log\n'));
    await execute(kernel, writeFd(1, 'tail-1\ntail-2\n'));
    // The pipe from the kernel process may deliver after the execute_reply: wait for the log.
    await logContaining(kernel.id, 'tail-2\n');
    const res = await api(tg, logsRoute(kernel.id));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const all = await res.text();
    expect(all).toContain('hello-driver-log\n');
    expect(all.indexOf('hello-driver-log')).toBeLessThan(all.indexOf('tail-1'));
    expect(await logText(kernel.id, 'tail=2')).toBe('tail-1\ntail-2\n');
    expect(await logText(kernel.id, 'tail=0')).toBe('');
    await kernel.shutdown();
  });

  it('follow: new output as it is written, until the kernel shuts down; then the log is still there', async () => {
    const kernel = await startKernel();
    const res = await api(tg, logsRoute(kernel.id, 'follow=true&tail=0'));
    expect(res.status).toBe(200);
    const stream = reader(res);
    await execute(kernel, writeFd(2, 'followed-line\n'));
    await waitFor(() => stream.text().includes('followed-line\n'), 10_000, 'the followed line');
    await km.shutdown(kernel.id);
    await stream.done; // the stream ends with the session
    expect(stream.text()).toMatch(/followed-line\n[\s\S]*\[sparkgate: session ended at \S+\]\n$/);

    // Ended: served while retained; follow returns what is there and ends.
    const after = await logText(kernel.id);
    expect(after).toContain('followed-line\n');
    expect(after).toMatch(/session ended at/);
    expect(await logText(kernel.id, 'follow=true')).toBe(after);
    expect(openDescriptorsOf(logFile(kernel.id))).toBe(0);
  });

  it('a restart appends to the same log behind a separator', async () => {
    const kernel = await startKernel();
    await execute(kernel, writeFd(2, 'before-restart\n'));
    await logContaining(kernel.id, 'before-restart\n');
    await kernel.restart();
    await execute(kernel, writeFd(2, 'after-restart\n'));
    const text = await logContaining(kernel.id, 'after-restart\n');
    expect(text).toMatch(/before-restart\n[\s\S]*\[sparkgate: kernel process restarted at \S+\]\n[\s\S]*after-restart\n/);
    await kernel.shutdown();
  });

  it('a client that hangs up mid-follow leaves no descriptor or subscription behind', async () => {
    const kernel = await startKernel();
    await execute(kernel, writeFd(2, 'x\n'));
    const followers = () => tg.gateway.driverLogs.readerCount(kernel.id);
    for (let i = 0; i < 5; i++) {
      const hangUp = new AbortController();
      const res = await api(tg, logsRoute(kernel.id, 'follow=true'), { signal: hangUp.signal });
      const stream = reader(res);
      await waitFor(() => stream.text().includes('x\n'), 10_000, 'the log so far');
      expect(followers()).toBe(1);
      hangUp.abort();
      await stream.done.catch(() => undefined);
      await waitFor(() => followers() === 0, 5_000, 'the follower to go');
    }
    await waitFor(() => openDescriptorsOf(logFile(kernel.id)) === 0, 5_000, 'no descriptor on the log');
    await kernel.shutdown();
  });

  it('errors: unknown session 404, bad parameters 400, executor logs in local mode 404; all {message, reason}', async () => {
    const kernel = await startKernel();
    const unknown = await api(tg, logsRoute('0e1b2c3d-0000-4000-8000-000000000000'));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: expect.stringMatching(/does not exist/), reason: expect.any(String) });
    expect((await api(tg, logsRoute('not-a-uuid'))).status).toBe(404);
    expect((await api(tg, '/api/sparkgate/sessions/0e1b2c3d-0000-4000-8000-000000000000/logs/executors')).status).toBe(404);

    for (const [query, pattern] of [
      ['tail=-1', /tail: must be a number of lines/],
      ['tail=abc', /tail/],
      ['tail=100001', /at most 100000/],
      ['source=stdout', /source: must be "driver" or "executor"/],
      ['source=executor', /executor: is required with source=executor/],
      ['source=driver&executor=1', /executor: goes with source=executor/],
      ['executor=x', /executor: must be an executor id/],
      ['follow=maybe', /follow/],
      ['tail=1&tail=2', /more than once/],
    ] as const) {
      const res = await api(tg, logsRoute(kernel.id, query));
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { message: string; reason: string };
      expect(body.reason).toBe('bad_request');
      expect(body.message, query).toMatch(pattern);
    }

    const executor = await api(tg, logsRoute(kernel.id, 'source=executor&executor=1'));
    expect(executor.status).toBe(404);
    expect(((await executor.json()) as { message: string }).message).toMatch(/Executor logs need Kubernetes mode/);
    const list = await api(tg, `/api/sparkgate/sessions/${kernel.id}/logs/executors`);
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual([]);
    // The token is not a parameter of ours: ?token= works like the header.
    const withToken = await fetch(`${tg.url}${logsRoute(kernel.id, `tail=1&token=${tg.token}`)}`);
    expect(withToken.status).toBe(200);
    await kernel.shutdown();
  });
});

describe('sparkgate logs', () => {
  it('prints the log or its tail and exits 0; -f follows until the kernel shuts down; errors exit non-zero', async () => {
    const kernel = await startKernel();
    await execute(kernel, writeFd(1, 'cli-1\ncli-2\ncli-3\n'));
    await logContaining(kernel.id, 'cli-3\n');
    const tail = await runCli([kernel.id, '--tail', '2']);
    expect(tail).toEqual({ code: 0, stdout: 'cli-2\ncli-3\n', stderr: '' });

    const followed = runCli([kernel.id, '-f', '--tail', '0']);
    await waitFor(() => tg.gateway.driverLogs.readerCount(kernel.id) === 1, 20_000, 'the CLI following');
    await execute(kernel, writeFd(2, 'cli-followed\n'));
    await logContaining(kernel.id, 'cli-followed\n');
    await km.shutdown(kernel.id);
    const result = await followed;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^cli-followed\n[\s\S]*session ended at/);

    const missing = await runCli(['0e1b2c3d-0000-4000-8000-000000000000']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/^sparkgate: 404 Session does not exist/);
    expect(missing.stdout).toBe('');
    const local = await runCli([kernel.id, '--executor', '1']);
    expect(local.code).not.toBe(0);
    expect(local.stderr).toMatch(/Executor logs need Kubernetes mode/);
    const bad = await runCli([kernel.id, '--tail', 'lots']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--tail must be a number of lines/);
  }, 90_000);
});

describe('ownership', () => {
  it("another user's session logs are 404 (as if they did not exist); an admin reads them", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-users-'));
    const { file, users } = writeUsersFile(dir, { users: [{ name: 'alice' }, { name: 'bob' }, { name: 'carol', admin: true }] });
    const multi = await startGateway({ stateDir: dir, usersFile: file });
    try {
      const [alice, bob, carol] = [users['alice']!, users['bob']!, users['carol']!];
      const started = await as(multi.url, alice.token, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'plain-python' }) });
      expect(started.status).toBe(201);
      const id = String(((await started.json()) as { id: string }).id);
      const routes = [logsRoute(id), logsRoute(id, 'follow=true'), logsRoute(id, 'source=executor&executor=1'), `/api/sparkgate/sessions/${id}/logs/executors`];
      const unknown = await (await as(multi.url, bob.token, logsRoute('0e1b2c3d-0000-4000-8000-000000000000'))).json();
      for (const route of routes) {
        const res = await as(multi.url, bob.token, route);
        expect(res.status, route).toBe(404);
        // The same body as for an id that does not exist, but for the id itself.
        const body = (await res.json()) as { message: string; reason: string };
        expect(body.reason).toBe((unknown as { reason: string }).reason);
        expect(body.message).toBe(String((unknown as { message: string }).message).replace('0e1b2c3d-0000-4000-8000-000000000000', id));
      }
      expect((await as(multi.url, alice.token, logsRoute(id))).status).toBe(200);
      expect((await as(multi.url, carol.token, logsRoute(id))).status).toBe(200);
      expect((await as(multi.url, carol.token, `/api/kernels/${id}`, { method: 'DELETE' })).status).toBe(204);
    } finally {
      await multi.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('executor logs (an ExecutorLogSource, as Kubernetes mode gives the route)', () => {
  it('lists executors, serves one with tail, 404 for an unknown one, and lets go of a follow when the client leaves', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-state-'));
    const released: string[] = [];
    const source: ExecutorLogSource = {
      async executors(sessionId) {
        return [{ id: '1', pod: `exec-${sessionId.slice(0, 8)}-1`, namespace: 'spark', live: true, endedAt: null }];
      },
      async read(_sessionId, executorId, { tail, follow, signal }) {
        if (executorId !== '1') return undefined;
        const archived = ['e1\n', 'e2\n', 'e3\n'];
        return (async function* () {
          yield* tail === undefined ? archived : archived.slice(archived.length - tail);
          if (!follow) return;
          yield 'live\n';
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          released.push(executorId);
        })();
      },
    };
    const k8s = await startGateway({ stateDir: dir }, { executorLogs: source });
    try {
      const started = await api(k8s, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'plain-python' }) });
      const id = String(((await started.json()) as { id: string }).id);
      const list = await api(k8s, `/api/sparkgate/sessions/${id}/logs/executors`);
      expect(await list.json()).toEqual([{ id: '1', pod: `exec-${id.slice(0, 8)}-1`, namespace: 'spark', live: true, endedAt: null }]);
      const all = await api(k8s, logsRoute(id, 'executor=1'));
      expect(all.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await all.text()).toBe('e1\ne2\ne3\n');
      expect(await (await api(k8s, logsRoute(id, 'source=executor&executor=1&tail=1'))).text()).toBe('e3\n');
      const unknown = await api(k8s, logsRoute(id, 'executor=2'));
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as { message: string }).message).toMatch(/has no executor 2 \(GET \/api\/sparkgate\/sessions\/\S+\/logs\/executors lists them\)/);

      const hangUp = new AbortController();
      const res = await api(k8s, logsRoute(id, 'executor=1&follow=true&tail=0'), { signal: hangUp.signal });
      const stream = reader(res);
      await waitFor(() => stream.text() === 'live\n', 10_000, 'the live line');
      expect(released).toEqual([]);
      hangUp.abort();
      await stream.done.catch(() => undefined);
      await waitFor(() => released.length === 1, 5_000, 'the source to see the client leave');
      await api(k8s, `/api/kernels/${id}`, { method: 'DELETE' });
    } finally {
      await k8s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
