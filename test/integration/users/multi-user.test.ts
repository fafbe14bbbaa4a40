/**
 * Two users and an admin on one gateway (a users file with hashed tokens), real kernels and
 * terminals: every route answers another user's kernel, session or terminal exactly as if it did
 * not exist (404), admins see and manage everything, a trusted client (a shared Jupyter Server)
 * starts kernels for the user its KERNEL_USERNAME names, and per-user and per-team limits refuse
 * with 403 naming the limit.
 */
import { randomUUID } from 'node:crypto';
import { KernelManager } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSettings } from '../../../src/runner/gateway-client.js';
import { testGatewayConfig } from '../../helpers/gateway.js';
import { execute } from '../../helpers/kernel-client.js';
import { startServeGateway, type TerminalGateway } from '../terminals/terminal-helpers.js';
import { as, upgradeStatus, writeUsersFile, type TestUser } from './users-fixture.js';

let tg: TerminalGateway;
let alice: TestUser, bob: TestUser, carol: TestUser, hubServer: TestUser, dave: TestUser;
let aliceKernel: string;
let aliceSession: string;
let aliceTerminal: string;

const call = (user: TestUser, route: string, init: RequestInit = {}) => as(tg.url, user.token, route, init);
const json = async (res: Response) => (await res.json()) as Record<string, unknown>;

beforeAll(async () => {
  const { runtimeRoot } = testGatewayConfig();
  const { file, users } = writeUsersFile(runtimeRoot, {
    teams: { analytics: {}, ml: { limits: { maxMemory: '512m' } } },
    users: [
      { name: 'alice', team: 'analytics' },
      { name: 'bob', team: 'ml' },
      { name: 'carol', admin: true },
      { name: 'jupyter-server', trusted: true },
      { name: 'dave', limits: { maxSessions: 1, maxCores: 0 } },
    ],
  });
  const user = (name: string): TestUser => users[name]!;
  [alice, bob, carol, hubServer, dave] = [user('alice'), user('bob'), user('carol'), user('jupyter-server'), user('dave')];
  tg = await startServeGateway({ usersFile: file });
  const k = await call(alice, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'python3' }) });
  expect(k.status).toBe(201);
  aliceKernel = String((await json(k))['id']);
  const s = await call(alice, '/api/sessions', { method: 'POST', body: JSON.stringify({ path: 'a.ipynb', type: 'notebook', kernel: { id: aliceKernel } }) });
  expect(s.status).toBe(201);
  aliceSession = String((await json(s))['id']);
  const t = await call(alice, '/api/terminals', { method: 'POST', body: '{}' });
  expect(t.status).toBe(200);
  aliceTerminal = String((await json(t))['name']);
}, 120_000);

afterAll(async () => {
  await tg?.stop();
});

describe('identity', () => {
  it('knows each token and refuses others (401)', async () => {
    const me = await json(await call(alice, '/api/sparkgate/me'));
    expect(me).toMatchObject({ name: 'alice', team: 'analytics', admin: false, source: 'users-file', multi_user: true });
    expect((await json(await call(carol, '/api/sparkgate/me')))['admin']).toBe(true);
    expect((await as(tg.url, 'not-a-token', '/api/kernels')).status).toBe(401);
    expect((await fetch(`${tg.url}/api/kernels`)).status).toBe(401);
    // The operator's shared token (set in the config) is the admin of single-user mode.
    expect(await json(await as(tg.url, tg.token, '/api/sparkgate/me'))).toMatchObject({ name: 'sparkgate', admin: true, source: 'shared-token' });
  });

  it('the owner works with their kernel through @jupyterlab/services', async () => {
    const manager = new KernelManager({ serverSettings: makeSettings(tg.url, alice.token) });
    const kernel = manager.connectTo({ model: { id: aliceKernel, name: 'python3' } });
    const result = await execute(kernel, 'print(6 * 7)');
    expect(result.stdout).toBe('42\n');
    kernel.dispose();
    manager.dispose();
  });
});

