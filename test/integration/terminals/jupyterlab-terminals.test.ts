/**
 * The terminals API driven by `@jupyterlab/services`' own TerminalManager against real Python
 * REPLs on ptys: create, type, resize, Ctrl-C, reconnect with scrollback, several websockets,
 * flow control with a client that stops reading, shutdown.
 */
import { PageConfig } from '@jupyterlab/coreutils';
import { TerminalManager, type Terminal } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../../helpers/gateway.js';
import { alive, waitFor } from '../../helpers/kernel-client.js';
import { createTerminal, startTerminalGateway, WsTerminal, type TerminalGateway } from './terminal-helpers.js';

let tg: TerminalGateway;
let tm: TerminalManager;

beforeAll(async () => {
  // JupyterLab reads this from the page config its server renders; terminals are on here.
  PageConfig.setOption('terminalsAvailable', 'true');
  tg = await startTerminalGateway();
  tm = new TerminalManager({ serverSettings: tg.settings });
  await tm.ready;
});

afterAll(async () => {
  tm?.dispose();
  const pids = tg?.ext.terminals.list().map((t) => t.pid) ?? [];
  await tg?.stop();
  for (const pid of pids) expect(alive(pid)).toBe(false);
});

/** Output of a TerminalConnection, as JupyterLab's terminal widget sees it. */
function recorder(conn: Terminal.ITerminalConnection): { text: () => string; from: () => number; wait: (p: string, from?: number, ms?: number) => Promise<void> } {
  let out = '';
  conn.messageReceived.connect((_s, msg) => {
    if (msg.type === 'stdout') out += String(msg.content?.[0] ?? '');
  });
  return {
    text: () => out,
    from: () => out.length,
    wait: (p, from = 0, ms = 10_000) => waitFor(() => out.indexOf(p, from) >= 0, ms, `${JSON.stringify(p)}; got ${JSON.stringify(out.slice(-300))}`),
  };
}

const stdin = (conn: Terminal.ITerminalConnection, text: string): void => conn.send({ type: 'stdin', content: [text] });

