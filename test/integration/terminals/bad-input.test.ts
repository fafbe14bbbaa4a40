/**
 * Bad input at the terminals' doors. What happens to each kind of bad frame is documented in
 * src/terminals/terminal-socket.ts: protocol violations close the websocket with 1007, an
 * oversized frame with 1009, unknown verbs and non-integer sizes are ignored and logged, sizes
 * out of range are clamped. Nothing crashes the gateway or hangs the terminal.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../../helpers/gateway.js';
import { waitFor } from '../../helpers/kernel-client.js';
import { createTerminal, startTerminalGateway, terminalWsUrl, WsTerminal, type TerminalGateway } from './terminal-helpers.js';

let tg: TerminalGateway;

beforeAll(async () => {
  // maxTerminals as an operator sets it (SPARKGATE_MAX_TERMINALS); the rest as extension options.
  tg = await startTerminalGateway({ terminals: { maxStdinFrameBytes: 1024 * 1024 } }, { maxTerminals: 4 });
});

afterAll(async () => {
  await tg?.stop();
});

async function fresh(): Promise<{ name: string; t: WsTerminal }> {
  const { name } = await createTerminal(tg);
  const t = await WsTerminal.open(tg, name);
  await t.expect('>>> ');
  return { name, t };
}

async function remove(name: string): Promise<void> {
  await api(tg, `/api/terminals/${name}`, { method: 'DELETE' });
}

/** The status an upgrade request gets when it is refused. */
function refusedStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => reject(new Error('upgrade was accepted')));
    ws.on('error', () => undefined);
  });
}

describe('REST', () => {
  it('unknown terminal names: 404 {message, reason} for GET and DELETE', async () => {
    for (const method of ['GET', 'DELETE']) {
      for (const name of ['nope', 'bad%20name', 'x'.repeat(100)]) {
        const res = await api(tg, `/api/terminals/${name}`, { method });
        expect(res.status).toBe(404);
        const body = await res.json();
        expect(body).toEqual({ message: expect.stringContaining('Terminal does not exist'), reason: 'terminal_not_found' });
      }
    }
  });

  it.each([
    ['not JSON', '{nope', 'invalid_json'],
    ['an array', '[1]', 'invalid_body'],
    ['an unknown kernelspec', '{"kernelspec":"spark-r"}', 'invalid_body'],
    ['a bad name', '{"name":"../etc"}', 'invalid_body'],
    ['a kernel_id that is not a string', '{"kernel_id":42}', 'invalid_body'],
  ])('a body that is %s: 400', async (_label, body, reason) => {
    const res = await api(tg, '/api/terminals', { method: 'POST', body });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ reason, message: expect.any(String) });
  });

  it('the terminal limit: 403 max_terminals, and room again after a delete', async () => {
    const names: string[] = [];
    for (let i = 0; i < 4; i++) names.push((await createTerminal(tg)).name);
    const res = await api(tg, '/api/terminals', { method: 'POST', body: '{}' });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ reason: 'max_terminals', message: expect.stringContaining('at most 4') });
    await remove(names.pop()!);
    names.push((await createTerminal(tg)).name);
    for (const name of names) await remove(name);
  });

  it('a duplicate name: 409', async () => {
    await createTerminal(tg, { name: 'twice' });
    const res = await api(tg, '/api/terminals', { method: 'POST', body: '{"name":"twice"}' });
    expect(res.status).toBe(409);
    await remove('twice');
  });

  it('the API needs the token; the web shell page does not', async () => {
    expect((await fetch(`${tg.url}/api/terminals`)).status).toBe(401);
    expect((await fetch(`${tg.url}/api/terminals`, { headers: { authorization: 'token wrong' } })).status).toBe(401);
    const page = await fetch(`${tg.url}/shell`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect((await fetch(`${tg.url}/shell/vendor/xterm.js`)).status).toBe(200);
    // Only the listed files: no path reaches the file system.
    expect((await fetch(`${tg.url}/shell/../package.json`)).status).not.toBe(200);
    expect((await fetch(`${tg.url}/shell/vendor/..%2f..%2fpackage.json`)).status).toBe(401);
    expect((await fetch(`${tg.url}/shellfish`)).status).toBe(401);
  });
});