describe("another user's kernel, session and terminal do not exist for bob", () => {
  const missingKernel = randomUUID();

  it('kernels: list, get, interrupt, restart, delete, websocket', async () => {
    const list = (await (await call(bob, '/api/kernels')).json()) as { id: string }[];
    expect(list.map((k) => k.id)).not.toContain(aliceKernel);
    const other = await call(bob, `/api/kernels/${aliceKernel}`);
    const none = await call(bob, `/api/kernels/${missingKernel}`);
    expect(other.status).toBe(404);
    expect(none.status).toBe(404);
    // Same answer as for an id that never existed: nothing tells bob the kernel is there.
    expect((await json(other))['reason']).toBe((await json(none))['reason']);
    for (const [method, route] of [
      ['POST', `/api/kernels/${aliceKernel}/interrupt`],
      ['POST', `/api/kernels/${aliceKernel}/restart`],
      ['DELETE', `/api/kernels/${aliceKernel}`],
    ] as const) {
      const res = await call(bob, route, { method });
      expect(res.status, `${method} ${route}`).toBe(404);
      expect((await json(res))['reason']).toBe('kernel_not_found');
    }
    const ws = `${tg.url.replace(/^http/, 'ws')}/api/kernels/${aliceKernel}/channels`;
    expect(await upgradeStatus(`${ws}?token=${bob.token}`)).toBe(404);
    expect(await upgradeStatus(`${ws}?token=${alice.token}`)).toBe(101);
  });

  it('sessions: list, get, patch, delete, and binding her kernel', async () => {
    const list = (await (await call(bob, '/api/sessions')).json()) as { id: string }[];
    expect(list.map((s) => s.id)).not.toContain(aliceSession);
    expect((await call(bob, `/api/sessions/${aliceSession}`)).status).toBe(404);
    expect((await call(bob, `/api/sessions/${aliceSession}`, { method: 'PATCH', body: JSON.stringify({ path: 'stolen.ipynb' }) })).status).toBe(404);
    expect((await call(bob, `/api/sessions/${aliceSession}`, { method: 'DELETE' })).status).toBe(404);
    const bind = await call(bob, '/api/sessions', { method: 'POST', body: JSON.stringify({ path: 'b.ipynb', type: 'notebook', kernel: { id: aliceKernel } }) });
    expect(bind.status).toBe(404);
    // The same path is bob's own session, not alice's.
    const own = await call(bob, '/api/sessions', { method: 'POST', body: JSON.stringify({ path: 'a.ipynb', type: 'notebook', kernel: { name: 'python3' } }) });
    expect(own.status).toBe(201);
    const body = await json(own);
    expect(body['id']).not.toBe(aliceSession);
    expect((await call(bob, `/api/sessions/${String(body['id'])}`, { method: 'DELETE' })).status).toBe(204);
  }, 60_000);

  it('terminals: list, get, delete, websocket, and attaching to her kernel', async () => {
    const list = (await (await call(bob, '/api/terminals')).json()) as { name: string }[];
    expect(list.map((t) => t.name)).not.toContain(aliceTerminal);
    expect((await call(bob, `/api/terminals/${aliceTerminal}`)).status).toBe(404);
    expect((await call(bob, `/api/terminals/${aliceTerminal}`, { method: 'DELETE' })).status).toBe(404);
    const ws = `${tg.url.replace(/^http/, 'ws')}/terminals/websocket/${aliceTerminal}`;
    expect(await upgradeStatus(`${ws}?token=${bob.token}`)).toBe(404);
    expect(await upgradeStatus(`${ws}?token=${alice.token}`)).toBe(101);
    const attach = await call(bob, '/api/terminals', { method: 'POST', body: JSON.stringify({ kernel_id: aliceKernel }) });
    expect(attach.status).toBe(404);
    expect((await call(alice, `/api/terminals/${aliceTerminal}`)).status).toBe(200);
  });

  it('the Spark routes: executors and the UI proxy', async () => {
    for (const route of [`/api/sparkgate/sessions/${aliceKernel}/executors`, `/api/sparkgate/sessions/${aliceKernel}/ui/`, `/api/sparkgate/sessions/${aliceKernel}/ui`]) {
      const res = await call(bob, route, { redirect: 'manual' });
      expect(res.status, route).toBe(404);
      expect((await json(res))['reason'], route).toBe('kernel_not_found');
    }
    // Alice gets past ownership: an empty executor list; the UI of a non-Spark session is a clear 404.
    expect(await (await call(alice, `/api/sparkgate/sessions/${aliceKernel}/executors`)).json()).toEqual([]);
    const ui = await call(alice, `/api/sparkgate/sessions/${aliceKernel}/ui/`);
    expect(ui.status).toBe(404);
    expect(String((await json(ui))['message'])).toMatch(/not a Spark session/);
  });

  it('logs and usage', async () => {
    for (const route of [`/api/sparkgate/sessions/${aliceKernel}/logs`, `/api/sparkgate/sessions/${aliceKernel}/logs/executors`]) {
      expect((await call(bob, route)).status, route).toBe(404);
      expect((await call(alice, route)).status, route).toBe(200);
      expect((await call(carol, route)).status, route).toBe(200);
    }
    type Usage = { rows: { session?: string; user?: string }[] };
    const users = async (u: TestUser, q = '') => ((await (await call(u, `/api/sparkgate/usage?group_by=user${q}`)).json()) as Usage).rows.map((r) => r.user);
    // Rows are sessions that used Spark resources (none here: python3 kernels); the figures are
    // proved in test/integration/spark/usage-metering.test.ts and the control-plane tier. What
    // matters here: nobody gets rows of another user, and naming one is 404.
    for (const u of [alice, bob]) for (const name of await users(u)) expect(name).toBe(u.name);
    expect((await call(bob, '/api/sparkgate/usage?user=alice')).status).toBe(404);
    expect((await call(carol, '/api/sparkgate/usage?user=alice')).status).toBe(200);
  });

  it('the session list: her sessions for her, none for bob, everyone for the admin', async () => {
    type Row = { id: string; user: string; team: string; kind: string; ended: string | null };
    const mine = (await (await call(alice, '/api/sparkgate/sessions')).json()) as Row[];
    expect(mine.find((r) => r.id === aliceKernel)).toMatchObject({ user: 'alice', team: 'analytics', kind: 'kernel', ended: null });
    expect(((await (await call(bob, '/api/sparkgate/sessions')).json()) as Row[]).some((r) => r.user === 'alice')).toBe(false);
    expect(((await (await call(carol, '/api/sparkgate/sessions?state=live')).json()) as Row[]).map((r) => r.id)).toContain(aliceKernel);
    expect((await call(carol, '/api/sparkgate/sessions?state=bogus')).status).toBe(400);
  });

  it('status and metrics', async () => {
    expect((await json(await call(bob, '/api/status')))['kernels']).toBe(0);
    expect((await call(bob, '/metrics')).status).toBe(403);
    expect((await call(carol, '/metrics')).status).toBe(200);
  });
});