describe('TerminalManager (@jupyterlab/services) against sparkgate', () => {
  it('creates a Python REPL, runs print(6*7), resizes, reconnects with scrollback, shuts down', async () => {
    const conn = await tm.startNew();
    const out = recorder(conn);
    await out.wait('>>> ');
    expect(out.text()).toContain('plain REPL');

    let from = out.from();
    stdin(conn, 'print(6*7)\r');
    await out.wait('42\r\n', from);

    // Listed by the manager and by REST, in Jupyter's model shape.
    await tm.refreshRunning();
    expect([...tm.running()].map((m) => m.name)).toContain(conn.name);
    const model = await (await api(tg, `/api/terminals/${conn.name}`)).json();
    expect(model).toMatchObject({ name: conn.name, kind: 'python', connections: 1 });
    expect(Date.parse(model.last_activity)).not.toBeNaN();

    // JupyterLab's widget sends [rows, cols, height_px, width_px].
    conn.send({ type: 'set_size', content: [33, 101, 600, 900] });
    await waitFor(() => tg.ext.terminals.get(conn.name).cols === 101, 5_000, 'resize applied');
    from = out.from();
    stdin(conn, 'import shutil; print(shutil.get_terminal_size())\r');
    await out.wait('columns=101, lines=33', from);

    // Drop the websocket and come back: setup, then the recent output.
    const before = out.from();
    await conn.reconnect();
    await out.wait('print(6*7)', before);
    expect(out.text().slice(before)).toContain('42');
    from = out.from();
    stdin(conn, 'print("still here")\r');
    await out.wait('still here\r\n', from);

    const pid = tg.ext.terminals.get(conn.name).pid;
    expect(alive(pid)).toBe(true);
    await conn.shutdown();
    await waitFor(() => !alive(pid), 5_000, 'REPL process gone');
    expect((await api(tg, `/api/terminals/${conn.name}`)).status).toBe(404);
    expect(conn.isDisposed).toBe(true);
  });

  it('Ctrl-C interrupts time.sleep(30) with KeyboardInterrupt and the REPL keeps working', async () => {
    const conn = await tm.startNew();
    const out = recorder(conn);
    await out.wait('>>> ');
    const started = Date.now();
    let from = out.from();
    stdin(conn, 'import time; time.sleep(30)\r');
    await out.wait('time.sleep(30)\r\n', from);
    await new Promise((r) => setTimeout(r, 300));
    stdin(conn, '\x03');
    await out.wait('KeyboardInterrupt', from);
    expect(Date.now() - started).toBeLessThan(15_000);
    from = out.from();
    stdin(conn, 'print(6*7)\r');
    await out.wait('42\r\n', from);
    await conn.shutdown();
  });

  it('every websocket on one terminal gets the output, and the REPL exiting disconnects them all', async () => {
    const first = await tm.startNew();
    const second = tm.connectTo({ model: { name: first.name } });
    const a = recorder(first);
    const b = recorder(second);
    await waitFor(() => second.connectionStatus === 'connected', 5_000, 'second connected');
    await a.wait('>>> ');
    stdin(first, 'print("to " + "both")\r');
    await a.wait('to both');
    await b.wait('to both');
    expect((await (await api(tg, `/api/terminals/${first.name}`)).json()).connections).toBe(2);

    const pid = tg.ext.terminals.get(first.name).pid;
    stdin(second, 'raise SystemExit(3)\r');
    await waitFor(() => first.isDisposed && second.isDisposed, 10_000, 'both disposed on disconnect');
    expect(alive(pid)).toBe(false);
    expect((await api(tg, `/api/terminals/${first.name}`)).status).toBe(404);
  });

  it('UTF-8 survives the pty and the websocket', async () => {
    const conn = await tm.startNew();
    const out = recorder(conn);
    await out.wait('>>> ');
    const from = out.from();
    stdin(conn, 'print("é中🙂" * 3000)\r');
    await out.wait('🙂\r\n', from, 15_000);
    const printed = out.text().slice(from).split('\r\n')[1]!;
    expect(printed).toBe('é中🙂'.repeat(3000));
    await conn.shutdown();
  });
});

describe('flow control', () => {
  it('pauses the REPL while a client stops reading, keeps the gateway buffer bounded, then delivers everything', async () => {
    const model = await createTerminal(tg);
    const t = await WsTerminal.open(tg, model.name);
    await t.expect('>>> ');
    const terminal = tg.ext.terminals.get(model.name);
    // 40 MB of numbered 1000-byte lines: more than loopback's socket buffers hold.
    t.type("import sys\r");
    await t.expect('>>> import sys\r\n>>> ');
    const from = t.output.length;
    t.type("for i in range(40000): _ = sys.stdout.write('%05d' % i + 'x' * 994 + '\\n')\r\r");
    await t.expect('for i in range', 5_000, from);
    // The client stops reading its TCP socket: kernel buffers fill, then the gateway's.
    const raw = (t.ws as unknown as { _socket: import('node:net').Socket })._socket;
    raw.pause();
    await waitFor(() => terminal.outputPaused, 30_000, 'pty paused by flow control');
    await new Promise((r) => setTimeout(r, 500));
    // Still paused: the REPL is blocked on its own writes, nothing piles up in the gateway.
    expect(terminal.outputPaused).toBe(true);
    const { highWaterBytes } = tg.ext.terminals.options;
    const app = (tg.gateway as unknown as { app: { websocketServer: { clients: Set<import('ws').WebSocket> } } }).app;
    for (const s of app.websocketServer.clients) expect(s.bufferedAmount).toBeLessThan(highWaterBytes + 64 * 1024);
    raw.resume();
    await t.expect(`39999${'x'.repeat(994)}\r\n>>> `, 50_000, from);
    // Nothing lost or reordered.
    const lines = t.output.slice(from).split('\r\n').filter((l) => /^\d{5}x{994}$/.test(l));
    expect(lines.length).toBe(40_000);
    expect(lines[12_345]!.slice(0, 5)).toBe('12345');
    t.close();
    await api(tg, `/api/terminals/${model.name}`, { method: 'DELETE' });
  });
});
