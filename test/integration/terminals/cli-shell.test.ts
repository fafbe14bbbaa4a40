/**
 * `sparkgate shell` and `sparkgate sessions` as processes, the shell inside a real pty (node-pty),
 * the way a user runs it from their terminal.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { spawn, type IPty } from 'node-pty';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../src/config.js';
import { api } from '../../helpers/gateway.js';
import { waitFor } from '../../helpers/kernel-client.js';
import { createTerminal, envWithoutSpark, startTerminalGateway, type TerminalGateway } from './terminal-helpers.js';

const CLI = path.join(REPO_ROOT, 'test', 'helpers', 'cli-entry.ts');
let tg: TerminalGateway;
const running: IPty[] = [];

beforeAll(async () => {
  // Without Spark: the pyspark terminal listed below is a Python REPL that says Spark is missing.
  // Its row is the one a real pyspark REPL gets (spark-terminals.test.ts), without a JVM start.
  tg = await startTerminalGateway({ env: envWithoutSpark() });
});

afterEach(() => {
  for (const p of running.splice(0)) p.kill('SIGKILL');
});

afterAll(async () => {
  await tg?.stop();
});

interface CliSession {
  pty: IPty;
  output: () => string;
  exit: Promise<number>;
  expect: (text: string, from?: number, ms?: number) => Promise<void>;
}

function shell(args: string[], env: Record<string, string> = {}): CliSession {
  const { SPARKGATE_URL: _u, SPARKGATE_TOKEN: _t, ...base } = process.env;
  const pty = spawn(process.execPath, ['--import', 'tsx', CLI, 'shell', ...args], {
    cols: 100,
    rows: 30,
    cwd: REPO_ROOT,
    env: { ...(base as Record<string, string>), ...env },
  });
  running.push(pty);
  // libuv's raw mode keeps ONLCR, so the REPL's "\r\n" shows up locally as "\r\r\n" (renders
  // the same); compare on the normalized text.
  let raw = '';
  let out = '';
  pty.onData((d) => {
    raw += d;
    out = raw.replace(/\r+\n/g, '\r\n');
  });
  const exit = new Promise<number>((resolve) => pty.onExit(({ exitCode }) => resolve(exitCode)));
  return {
    pty,
    output: () => out,
    exit,
    expect: (text, from = 0, ms = 20_000) =>
      waitFor(() => out.indexOf(text, from) >= 0, ms, JSON.stringify(text)).catch((err: Error) => {
        throw new Error(`${err.message}; got ${JSON.stringify(out.slice(-400))}`);
      }),
  };
}

async function exitWithin(s: CliSession, ms: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`sparkgate shell did not exit within ${ms} ms; got ${JSON.stringify(s.output().slice(-400))}`)), ms);
  });
  try {
    return await Promise.race([s.exit, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('sparkgate shell', () => {
  it('opens a Python REPL: prompt, echo, print(6*7) -> 42, resize, Ctrl-D exits 0 and deletes the terminal', async () => {
    const s = shell(['--url', tg.url, '--token', tg.token]);
    await s.expect('>>> ');
    const [name] = tg.ext.terminals.list().map((t) => t.name);
    expect(name).toBeDefined();
    let from = s.output().length;
    s.pty.write('print(6*7)\r');
    await s.expect('print(6*7)', from); // echoed by the remote REPL
    await s.expect('42\r\n', from);

    // The local window size reaches the remote pty (SIGWINCH -> set_size).
    s.pty.resize(120, 40);
    await waitFor(() => tg.ext.terminals.find(name!)?.cols === 120, 10_000, 'remote resize');
    from = s.output().length;
    s.pty.write('import shutil; print(shutil.get_terminal_size())\r');
    await s.expect('columns=120, lines=40', from);
    await s.expect('>>> ', s.output().indexOf('columns=120', from)); // the REPL waits for input again

    s.pty.write('\x04');
    expect(await exitWithin(s, 20_000)).toBe(0);
    await waitFor(() => tg.ext.terminals.list().length === 0, 5_000, 'terminal deleted');
  }, 90_000);

  it('exits with the REPL status; reads SPARKGATE_URL and SPARKGATE_TOKEN', async () => {
    const s = shell([], { SPARKGATE_URL: tg.url, SPARKGATE_TOKEN: tg.token });
    await s.expect('>>> ');
    s.pty.write('raise SystemExit(3)\r');
    expect(await exitWithin(s, 20_000)).toBe(3);
  });

  it('Ctrl-C reaches the remote REPL, not the CLI', async () => {
    const s = shell(['--url', tg.url, '--token', tg.token]);
    await s.expect('>>> ');
    const from = s.output().length;
    s.pty.write('import time; time.sleep(30)\r');
    await s.expect('time.sleep(30)\r\n', from);
    await new Promise((r) => setTimeout(r, 300));
    s.pty.write('\x03');
    await s.expect('KeyboardInterrupt', from);
    s.pty.write('print("alive")\r');
    await s.expect('alive\r\n', from);
    s.pty.write('\x04');
    expect(await exitWithin(s, 20_000)).toBe(0);
  });

  it('a wrong token or an unreachable gateway: a clear message and status 1', async () => {
    const bad = shell(['--url', tg.url, '--token', 'wrong']);
    expect(await bad.exit).toBe(1);
    expect(bad.output()).toMatch(/401 .*set --token or SPARKGATE_TOKEN/);
    const away = shell(['--url', 'http://127.0.0.1:9', '--token', 'x']);
    expect(await away.exit).toBe(1);
    expect(away.output()).toContain('cannot reach the gateway at http://127.0.0.1:9');
  });
});

describe('sparkgate sessions', () => {
  it('lists kernels and terminals as a table', async () => {
    const kernel = await (await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'plain-python' }) })).json();
    const terminal = await createTerminal(tg, { kernelspec: 'pyspark' });
    const attached = await createTerminal(tg, { kernel_id: kernel.id });
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', CLI, 'sessions', '--url', tg.url, '--token', tg.token], {
      cwd: REPO_ROOT,
    });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TYPE\s+ID\s+KIND\s+USER\s+STATE\s+AGE\s+ACTIVE\s+CONNS\s+EXECUTORS$/);
    expect(lines.find((l) => l.includes(kernel.id))).toMatch(/^kernel\s+\S+\s+plain-python\s+sparkgate\s+idle\s+-\s+\d+s ago\s+0\s+(-|0)$/);
    expect(lines.find((l) => l.includes(terminal.name))).toMatch(/^terminal\s+\S+\s+pyspark\s+\S+\s+running\s+\d+s\s+\d+s ago\s+0\s+-$/);
    expect(lines.find((l) => l.includes(attached.name))).toContain(`attached:${kernel.id.slice(0, 8)}`);
    await api(tg, `/api/kernels/${kernel.id}`, { method: 'DELETE' });
    await api(tg, `/api/terminals/${terminal.name}`, { method: 'DELETE' });
  });
});
