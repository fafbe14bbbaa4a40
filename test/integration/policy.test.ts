/**
 * Auth, limits, culling, ops endpoints and bad input: every error is a 4xx `{message, reason}`
 * (or a websocket close with a reason) and the gateway keeps serving other kernels.
 */
import { KernelManager } from '@jupyterlab/services';
import net from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startGateway, type TestGateway } from '../helpers/gateway.js';
import { alive, execute, waitFor } from '../helpers/kernel-client.js';
import { encodeWsMessage } from '../../src/wire/ws-codec.js';
import { newMessage } from '../../src/wire/message.js';

let tg: TestGateway;
let kernelId: string;

beforeAll(async () => {
  tg = await startGateway({ maxKernels: 2, maxBodyBytes: 4096, maxWsMessageBytes: 64 * 1024 });
  const res = await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'plain-python' }) });
  expect(res.status).toBe(201);
  kernelId = (await res.json()).id;
});

afterAll(async () => {
  await tg?.stop();
});

async function expectError(res: Response, status: number, reason?: string): Promise<{ message: string; reason: string }> {
  expect(res.status).toBe(status);
  const body = await res.json();
  expect(typeof body.message).toBe('string');
  expect(typeof body.reason).toBe('string');
  if (reason) expect(body.reason).toBe(reason);
  return body;
}

interface OpenWs {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  /** Every text frame received, from the first one (a replay can arrive with the handshake). */
  texts: string[];
}

