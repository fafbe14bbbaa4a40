/**
 * The terminado codec, checked against what `@jupyterlab/services`' own TerminalConnection sends
 * and how it reads our frames (driven through a fake WebSocket class in its settings).
 */
import { ServerConnection, type Terminal } from '@jupyterlab/services';
// The class TerminalManager.connectTo builds (not re-exported from the package index).
import { TerminalConnection } from '@jupyterlab/services/lib/terminal/default.js';
import { describe, expect, it } from 'vitest';
import {
  clampSize,
  decodeClientFrame,
  decodeServerFrame,
  encodeDisconnect,
  encodeSetSize,
  encodeSetup,
  encodeStdin,
  encodeStdout,
  shellStatus,
} from '../../../src/terminals/terminado-codec.js';

class FakeWebSocket {
  static last: FakeWebSocket | undefined;
  static readonly OPEN = 1;
  readonly sent: string[] = [];
  readyState = 1;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onopen: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeWebSocket.last = this;
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
  deliver(frame: string): void {
    this.onmessage?.({ data: frame });
  }
}

function connection(): { conn: Terminal.ITerminalConnection; ws: FakeWebSocket } {
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://gateway.test/',
    wsUrl: 'ws://gateway.test/',
    token: 'secret',
    appendToken: true,
    WebSocket: FakeWebSocket as unknown as typeof WebSocket,
  });
  const conn = new TerminalConnection({ model: { name: 'abc123' }, serverSettings: settings });
  return { conn, ws: FakeWebSocket.last! };
}

describe('terminado codec against @jupyterlab/services TerminalConnection', () => {
  it('uses the websocket path and token JupyterLab uses', () => {
    const { conn, ws } = connection();
    expect(ws.url).toBe('ws://gateway.test/terminals/websocket/abc123?token=secret');
    conn.dispose();
  });

  it('setup connects the client; stdout reaches messageReceived; disconnect disposes it', () => {
    const { conn, ws } = connection();
    const received: Terminal.IMessage[] = [];
    conn.messageReceived.connect((_s, msg) => received.push(msg));
    ws.deliver(encodeStdout('ignored before setup'));
    expect(conn.connectionStatus).toBe('connecting');
    ws.deliver(encodeSetup());
    expect(conn.connectionStatus).toBe('connected');
    ws.deliver(encodeStdout('>>> é中\r\n'));
    expect(received).toEqual([{ type: 'stdout', content: ['>>> é中\r\n'] }]);
    ws.deliver(encodeDisconnect({ exitCode: 0, signal: null }));
    expect(conn.isDisposed).toBe(true);
  });

  it('decodes the frames the client sends: stdin, and set_size with its extra pixel sizes', () => {
    const { conn, ws } = connection();
    ws.deliver(encodeSetup());
    conn.send({ type: 'stdin', content: ['print(6*7)\r'] });
    conn.send({ type: 'set_size', content: [40, 120, 800, 1200] });
    expect(ws.sent.map((f) => decodeClientFrame(f))).toEqual([
      { ok: true, frame: { type: 'stdin', data: 'print(6*7)\r' } },
      { ok: true, frame: { type: 'set_size', rows: 40, cols: 120 } },
    ]);
    conn.dispose();
  });

  it('our own client encoders round-trip', () => {
    expect(decodeClientFrame(encodeStdin('x'))).toEqual({ ok: true, frame: { type: 'stdin', data: 'x' } });
    expect(decodeClientFrame(encodeSetSize(24, 80))).toEqual({ ok: true, frame: { type: 'set_size', rows: 24, cols: 80 } });
    expect(decodeServerFrame(encodeSetup())).toEqual({ type: 'setup' });
    expect(decodeServerFrame(encodeStdout('hi'))).toEqual({ type: 'stdout', data: 'hi' });
    expect(decodeServerFrame(encodeDisconnect({ exitCode: 3, signal: null }))).toEqual({
      type: 'disconnect',
      status: { exitCode: 3, signal: null },
    });
    // terminado's own disconnect has no status.
    expect(decodeServerFrame('["disconnect", 1]')).toEqual({ type: 'disconnect', status: { exitCode: null, signal: null } });
  });
});

describe('bad client frames', () => {
  it.each([
    ['not JSON', 'print(1)'],
    ['not an array', '{"stdin":"x"}'],
    ['no verb', '[1, 2]'],
    ['empty array', '[]'],
    ['stdin without text', '["stdin", 42]'],
  ])('%s is fatal', (_label, frame) => {
    const result = decodeClientFrame(frame);
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.fatal).toBe(true);
  });

  it('binary frames are fatal', () => {
    expect(decodeClientFrame(Buffer.from('["stdin","x"]'), true)).toMatchObject({ ok: false, fatal: true });
  });

  it.each([
    ['unknown verb', '["frobnicate", 1]'],
    ['float size', '["set_size", 24.5, 80]'],
    ['string size', '["set_size", "24", "80"]'],
    ['missing cols', '["set_size", 24]'],
  ])('%s is ignored, not fatal', (_label, frame) => {
    expect(decodeClientFrame(frame)).toMatchObject({ ok: false, fatal: false });
  });

  it('clamps absurd sizes to 1..1000', () => {
    expect(decodeClientFrame('["set_size", 0, -5]')).toEqual({ ok: true, frame: { type: 'set_size', rows: 1, cols: 1 } });
    expect(decodeClientFrame('["set_size", 1000000000, 99999]')).toEqual({ ok: true, frame: { type: 'set_size', rows: 1000, cols: 1000 } });
    expect(clampSize(500)).toBe(500);
  });
});

describe('shellStatus', () => {
  it('is the exit code, or 128 + the signal', () => {
    expect(shellStatus({ exitCode: 0, signal: null })).toBe(0);
    expect(shellStatus({ exitCode: 3, signal: null })).toBe(3);
    expect(shellStatus({ exitCode: null, signal: 9 })).toBe(137);
    expect(shellStatus({ exitCode: 0, signal: 1 })).toBe(129);
  });
});
