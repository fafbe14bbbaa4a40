/**
 * Keystroke echo latency of a terminal: send one character on the terminado websocket and time
 * until the Python REPL's echo of it comes back (browser/CLI -> gateway -> pty -> readline ->
 * pty -> gateway -> client). p50/p99 over 1,000 keystrokes.
 *
 *   node --import tsx bench/keystroke-echo.ts              # starts its own gateway
 *   BENCH_URL=http://127.0.0.1:8888 BENCH_TOKEN=... node --import tsx bench/keystroke-echo.ts
 *   BENCH_KEYSTROKES=5000 ...                              # more samples
 *
 * Every wait has a deadline (an echo 10 s, the rest as in budgets.ts), so a terminal that stops
 * echoing fails the run instead of hanging it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { Gateway } from '../src/gateway.js';
import { createLogger } from '../src/logger.js';
import { decodeServerFrame, encodeStdin } from '../src/terminals/terminado-codec.js';
import { TerminalsExtension } from '../src/terminals/terminals-extension.js';
import { WAIT_MS } from './budgets.js';
import { DeadlineScope } from './deadline.js';
import { fetchText, openWebSocket } from './waits.js';
import { percentile } from './ws-kernel-client.js';

export interface EchoResult {
  samples: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
  unit: 'ms';
}

export interface EchoOptions {
  url: string;
  token: string;
  keystrokes?: number;
  /** Untimed keystrokes first (JIT, readline warm-up). */
  warmup?: number;
  /** Clear the line (Ctrl-U, untimed) every this many keystrokes so readline redraws stay short. */
  lineLength?: number;
  /** Deadlines of the waits; default: unscaled, unbounded as a whole. */
  scope?: DeadlineScope;
}

/** One keystroke's echo may take this long (a loaded machine: tens of ms). */
const ECHO_MS = 10_000;

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

export async function measureKeystrokeEcho(options: EchoOptions): Promise<EchoResult> {
  const { url, token } = options;
  const keystrokes = options.keystrokes ?? 1000;
  const warmup = options.warmup ?? 50;
  const lineLength = options.lineLength ?? 60;
  const scope = options.scope ?? new DeadlineScope({ phase: 'keystroke echo' });
  const headers = { authorization: `token ${token}`, 'content-type': 'application/json' };
  const created = await fetchText(scope, `${url}/api/terminals`, { method: 'POST', headers, body: '{}' }, { baseMs: WAIT_MS.http });
  const { name } = JSON.parse(created) as { name: string };
  let output = '';
  let waiter: (() => void) | undefined;
  const onSocket = (socket: WebSocket): void =>
    void socket.on('message', (data: Buffer) => {
      const frame = decodeServerFrame(data.toString('utf8'));
      if (frame?.type !== 'stdout') return;
      output += frame.data;
      waiter?.();
    });
  const until = (predicate: () => boolean, what: string): Promise<void> => {
    if (predicate()) return Promise.resolve();
    const seen = new Promise<void>((resolve) => {
      waiter = () => {
        if (!predicate()) return;
        waiter = undefined;
        resolve();
      };
    });
    return scope.wait(seen, ECHO_MS, () => `${what}; output ${JSON.stringify(output.slice(-200))}`);
  };
  const wsUrl = `${url.replace(/^http/, 'ws')}/terminals/websocket/${name}`;
  let ws: WebSocket | undefined;
  try {
    ws = await openWebSocket(scope, wsUrl, [], { headers, perMessageDeflate: false }, { baseMs: WAIT_MS.wsOpen, what: `terminal ${name}'s websocket to open`, onSocket });
    await until(() => output.endsWith('>>> '), 'the Python prompt');
    const times: number[] = [];
    let typed = 0;
    for (let i = 0; i < warmup + keystrokes; i++) {
      if (typed === lineLength) {
        output = '';
        ws.send(encodeStdin('\x15')); // Ctrl-U: readline clears the line
        await until(() => output.length > 0, 'the line to clear');
        typed = 0;
        await new Promise((r) => setTimeout(r, 2));
      }
      const ch = LETTERS[i % LETTERS.length]!;
      output = '';
      const t0 = performance.now();
      ws.send(encodeStdin(ch));
      await until(() => output.includes(ch), `the echo of ${JSON.stringify(ch)}`);
      const ms = performance.now() - t0;
      typed++;
      if (i >= warmup) times.push(ms);
    }
    return {
      samples: times.length,
      p50: percentile(times, 50),
      p99: percentile(times, 99),
      mean: times.reduce((a, b) => a + b, 0) / times.length,
      max: Math.max(...times),
      unit: 'ms',
    };
  } finally {
    ws?.close();
    await fetchText(scope, `${url}/api/terminals/${name}`, { method: 'DELETE', headers }, { baseMs: WAIT_MS.http }).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const keystrokes = Number(process.env['BENCH_KEYSTROKES'] ?? 1000);
  let gateway: Gateway | undefined;
  let url = process.env['BENCH_URL'];
  let token = process.env['BENCH_TOKEN'] ?? '';
  if (!url) {
    const config = loadConfig({ env: {}, overrides: { port: 0, token: 'bench', logLevel: 'warn' } });
    gateway = new Gateway({ config, logger: createLogger({ level: 'warn', destination: process.stderr }), extensions: [new TerminalsExtension()] });
    url = await gateway.start();
    token = gateway.token;
  }
  try {
    const r = await measureKeystrokeEcho({ url, token, keystrokes });
    console.log('| figure | samples | p50 | p99 | mean | max | unit |');
    console.log('|---|---|---|---|---|---|---|');
    console.log(`| keystroke echo (python REPL terminal, websocket) | ${r.samples} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.mean.toFixed(2)} | ${r.max.toFixed(2)} | ${r.unit} |`);
  } finally {
    await gateway?.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