function openWs(path: string, protocols: string[] = []): Promise<OpenWs> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${tg.url.replace('http', 'ws')}${path}`, protocols, { headers: { authorization: `token ${tg.token}` } });
    const texts: string[] = [];
    ws.on('message', (data, isBinary) => {
      if (!isBinary) texts.push(data.toString());
    });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.once('open', () => resolve({ ws, closed, texts }));
    ws.once('unexpected-response', (req, res) => {
      reject(new Error(`HTTP ${res.statusCode}`));
      req.destroy();
    });
    ws.once('error', reject);
  });
}

async function stillWorks(): Promise<void> {
  const km = new KernelManager({ serverSettings: tg.settings });
  const kernel = km.connectTo({ model: { id: kernelId, name: 'plain-python' } });
  await kernel.info;
  const result = await execute(kernel, '20 + 22');
  expect(result.results[0]!['text/plain']).toBe('42');
  kernel.dispose();
  km.dispose();
}

describe('auth', () => {
  it('rejects requests without a token or with a wrong one', async () => {
    await expectError(await fetch(`${tg.url}/api/kernels`), 401, 'unauthorized');
    await expectError(await fetch(`${tg.url}/api/kernels`, { headers: { authorization: 'token nope' } }), 401);
    await expectError(await fetch(`${tg.url}/api/kernelspecs?token=nope`), 401);
    await expectError(await fetch(`${tg.url}/metrics`), 401);
  });

  it('accepts token header, bearer header and ?token=', async () => {
    expect((await fetch(`${tg.url}/api/kernels`, { headers: { authorization: `token ${tg.token}` } })).status).toBe(200);
    expect((await fetch(`${tg.url}/api/kernels`, { headers: { authorization: `Bearer ${tg.token}` } })).status).toBe(200);
    expect((await fetch(`${tg.url}/api/kernels?token=${tg.token}`)).status).toBe(200);
  });

  it('probes answer without a token', async () => {
    expect(await (await fetch(`${tg.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${tg.url}/readyz`)).status).toBe(200);
  });

  it('refuses a websocket without a token', async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${tg.url.replace('http', 'ws')}/api/kernels/${kernelId}/channels`);
      ws.once('unexpected-response', (req, res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      ws.once('error', () => undefined);
      ws.once('open', () => resolve(101));
    });
    expect(status).toBe(401);
  });

  it('closes the socket of a refused upgrade (no descriptor leak)', async () => {
    const { port } = new URL(tg.url);
    const response = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `GET /api/kernels/${kernelId}/channels HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
      });
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
      setTimeout(() => reject(new Error('server kept the refused socket open')), 5_000).unref();
    });
    expect(response).toMatch(/^HTTP\/1.1 401/);
  });

  it('never logs the token', async () => {
    await fetch(`${tg.url}/api/kernels?token=${tg.token}`);
    expect(tg.logLines.some((l) => l.includes(tg.token))).toBe(false);
  });
});

describe('bad REST input', () => {
  const post = (body: string) => api(tg, '/api/kernels', { method: 'POST', body });

  it('malformed JSON', async () => {
    await expectError(await post('{"name": '), 400, 'invalid_json');
  });

  it('wrong types', async () => {
    await expectError(await post(JSON.stringify({ name: 5 })), 400, 'invalid_body');
    await expectError(await post(JSON.stringify([1, 2])), 400);
    await expectError(await post(JSON.stringify({ name: 'plain-python', env: 'x' })), 400, 'invalid_env');
  });

  it('unknown kernelspec', async () => {
    const body = await expectError(await post(JSON.stringify({ name: 'no-such-kernel' })), 404, 'kernelspec_not_found');
    expect(body.message).toContain('no-such-kernel');
  });

  it('env keys that are not KERNEL_*', async () => {
    const body = await expectError(await post(JSON.stringify({ name: 'plain-python', env: { PATH: '/evil' } })), 400, 'invalid_env');
    expect(body.message).toContain('KERNEL_');
    await expectError(await post(JSON.stringify({ name: 'plain-python', env: { KERNEL_X: 1 } })), 400, 'invalid_env');
    await expectError(await post(JSON.stringify({ name: 'plain-python', env: { KERNEL_LAUNCH_TIMEOUT: 'soon' } })), 400, 'invalid_env');
  });

  it('oversized bodies', async () => {
    await expectError(await post(JSON.stringify({ name: 'plain-python', pad: 'x'.repeat(10_000) })), 413, 'payload_too_large');
  });

  it('unknown kernels, sessions and routes', async () => {
    await expectError(await api(tg, '/api/kernels/00000000-0000-4000-8000-000000000000'), 404, 'kernel_not_found');
    await expectError(await api(tg, '/api/kernels/not-a-uuid'), 404, 'kernel_not_found');
    await expectError(await api(tg, '/api/kernels/00000000-0000-4000-8000-000000000000', { method: 'DELETE' }), 404);
    await expectError(await api(tg, '/api/kernels/00000000-0000-4000-8000-000000000000/restart', { method: 'POST' }), 404);
    await expectError(await api(tg, '/api/sessions/00000000-0000-4000-8000-000000000000'), 404, 'session_not_found');
    await expectError(await api(tg, '/api/sessions', { method: 'POST', body: '{}' }), 400, 'invalid_body');
    await expectError(await api(tg, '/api/nothing-here'), 404, 'not_found');
  });

  it('kernelspec resources cannot escape their directory', async () => {
    for (const bad of ['..%2F..%2Fpackage.json', '..%2Fkernel.json', 'kernel.json', '%2Fetc%2Fpasswd', '.hidden']) {
      const res = await api(tg, `/kernelspecs/plain-python/${bad}`);
      expect(res.status).toBe(404);
    }
    await expectError(await api(tg, '/api/kernelspecs/nope'), 404, 'kernelspec_not_found');
  });

  it('the gateway still serves the kernel afterwards', stillWorks);
});

describe('bad websocket input', () => {
  it('unknown kernel: 404 before the upgrade', async () => {
    await expect(openWs('/api/kernels/00000000-0000-4000-8000-000000000000/channels')).rejects.toThrow('HTTP 404');
  });

  it('malformed frames, bad headers and unknown channels close only that socket, with a reason', async () => {
    const cases: { protocols: string[]; data: Buffer | string }[] = [
      { protocols: [], data: '{not json' },
      { protocols: [], data: JSON.stringify({ channel: 'nope', header: { msg_id: 'a', msg_type: 'b', session: 'c' } }) },
      { protocols: [], data: JSON.stringify({ channel: 'shell', header: { msg_type: 'execute_request' }, content: {} }) },
      { protocols: [], data: JSON.stringify({ channel: 'iopub', header: { msg_id: 'a', msg_type: 'b', session: 'c' } }) },
      { protocols: ['v1.kernel.websocket.jupyter.org'], data: Buffer.from([0, 1, 2]) },
      { protocols: ['v1.kernel.websocket.jupyter.org'], data: 'text is not v1' },
    ];
    for (const c of cases) {
      const { ws, closed } = await openWs(`/api/kernels/${kernelId}/channels`, c.protocols);
      ws.send(c.data);
      const { code, reason } = await closed;
      expect(code).toBe(1007);
      expect(reason).toMatch(/^invalid message: /);
    }
  });

  it('oversized frames close with 1009', async () => {
    const { ws, closed } = await openWs(`/api/kernels/${kernelId}/channels`);
    ws.send('x'.repeat(100 * 1024));
    expect((await closed).code).toBe(1009);
  });

  it('a raw legacy client gets kernel_info_reply on shell', async () => {
    const { ws, closed } = await openWs(`/api/kernels/${kernelId}/channels?session_id=raw-client`);
    const msg = newMessage({ channel: 'shell', msgType: 'kernel_info_request', session: 'raw-client', content: {}, msgId: 'req-1', date: new Date() });
    const reply = new Promise<Record<string, unknown>>((resolve) =>
      ws.on('message', (data, isBinary) => {
        const parsed = JSON.parse(data.toString());
        if (!isBinary && parsed.channel === 'shell') resolve(parsed);
      }),
    );
    ws.send(encodeWsMessage(msg, 'legacy').data);
    const got = await reply;
    expect(got['msg_type']).toBe('kernel_info_reply');
    expect((got['parent_header'] as { msg_id: string }).msg_id).toBe('req-1');
    expect((got['content'] as { protocol_version: string }).protocol_version).toMatch(/^5\./);
    ws.close();
    await closed;
  });

  it('replays iopub produced while a session_id was disconnected', async () => {
    const first = await openWs(`/api/kernels/${kernelId}/channels?session_id=flaky-client`);
    const code = 'import time\ntime.sleep(0.5)\nprint("while you were away")';
    const msg = newMessage({
      channel: 'shell',
      msgType: 'execute_request',
      session: 'flaky-client',
      content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
      msgId: 'away-1',
      date: new Date(),
    });
    first.ws.send(encodeWsMessage(msg, 'legacy').data);
    const sawBusy = new Promise<void>((resolve) =>
      first.ws.on('message', (data) => {
        if (/"execution_state":\s*"busy"/.test(data.toString())) resolve();
      }),
    );
    await sawBusy;
    first.ws.close();
    await first.closed;
    await waitFor(() => tg.gateway.kernels.get(kernelId).state === 'idle' && Date.now() > 0, 10_000, 'idle');
    await new Promise((r) => setTimeout(r, 1_000));
    const second = await openWs(`/api/kernels/${kernelId}/channels?session_id=flaky-client`);
    const streamed = (): string =>
      second.texts
        .map((t) => JSON.parse(t) as { msg_type: string; content: { text?: string } })
        .filter((m) => m.msg_type === 'stream')
        .map((m) => m.content.text)
        .join('');
    await waitFor(() => streamed().includes('while you were away'), 5_000, 'replayed output');
    second.ws.close();
    await second.closed;
  });

  it('the gateway still serves the kernel afterwards', stillWorks);
});

describe('limits', () => {
  it('max kernels gives 403 with a clear message', async () => {
    const second = await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'plain-python' }) });
    expect(second.status).toBe(201);
    const third = await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'plain-python' }) });
    const body = await expectError(third, 403, 'max_kernels');
    expect(body.message).toContain('at most 2');
    await api(tg, `/api/kernels/${(await second.json()).id}`, { method: 'DELETE' });
  });

  it('a kernel that dies at start gives 500 with its stderr, and nothing is left', async () => {
    const res = await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'broken-exits' }) });
    const body = await expectError(res, 500, 'kernel_start_failed');
    expect(body.message).toContain('launcher failed on purpose');
    const list = await (await api(tg, '/api/kernels')).json();
    expect(list.map((k: { name: string }) => k.name)).not.toContain('broken-exits');
  });
});

describe('a kernel that crashes', () => {
  it('is restarted in place under the same id, as Jupyter Server does, and clients carry on', async () => {
    const km = new KernelManager({ serverSettings: tg.settings });
    const conn = await km.startNew({ name: 'plain-python' });
    const statuses: string[] = [];
    conn.statusChanged.connect((_, status) => statuses.push(status));
    expect((await execute(conn, 'x = 1')).errors).toEqual([]);
    const kernel = tg.gateway.kernels.get(conn.id);
    const pid = kernel.pid!;
    process.kill(-pid, 'SIGKILL');
    await waitFor(() => kernel.state === 'idle' && kernel.pid !== pid, 20_000, 'restarted');
    expect(alive(pid)).toBe(false);
    await waitFor(() => statuses.includes('restarting'), 5_000, 'restarting status');
    // The same connection works again; the old state is gone, as after any restart.
    const out = await execute(conn, "print('x' in globals())");
    expect(out.stdout.trim()).toBe('False');
    const text = await (await api(tg, '/metrics')).text();
    expect(text).toMatch(/sparkgate_kernel_autorestarts_total\{kernelspec="plain-python",result="ok"\} 1/);
    await conn.shutdown();
    km.dispose();
  });

  it('is reported dead once it keeps dying, and restart brings it back under the same id', async () => {
    const g = await startGateway({ kernelRestartLimit: 1 });
    try {
      const res = await api(g, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'plain-python' }) });
      const { id } = await res.json();
      const kernel = g.gateway.kernels.get(id);
      const first = kernel.pid!;
      process.kill(-first, 'SIGKILL');
      await waitFor(() => kernel.state === 'idle' && kernel.pid !== first, 20_000, 'restarted once');
      process.kill(-kernel.pid!, 'SIGKILL'); // again within the stable window: the limit is 1
      await waitFor(() => kernel.state === 'dead', 10_000, 'dead');
      expect((await (await api(g, `/api/kernels/${id}`)).json()).execution_state).toBe('dead');
      expect(await (await api(g, '/metrics')).text()).toMatch(/sparkgate_kernel_autorestarts_total\{kernelspec="plain-python",result="limit"\} 1/);
      const restarted = await api(g, `/api/kernels/${id}/restart`, { method: 'POST' });
      expect(restarted.status).toBe(200);
      expect((await restarted.json()).execution_state).toBe('idle');
      expect(alive(kernel.pid)).toBe(true);
      await api(g, `/api/kernels/${id}`, { method: 'DELETE' });
      expect(alive(kernel.pid)).toBe(false);
    } finally {
      await g.stop();
    }
  });
});

describe('ops', () => {
  it('exposes Prometheus metrics', async () => {
    const text = await (await api(tg, '/metrics')).text();
    expect(text).toMatch(/sparkgate_kernels\{state="idle"\} \d/);
    expect(text).toContain('sparkgate_kernel_start_seconds_bucket');
    expect(text).toContain('sparkgate_websocket_connections');
    expect(text).toMatch(/sparkgate_messages_total\{direction="in",channel="shell"\} [1-9]/);
    expect(text).toMatch(/sparkgate_rejected_messages_total [1-9]/);
  });

  it('GET /api returns the version', async () => {
    expect((await (await api(tg, '/api')).json()).version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('logs are JSON lines with the kernel id', () => {
    const parsed = tg.logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.some((l) => l['kernel_id'] === kernelId && l['msg'] === 'kernel process started')).toBe(true);
  });
});

describe('culling', () => {
  it('culls idle unconnected kernels, keeps connected ones unless cullConnected', async () => {
    const cg = await startGateway({ cullIdleTimeoutSeconds: 1, cullIntervalSeconds: 1 });
    try {
      const km = new KernelManager({ serverSettings: cg.settings });
      const connected = await km.startNew({ name: 'plain-python' });
      await connected.info;
      const lonely = await (await api(cg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'plain-python' }) })).json();
      await waitFor(() => !cg.gateway.kernels.find(lonely.id), 15_000, 'lonely kernel culled');
      expect(cg.gateway.kernels.find(connected.id)).toBeDefined();
      connected.dispose();
      km.dispose();
      await waitFor(() => !cg.gateway.kernels.find(connected.id), 15_000, 'disconnected kernel culled');
      const metrics = await (await api(cg, '/metrics')).text();
      expect(metrics).toMatch(/sparkgate_kernels_culled_total 2/);
    } finally {
      await cg.stop();
    }
  });
});
