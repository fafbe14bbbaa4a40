/**
 * A real JupyterHub (PyPI jupyterhub, .venv-hub) as the identity source: its users' API tokens
 * work on the gateway end to end (REST and the kernel websocket through @jupyterlab/services),
 * Hub groups pick the team, the users file adds policy by name, a revoked token stops working
 * once the cache expires, and a Hub that is down is a clear 503 (never "let everyone in").
 */
import { KernelManager } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSettings } from '../../../src/runner/gateway-client.js';
import { startGateway, testGatewayConfig, type TestGateway } from '../../helpers/gateway.js';
import { startJupyterHub, type RunningHub } from '../../helpers/jupyterhub.js';
import { execute } from '../../helpers/kernel-client.js';
import { as, writeUsersFile } from './users-fixture.js';

let hub: RunningHub | undefined;
let tg: TestGateway | undefined;

beforeAll(async () => {
  hub = await startJupyterHub({ users: ['alice', 'bob', 'erin'], groups: { analytics: ['alice'] } });
  const { runtimeRoot } = testGatewayConfig();
  // Policy for Hub users by name: no tokens here, the Hub vouches for them.
  const { file } = writeUsersFile(runtimeRoot, {
    teams: { analytics: {} },
    users: [{ name: 'erin', admin: true, token: false }],
    defaults: { team: 'everyone' },
  });
  tg = await startGateway({ usersFile: file, jupyterhubApiUrl: hub.apiUrl, jupyterhubCacheSeconds: 1, token: '' });
}, 120_000);

afterAll(async () => {
  await tg?.stop();
  await hub?.stop();
});

describe('JupyterHub tokens', () => {
  it("a Hub user's token works end to end; the Hub group picks the team", async () => {
    const { token } = await hub!.newToken('alice');
    expect(await (await as(tg!.url, token, '/api/sparkgate/me')).json()).toMatchObject({
      name: 'alice',
      team: 'analytics',
      admin: false,
      source: 'jupyterhub',
    });
    const manager = new KernelManager({ serverSettings: makeSettings(tg!.url, token) });
    const kernel = await manager.startNew({ name: 'python3' });
    expect((await execute(kernel, 'print("hub", 1 + 1)')).stdout).toBe('hub 2\n');
    // bob (another Hub user, no team group: the default team) does not see it.
    const bob = (await hub!.newToken('bob')).token;
    expect(await (await as(tg!.url, bob, '/api/sparkgate/me')).json()).toMatchObject({ name: 'bob', team: 'everyone' });
    expect((await as(tg!.url, bob, `/api/kernels/${kernel.id}`)).status).toBe(404);
    // erin is an admin by the users file.
    const erin = (await hub!.newToken('erin')).token;
    expect((await as(tg!.url, erin, `/api/kernels/${kernel.id}`)).status).toBe(200);
    await kernel.shutdown();
    manager.dispose();
  }, 90_000);

  it('refuses tokens the Hub does not know, and revoked ones once the cache expires', async () => {
    expect((await as(tg!.url, 'made-up-token', '/api/kernels')).status).toBe(401);
    // Without a configured shared token, multi-user mode has none (no generated backdoor).
    expect(tg!.token).toBe('');
    const { token, id } = await hub!.newToken('bob');
    expect((await as(tg!.url, token, '/api/kernels')).status).toBe(200);
    await hub!.revokeToken('bob', id);
    await new Promise((r) => setTimeout(r, 1_500)); // jupyterhubCacheSeconds: 1
    expect((await as(tg!.url, token, '/api/kernels')).status).toBe(401);
  }, 30_000);

  it('a Hub that does not answer is a 503 naming it, not an open door', async () => {
    const { token } = await hub!.newToken('alice');
    await hub!.stop();
    const res = await as(tg!.url, token, '/api/kernels');
    expect(res.status).toBe(503);
    const body = (await res.json()) as { reason: string; message: string };
    expect(body.reason).toBe('identity_unavailable');
    expect(body.message).toContain(hub!.apiUrl);
  }, 30_000);
});