describe('admins and trusted clients', () => {
  it('an admin sees everyone and can shut down any kernel', async () => {
    const k = await call(bob, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'python3' }) });
    const bobKernel = String((await json(k))['id']);
    const seen = ((await (await call(carol, '/api/kernels')).json()) as { id: string }[]).map((x) => x.id);
    expect(seen).toEqual(expect.arrayContaining([aliceKernel, bobKernel]));
    expect(((await (await call(carol, '/api/terminals')).json()) as { name: string }[]).map((t) => t.name)).toContain(aliceTerminal);
    expect(((await (await call(carol, '/api/sessions')).json()) as { id: string }[]).map((s) => s.id)).toContain(aliceSession);
    expect((await call(carol, `/api/kernels/${bobKernel}`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(bob, `/api/kernels/${bobKernel}`)).status).toBe(404);
  }, 60_000);

  it('a trusted client starts kernels for the user KERNEL_USERNAME names; anyone else\'s KERNEL_USERNAME is not honoured', async () => {
    const start = await call(hubServer, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'python3', env: { KERNEL_USERNAME: 'alice' } }) });
    expect(start.status).toBe(201);
    const id = String((await json(start))['id']);
    expect((await call(alice, `/api/kernels/${id}`)).status).toBe(200);
    expect((await call(hubServer, `/api/kernels/${id}`)).status).toBe(200);
    expect((await call(bob, `/api/kernels/${id}`)).status).toBe(404);
    // Anyone else's KERNEL_USERNAME is no claim (Jupyter Server sends the OS user's): the kernel
    // is the caller's, and its KERNEL_USERNAME says so.
    const claimed = await call(bob, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'python3', env: { KERNEL_USERNAME: 'alice' } }) });
    expect(claimed.status).toBe(201);
    const claimedId = String((await json(claimed))['id']);
    expect((await call(alice, `/api/kernels/${claimedId}`)).status).toBe(404);
    const manager = new KernelManager({ serverSettings: makeSettings(tg.url, bob.token) });
    const kernel = manager.connectTo({ model: { id: claimedId, name: 'python3' } });
    expect((await execute(kernel, 'import os; print(os.environ["KERNEL_USERNAME"])')).stdout).toBe('bob\n');
    kernel.dispose();
    manager.dispose();
    // The trusted client's kernel for alice says alice.
    const forAlice = new KernelManager({ serverSettings: makeSettings(tg.url, alice.token) });
    const aliceView = forAlice.connectTo({ model: { id, name: 'python3' } });
    expect((await execute(aliceView, 'import os; print(os.environ["KERNEL_USERNAME"])')).stdout).toBe('alice\n');
    aliceView.dispose();
    forAlice.dispose();
    const self = await call(bob, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'python3', env: { KERNEL_USERNAME: 'bob' } }) });
    expect(self.status).toBe(201);
    for (const kid of [id, claimedId, String((await json(self))['id'])]) expect((await call(carol, `/api/kernels/${kid}`, { method: 'DELETE' })).status).toBe(204);
  }, 60_000);
});

