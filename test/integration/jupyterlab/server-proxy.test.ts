/**
 * The server half of jupyterlab-sparkgate (jupyterlab-sparkgate/jupyterlab_sparkgate), without a
 * browser: JupyterLab 4 from .venv-jupyter (the extension installed by scripts/ensure-extension.sh)
 * in gateway mode in front of a sparkgate built as `sparkgate serve` builds it. Through Jupyter
 * Server's `{base}/sparkgate/...` routes: the terminals REST API and the terminado websocket (a
 * Python REPL, and a console attached to a kernel Jupyter started on the gateway), with
 * Jupyter's auth on every route (403 without it), closes passed both ways without leaving a
 * connection behind, and 404 with a clear message on a server that is not in gateway mode.
 */
import { KernelManager } from '@jupyterlab/services';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { startJupyterServer, type RunningJupyterServer } from '../../helpers/jupyter-server.js';
import { execute, waitFor } from '../../helpers/kernel-client.js';
import { startServeGateway, WsTerminal, type TerminalGateway } from '../terminals/terminal-helpers.js';
import { requireExtension, startLocalLab } from './lab-helpers.js';

let tg: TerminalGateway;
let lab: RunningJupyterServer;
/** A JupyterLab with the extension but no --gateway-url. */
let plainLab: Awaited<ReturnType<typeof startLocalLab>>;

beforeAll(async () => {
  requireExtension();
  tg = await startServeGateway({ logLevel: 'warn' });
  lab = await startJupyterServer({ kind: 'jupyter-server-2', gatewayUrl: tg.url, gatewayToken: tg.token });
  plainLab = await startLocalLab();
}, 180_000);

afterAll(async () => {
  await lab?.stop();
  await plainLab?.stop();
  await tg?.stop();
}, 60_000);

/** fetch against a Jupyter Server with its token (`token: null`: anonymous). */
function jupyter(server: { baseUrl: string; token: string }, route: string, init: RequestInit = {}, token: string | null = server.token): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) };
  if (token !== null) headers['authorization'] = `token ${token}`;
  return fetch(`${server.baseUrl}${route}`, { ...init, headers, redirect: 'manual' });
}

/** The proxied websocket, through the shared terminado client (its URL is `{url}/terminals/websocket/{name}?token=`). */
function openProxied(name: string, token = lab.token): Promise<WsTerminal> {
  return WsTerminal.open({ url: `${lab.baseUrl}/sparkgate`, token } as TestGateway, name);
}

/** The upgrade's answer when the websocket is refused. */
function refusedUpgrade(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.close();
      reject(new Error('websocket was accepted'));
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => undefined);
  });
}