describe('websocket', () => {
  it('unknown terminal: 404 before the upgrade; no token: 401', async () => {
    expect(await refusedStatus(terminalWsUrl(tg, 'nope'))).toBe(404);
    const { name } = await createTerminal(tg);
    expect(await refusedStatus(terminalWsUrl(tg, name, null))).toBe(401);
    expect(await refusedStatus(terminalWsUrl(tg, name, 'wrong'))).toBe(401);
    await remove(name);
  });

  it.each([
    ['not JSON', 'print(1)'],
    ['not an array', '{"stdin":"x"}'],
    ['a frame without a verb', '[42]'],
    ['stdin without text', '["stdin", {"a": 1}]'],
  ])('%s: closed with 1007, the terminal keeps running', async (_label, frame) => {
    const { name, t } = await fresh();
    t.send(frame);
    expect(await t.closed).toBe(1007);
    expect(t.closeReason).toMatch(/^invalid message/);
    const again = await WsTerminal.open(tg, name);
    await again.run('print(6*7)', '42\r\n');
    again.close();
    await remove(name);
  });

  it('binary frames: closed with 1007', async () => {
    const { name, t } = await fresh();
    t.send(Buffer.from('["stdin","x"]'));
    expect(await t.closed).toBe(1007);
    await remove(name);
  });

  it('unknown verbs and non-integer sizes are ignored; the connection stays', async () => {
    const { name, t } = await fresh();
    const terminal = tg.ext.terminals.get(name);
    t.send('["frobnicate", 1, 2]');
    t.send('["set_size", 24.5, 80]');
    t.send('["set_size", "30", "90"]');
    t.send('["set_size"]');
    await t.run('print(6*7)', '42\r\n');
    expect([terminal.rows, terminal.cols]).toEqual([24, 80]);
    expect(t.closeCode).toBeUndefined();
    expect(tg.logLines.some((l) => l.includes('ignored terminal websocket frame') && l.includes('unknown verb'))).toBe(true);
    t.close();
    await remove(name);
  });

  it('absurd sizes are clamped to 1..1000', async () => {
    const { name, t } = await fresh();
    const terminal = tg.ext.terminals.get(name);
    t.resize(0, 1_000_000_000);
    await waitFor(() => terminal.cols === 1000, 5_000, 'clamped resize');
    expect(terminal.rows).toBe(1);
    t.resize(-5, 3);
    await waitFor(() => terminal.cols === 3, 5_000, 'second resize');
    expect(terminal.rows).toBe(1);
    t.resize(24, 80);
    await t.run('print(6*7)', '42\r\n');
    t.close();
    await remove(name);
  });

  it('one stdin frame over the limit (3 MB): closed with 1009, nothing written', async () => {
    const { name, t } = await fresh();
    t.type(`print(${'1'.repeat(3 * 1024 * 1024)})`);
    expect(await t.closed).toBe(1009);
    const again = await WsTerminal.open(tg, name);
    await again.run('print(6*7)', '42\r\n');
    again.close();
    await remove(name);
  });

  it('a stdin burst of 3 MB in many frames: the websocket is paced by the REPL, memory bounded, DELETE ends it', async () => {
    const { name, t } = await fresh();
    const terminal = tg.ext.terminals.get(name);
    const chunk = `# ${'x'.repeat(1000)}\r`.repeat(60); // ~60 KB per frame
    for (let sent = 0; sent < 3 * 1024 * 1024; sent += chunk.length) t.type(chunk);
    let maxBacklog = 0;
    const sampler = setInterval(() => (maxBacklog = Math.max(maxBacklog, terminal.stdinBacklogBytes)), 5);
    await new Promise((r) => setTimeout(r, 1_500));
    const started = Date.now();
    expect((await api(tg, '/api/terminals')).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1_000);
    clearInterval(sampler);
    // The rest waits in TCP buffers and the client, not in the gateway's memory.
    expect(maxBacklog).toBeGreaterThan(0);
    expect(maxBacklog).toBeLessThan(1024 * 1024);
    const deleted = Date.now();
    expect((await api(tg, `/api/terminals/${name}`, { method: 'DELETE' })).status).toBe(204);
    expect(await t.closed).toBe(1000);
    expect(Date.now() - deleted).toBeLessThan(5_000);
  });

  it('a 512 KB paste is all read by the REPL, which answers afterwards', async () => {
    const { name, t } = await fresh();
    const chunk = `# ${'y'.repeat(1000)}\r`.repeat(64);
    for (let sent = 0; sent < 512 * 1024; sent += chunk.length) t.type(chunk);
    await t.run('print(6*7)', '42\r\n', 45_000);
    t.close();
    await remove(name);
  });
});
