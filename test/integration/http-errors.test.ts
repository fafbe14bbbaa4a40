/**
 * Every error answer has the documented shape `{message, reason}`, including the ones produced
 * before any route runs (Node's parser, fastify's router, @fastify/websocket's upgrade path),
 * and a bug in one connection's handler closes that connection only (1011), not the gateway.
 */
import { KernelManager } from '@jupyterlab/services';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernel } from '../../src/kernels/kernel.js';
import { buildRequest, rawRequest } from '../fuzz/raw-http.js';
import { api, startGateway, type TestGateway } from '../helpers/gateway.js';
import { execute } from '../helpers/kernel-client.js';

let tg: TestGateway;
let port: number;
let kernelId: string;

beforeAll(async () => {
  tg = await startGateway({ maxConnectionsPerSession: 3 });
  port = Number(new URL(tg.url).port);
  kernelId = ((await (await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'python3' }) })).json()) as { id: string }).id;
});

afterAll(async () => {
  await tg?.stop();
});

const auth = (): [string, string] => ['Authorization', `token ${tg.token}`];
const wsHeaders = (key = 'dGhlIHNhbXBsZSBub25jZQ=='): [string, string][] => [auth(), ['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Version', '13'], ['Sec-WebSocket-Key', key]];

describe('error shape before routing', () => {
  it.each([
    ['headers over 16 KiB', 'GET', '/api', () => [auth(), ['X-Big', 'a'.repeat(20_000)]], 431, 'header_too_large'],
    ['an id over maxParamLength', 'GET', `/api/kernels/${'a'.repeat(300)}`, () => [auth()], 414, 'uri_too_long'],
    ['a URL that is not percent-encoded UTF-8', 'GET', '/api/kernels/%ff%fe', () => [auth()], 400, 'bad_url'],
    ['an invalid Content-Type', 'POST', '/api/kernels', () => [auth(), ['Content-Type', ';;;']], 415, 'unsupported_media_type'],
    ['a plain GET on the kernel websocket route', 'GET', '/api/kernels/KERNEL/channels', () => [auth()], 400, 'websocket_required'],
    ['a websocket upgrade on a plain route', 'GET', '/api/kernels', () => wsHeaders(), 400, 'websocket_not_supported'],
    ['a websocket handshake without a valid key', 'GET', '/api/kernels/KERNEL/channels', () => wsHeaders('short'), 400, 'bad_websocket_handshake'],
    ['JSON nested 10,000 levels', 'POST', '/api/kernels', () => [auth()], 400, 'invalid_json'],
  ] as const)('%s', async (_what, method, path, headers, status, reason) => {
    const body = reason === 'invalid_json' ? Buffer.from('['.repeat(10_000) + ']'.repeat(10_000)) : method === 'POST' ? Buffer.from('{}') : undefined;
    const res = await rawRequest(port, buildRequest({ method, path: path.replace('KERNEL', kernelId), headers: headers() as [string, string][], ...(body ? { body } : {}) }));
    expect(res?.status).toBe(status);
    expect(JSON.parse(res!.body)).toEqual({ message: expect.any(String), reason });
  });

  it('malformed HTTP and a missing Host header get the shape too', async () => {
    const garbage = await rawRequest(port, Buffer.from('FOO BAR\r\n\r\n'));
    expect(garbage?.status).toBe(400);
    expect(JSON.parse(garbage!.body)).toEqual({ message: expect.any(String), reason: 'bad_request' });
    const noHost = await rawRequest(port, Buffer.from(`GET /nope HTTP/1.1\r\nAuthorization: token ${tg.token}\r\nConnection: close\r\n\r\n`));
    expect(noHost?.status).toBe(404);
    expect(JSON.parse(noHost!.body).reason).toBe('not_found');
  });

  it('messages never echo control characters or long URLs back', async () => {
    const res = await rawRequest(port, buildRequest({ method: 'GET', path: `/api/kernels/%01%1b[31m`, headers: [auth()] }));
    expect(res?.status).toBe(404);
    expect(JSON.parse(res!.body).message).not.toMatch(/[\u0000-\u001f]/);
    const long = await rawRequest(port, buildRequest({ method: 'GET', path: `/${'x'.repeat(10_000)}`, headers: [auth()] }));
    expect(JSON.parse(long!.body).message.length).toBeLessThan(300);
  });
});

describe('a bug in one connection handler', () => {
  it('closes that websocket with 1011 and logs the kernel id; the kernel and other connections carry on', async () => {
    const kernel = tg.gateway.kernels.find(kernelId) as Kernel;
    const original = kernel.noteClientActivity.bind(kernel);
    // A handler bug, injected: the next client message makes the gateway's own code throw.
    let armed = true;
    kernel.noteClientActivity = () => {
      if (armed) {
        armed = false;
        throw new Error('injected handler bug');
      }
      original();
    };
    const manager = new KernelManager({ serverSettings: tg.settings });
    const healthy = manager.connectTo({ model: { id: kernelId, name: 'python3' } });
    await execute(healthy, 'y = 1');

    const victim = new WebSocket(`${tg.url.replace(/^http/, 'ws')}/api/kernels/${kernelId}/channels?token=${tg.token}`);
    await new Promise((r) => victim.once('open', r));
    armed = true;
    const code = await new Promise<number>((resolve) => {
      victim.once('close', (c) => resolve(c));
      victim.send(JSON.stringify({ channel: 'shell', header: { msg_id: 'a', msg_type: 'kernel_info_request', session: 's', username: 'u', version: '5.3', date: '' }, parent_header: {}, metadata: {}, content: {} }));
    });
    expect(code).toBe(1011);
    const line = tg.logLines.find((l) => l.includes('handler failed'));
    expect(line).toContain(kernelId);
    expect(line).toContain('injected handler bug');
    expect((await execute(healthy, 'y + 1')).results[0]?.['text/plain']).toBe('2');
    healthy.dispose();
    manager.dispose();
  });
});

describe('websockets per session', () => {
  it('refuses a connection past maxConnectionsPerSession with 403 max_connections, but lets a reconnect replace its own', async () => {
    const id = ((await (await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'python3' }) })).json()) as { id: string }).id;
    const url = (session: string) => `${tg.url.replace(/^http/, 'ws')}/api/kernels/${id}/channels?session_id=${session}&token=${tg.token}`;
    const open = (session: string) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(url(session));
        ws.once('open', () => resolve(ws));
        ws.once('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode, body })));
        });
      });
    const held = [await open('a'), await open('b'), await open('c')];
    const refused = await open('d').catch((err: { status: number; body: string }) => err);
    expect((refused as { status: number }).status).toBe(403);
    expect(JSON.parse((refused as { body: string }).body)).toEqual({ message: expect.stringContaining('maxConnectionsPerSession'), reason: 'max_connections' });
    // The same session_id coming back (a browser after a network blip) replaces its old socket.
    const again = await open('b');
    expect(again.readyState).toBe(WebSocket.OPEN);
    for (const ws of [...held, again]) ws.close();
    await api(tg, `/api/kernels/${id}`, { method: 'DELETE' });
  });
});