describe('jupyterlab_sparkgate server proxy', () => {
  it('is loaded, in gateway mode', async () => {
    const res = await jupyter(lab, '/sparkgate/api/info');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ gateway_mode: true });
  });

  it('creates, lists, opens, and deletes a sparkgate terminal through Jupyter Server', async () => {
    // JupyterLab sends its file browser's directory; a path on this server means nothing on the gateway.
    const created = await jupyter(lab, '/sparkgate/api/terminals', { method: 'POST', body: JSON.stringify({ cwd: '/nowhere/on/the/gateway' }) });
    expect(created.status).toBe(200);
    const model = (await created.json()) as { name: string; kind: string };
    expect(model.kind).toBe('python');
    // It is sparkgate's terminal, not one of Jupyter Server's own.
    expect(tg.ext.terminals.find(model.name)).toBeDefined();
    expect(((await (await jupyter(lab, '/api/terminals')).json()) as { name: string }[]).map((t) => t.name)).not.toContain(model.name);

    const listed = (await (await jupyter(lab, '/sparkgate/api/terminals')).json()) as { name: string }[];
    expect(listed.map((t) => t.name)).toContain(model.name);
    expect(await (await jupyter(lab, `/sparkgate/api/terminals/${model.name}`)).json()).toMatchObject({ name: model.name, kind: 'python' });

    const t = await openProxied(model.name);
    await waitFor(() => tg.ext.terminals.get(model.name).connections === 1, 5_000, 'one connection on sparkgate');
    await t.expect('>>> ', 30_000);
    await t.run('print(6 * 7)', '42', 15_000);
    t.resize(30, 100);

    // The browser leaves: the gateway socket is closed too, and the REPL keeps running.
    t.close();
    await t.closed;
    await waitFor(() => tg.ext.terminals.get(model.name).connections === 0, 5_000, 'the proxied socket closed on sparkgate');
    expect(tg.ext.terminals.get(model.name).state).toBe('running');

    // Reconnect, then the gateway side ends it: the browser's socket is closed for it.
    const again = await openProxied(model.name);
    await again.run('print("still here")', 'still here', 15_000);
    const deleted = await jupyter(lab, `/sparkgate/api/terminals/${model.name}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    await again.closed;
    const gone = await jupyter(lab, `/sparkgate/api/terminals/${model.name}`);
    expect(gone.status).toBe(404);
    // sparkgate's own {message, reason}, passed through.
    expect(((await gone.json()) as { message: string }).message).toContain(model.name);
    expect(await refusedUpgrade(`${lab.baseUrl.replace('http', 'ws')}/sparkgate/terminals/websocket/${model.name}?token=${lab.token}`)).toBe(404);
  });

  it('attaches a terminal to a kernel Jupyter Server started on the gateway (kernel_id)', async () => {
    const km = new KernelManager({ serverSettings: lab.settings });
    const kernel = await km.startNew({ name: 'python3' });
    try {
      await execute(kernel, 'shared = 41');
      const res = await jupyter(lab, '/sparkgate/api/terminals', { method: 'POST', body: JSON.stringify({ kernel_id: kernel.id }) });
      expect(res.status).toBe(200);
      const model = (await res.json()) as { name: string; kind: string; kernel_id: string };
      expect(model).toMatchObject({ kind: 'attached', kernel_id: kernel.id });
      const t = await openProxied(model.name);
      await t.expect(/In \[\d+\]: $/, 60_000);
      await t.run('shared + 1', /Out\[\d+\]: 42/, 20_000);
      t.close();
      await jupyter(lab, `/sparkgate/api/terminals/${model.name}`, { method: 'DELETE' });

      // Executors of the kernel's session: none for a kernel without Spark.
      const executors = await jupyter(lab, `/sparkgate/api/sessions/${kernel.id}/executors`);
      expect(executors.status).toBe(200);
      expect(await executors.json()).toEqual([]);
    } finally {
      await kernel.shutdown();
      km.dispose();
    }
  }, 120_000);

  it("answers sparkgate's errors with sparkgate's status and message", async () => {
    const bad = await jupyter(lab, '/sparkgate/api/terminals', { method: 'POST', body: JSON.stringify({ kernel_id: '00000000-0000-4000-8000-000000000000' }) });
    expect(bad.status).toBe(404);
    expect(((await bad.json()) as { message: string }).message).toMatch(/00000000-0000-4000-8000-000000000000/);
    const notObject = await jupyter(lab, '/sparkgate/api/terminals', { method: 'POST', body: '[1]' });
    expect(notObject.status).toBe(400);
    const unknownSession = await jupyter(lab, '/sparkgate/api/sessions/not-a-session/executors');
    expect(unknownSession.status).toBe(404);
  });

  it('refuses requests without Jupyter credentials (403), and never uses the browser\'s for the gateway', async () => {
    for (const [route, method] of [
      ['/sparkgate/api/terminals', 'GET'],
      ['/sparkgate/api/terminals', 'POST'],
      ['/sparkgate/api/terminals/any', 'DELETE'],
      ['/sparkgate/api/sessions/00000000-0000-4000-8000-000000000000/executors', 'GET'],
    ] as const) {
      const res = await jupyter(lab, route, { method, ...(method === 'POST' ? { body: '{}' } : {}) }, null);
      expect(res.status, `${method} ${route}`).toBe(403);
    }
    // The gateway's token is not a Jupyter credential.
    expect((await jupyter(lab, '/sparkgate/api/terminals', {}, tg.token)).status).toBe(403);
    // The Spark UI is a page: an anonymous visitor is sent to Jupyter's login.
    const page = await jupyter(lab, '/sparkgate/sessions/00000000-0000-4000-8000-000000000000/ui/', {}, null);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toMatch(/\/login\?next=/);
    // The websocket too, before anything reaches the gateway.
    const model = (await (await jupyter(lab, '/sparkgate/api/terminals', { method: 'POST', body: '{}' })).json()) as { name: string };
    const wsBase = `${lab.baseUrl.replace('http', 'ws')}/sparkgate/terminals/websocket/${model.name}`;
    expect(await refusedUpgrade(wsBase)).toBe(403);
    expect(await refusedUpgrade(`${wsBase}?token=wrong`)).toBe(403);
    expect(tg.ext.terminals.get(model.name).connections).toBe(0);
    await jupyter(lab, `/sparkgate/api/terminals/${model.name}`, { method: 'DELETE' });
  });

  it('answers 404 with a message naming --gateway-url when Jupyter Server is not in gateway mode', async () => {
    expect(await (await jupyter(plainLab, '/sparkgate/api/info')).json()).toEqual({ gateway_mode: false });
    for (const route of ['/sparkgate/api/terminals', '/sparkgate/api/sessions/00000000-0000-4000-8000-000000000000/executors']) {
      const res = await jupyter(plainLab, route);
      expect(res.status, route).toBe(404);
      const body = (await res.json()) as { message: string };
      expect(body.message).toContain('not in gateway mode');
      expect(body.message).toContain('--gateway-url');
    }
    const ws = `${plainLab.baseUrl.replace('http', 'ws')}/sparkgate/terminals/websocket/spark-1?token=${plainLab.token}`;
    expect(await refusedUpgrade(ws)).toBe(404);
    // Jupyter Server's own local terminals are untouched by the extension.
    expect((await jupyter(plainLab, '/api/terminals')).status).toBe(200);
  });
});