describe('limits', () => {
  it('per user: maxSessions and maxCores refuse with 403 naming the limit', async () => {
    const first = await call(dave, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'python3' }) });
    expect(first.status).toBe(201);
    const second = await call(dave, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'python3' }) });
    expect(second.status).toBe(403);
    const body = await json(second);
    expect(body['reason']).toBe('quota_exceeded');
    expect(String(body['message'])).toContain('limit: user dave maxSessions');
    // A terminal with its own session counts too.
    const term = await call(dave, '/api/terminals', { method: 'POST', body: JSON.stringify({ kernelspec: 'pyspark' }) });
    expect(term.status).toBe(403);
    expect(String((await json(term))['message'])).toContain('user dave maxSessions');
    // Ending the session frees the slot.
    expect((await call(dave, `/api/kernels/${String((await json(first))['id'])}`, { method: 'DELETE' })).status).toBe(204);
    const cores = await call(dave, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'pyspark' }) });
    expect(cores.status).toBe(403);
    expect(String((await json(cores))['message'])).toContain('limit: user dave maxCores');
    const again = await call(dave, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'python3' }) });
    expect(again.status).toBe(201);
    expect((await call(dave, `/api/kernels/${String((await json(again))['id'])}`, { method: 'DELETE' })).status).toBe(204);
  }, 60_000);

  it('per team: a Spark session over the team memory limit is refused before anything starts', async () => {
    const res = await call(bob, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'pyspark' }) });
    expect(res.status).toBe(403);
    const body = await json(res);
    expect(body['reason']).toBe('quota_exceeded');
    expect(String(body['message'])).toContain('limit: team ml maxMemory');
    // Nothing was started for it.
    expect((await json(await call(carol, '/api/status')))['kernels']).toBe(1);
  });
});
