/** Terminal with a fake pty, fake websocket clients and a fake clock. */
import { describe, expect, it } from 'vitest';
import { Terminal, transition, type TerminalLimits } from '../../../src/terminals/terminal.js';
import { FakeClient, FakeClock, fakeSpawner, flush, silentLogger } from './fakes.js';

const limits: TerminalLimits = {
  scrollbackBytes: 1024,
  highWaterBytes: 100,
  lowWaterBytes: 10,
  stallTimeoutMs: 5_000,
  killTimeoutMs: 1_000,
};

function make(overrides: Partial<TerminalLimits> = {}) {
  const clock = new FakeClock();
  const { spawn, ptys } = fakeSpawner();
  const terminal = new Terminal(
    { name: 't1', kind: 'python', launch: { file: 'python3', args: ['-i'], env: {}, cwd: '/' } },
    { spawn, logger: silentLogger, limits: { ...limits, ...overrides }, now: () => clock.now, timers: clock },
  );
  return { terminal, pty: ptys[0]!, clock };
}

describe('Terminal', () => {
  it('sends setup then the recent output to a client that attaches', () => {
    const { terminal, pty } = make();
    pty.emit('>>> ');
    const client = new FakeClient();
    terminal.attach(client);
    expect(client.parsed()).toEqual([['setup', {}], ['stdout', '>>> ']]);
    pty.emit('42\r\n');
    expect(client.stdout()).toBe('>>> 42\r\n');
  });

  it('every client gets the output; input goes to the pty', () => {
    const { terminal, pty } = make();
    const a = new FakeClient();
    const b = new FakeClient();
    terminal.attach(a);
    terminal.attach(b);
    expect(terminal.connections).toBe(2);
    pty.emit('hello');
    expect(a.stdout()).toBe('hello');
    expect(b.stdout()).toBe('hello');
    terminal.input('print(1)\r');
    expect(pty.written).toEqual(['print(1)\r']);
  });

  it('decodes UTF-8 split across reads', () => {
    const { terminal, pty } = make();
    const client = new FakeClient();
    terminal.attach(client);
    const bytes = Buffer.from('é中🙂', 'utf8');
    for (let i = 0; i < bytes.length; i++) pty.emit(bytes.subarray(i, i + 1));
    expect(client.stdout()).toBe('é中🙂');
    expect(client.stdout()).not.toContain('\ufffd');
  });

  it('resizes to the smallest size any client asked for', () => {
    const { terminal, pty } = make();
    const a = new FakeClient();
    const b = new FakeClient();
    terminal.attach(a);
    terminal.attach(b);
    terminal.resize(a, 40, 120);
    expect(pty.sizes.at(-1)).toEqual({ rows: 40, cols: 120 });
    terminal.resize(b, 30, 200);
    expect(pty.sizes.at(-1)).toEqual({ rows: 30, cols: 120 });
    terminal.detach(b);
    expect(pty.sizes.at(-1)).toEqual({ rows: 40, cols: 120 });
    expect([terminal.rows, terminal.cols]).toEqual([40, 120]);
  });

  it('pauses the pty when a client is over the high-water mark and resumes when it drained', () => {
    const { terminal, pty } = make();
    const fast = new FakeClient();
    const slow = new FakeClient();
    terminal.attach(fast);
    terminal.attach(slow);
    slow.slow = true;
    pty.emit('x'.repeat(50));
    expect(pty.paused).toBe(false);
    pty.emit('y'.repeat(80));
    expect(pty.paused).toBe(true);
    expect(terminal.outputPaused).toBe(true);
    slow.drain();
    expect(pty.paused).toBe(false);
  });

  it('cuts off a client that stays too slow, and resumes for the others', () => {
    const { terminal, pty, clock } = make();
    const fast = new FakeClient();
    const stuck = new FakeClient();
    terminal.attach(fast);
    terminal.attach(stuck);
    stuck.slow = true;
    pty.emit('z'.repeat(200));
    expect(pty.paused).toBe(true);
    clock.advance(5_000);
    expect(stuck.closed?.code).toBe(1013);
    expect(terminal.connections).toBe(1);
    expect(pty.paused).toBe(false);
  });

  it('keeps the recent output while nobody is connected and tracks when it was left', () => {
    const { terminal, pty, clock } = make();
    expect(terminal.detachedSince).toBe(clock.now);
    const client = new FakeClient();
    terminal.attach(client);
    expect(terminal.detachedSince).toBeUndefined();
    terminal.detach(client);
    clock.advance(10);
    pty.emit('while away\r\n');
    const back = new FakeClient();
    terminal.attach(back);
    expect(back.stdout()).toContain('while away');
  });

  it('when the process exits: last output, disconnect with the status, sockets closed, ended event', async () => {
    const { terminal, pty } = make();
    const client = new FakeClient();
    terminal.attach(client);
    const ended: unknown[] = [];
    terminal.on('ended', (status, reason) => ended.push({ status, reason }));
    pty.emit(Buffer.from([0xc3])); // half of "é"
    pty.exit({ exitCode: 0, signal: null });
    await terminal.ended;
    expect(client.parsed().at(-1)).toEqual(['disconnect', 1, { exit_code: 0, signal: null }]);
    expect(client.closed).toEqual({ code: 1000, reason: 'terminal ended' });
    expect(ended).toEqual([{ status: { exitCode: 0, signal: null }, reason: 'exited' }]);
    expect(terminal.state).toBe('ended');
    expect(pty.signals).toContain('SIGKILL'); // stragglers in the group
    expect(() => terminal.attach(new FakeClient())).toThrow(/ended/);
  });

  it('kill: SIGHUP to the group; gateway stop closes sockets with 1001', async () => {
    const { terminal, pty } = make();
    const client = new FakeClient();
    terminal.attach(client);
    await terminal.kill('gateway_stop');
    expect(pty.signals[0]).toBe('SIGHUP');
    expect(client.closed?.code).toBe(1001);
    await terminal.kill('shutdown'); // twice is fine
  });

  it('kill: SIGKILL when SIGHUP is ignored, and gives up waiting after that', async () => {
    const { terminal, pty, clock } = make();
    pty.exitOnHangup = false;
    const done = terminal.kill('shutdown');
    expect(terminal.state).toBe('terminating');
    clock.advance(1_000);
    expect(pty.signals).toEqual(['SIGHUP', 'SIGKILL']);
    clock.advance(1_000);
    await done;
    expect(terminal.state).toBe('ended');
  });

  it('ignores input once it is terminating', async () => {
    const { terminal, pty } = make();
    pty.exitOnHangup = false;
    void terminal.kill('shutdown');
    terminal.input('x');
    expect(pty.written).toEqual([]);
    pty.exit();
    await flush();
  });

  it('state machine', () => {
    expect(transition('running', { type: 'kill' })).toBe('terminating');
    expect(transition('running', { type: 'gone' })).toBe('ended');
    expect(transition('terminating', { type: 'kill' })).toBe('terminating');
    expect(transition('terminating', { type: 'gone' })).toBe('ended');
    expect(transition('ended', { type: 'kill' })).toBe('ended');
  });
});
