/**
 * Keystroke echo latency of a terminal: send one character on the terminado websocket and time
 * until the Python REPL's echo of it comes back (browser/CLI -> gateway -> pty -> readline ->
 * pty -> gateway -> client). p50/p99 over 1,000 keystrokes.
 *
 *   node --import tsx bench/keystroke-echo.ts              # starts its own gateway
 *   BENCH_URL=http://127.0.0.1:8888 BENCH_TOKEN=... node --import tsx bench/keystroke-echo.ts
 *   BENCH_KEYSTROKES=5000 ...                              # more samples
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { Gateway } from '../src/gateway.js';
import { createLogger } from '../src/logger.js';
import { decodeServerFrame, encodeStdin } from '../src/terminals/terminado-codec.js';
import { TerminalsExtension } from '../src/terminals/terminals-extension.js';
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
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

export async function measureKeystrokeEcho(options: EchoOptions): Promise<EchoResult> {
  const { url, token } = options;
  const keystrokes = options.keystrokes ?? 1000;
  const warmup = options.warmup ?? 50;
  const lineLength = options.lineLength ?? 60;
  const headers = { authorization: `token ${token}`, 'content-type': 'application/json' };
  const res = await fetch(`${url}/api/terminals`, { method: 'POST', headers, body: '{}' });
  if (res.status !== 200) throw new Error(`POST /api/terminals: ${res.status} ${await res.text()}`);
  const { name } = (await res.json()) as { name: string };
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/terminals/websocket/${name}`, { headers, perMessageDeflate: false });
  let output = '';
  let waiter: (() => void) | undefined;
  ws.on('message', (data: Buffer) => {
    const frame = decodeServerFrame(data.toString('utf8'));
    if (frame?.type !== 'stdout') return;
    output += frame.data;
    waiter?.();
  });
  const until = (predicate: () => boolean, timeoutMs = 10_000): Promise<void> =>
    new Promise((resolve, reject) => {
      if (predicate()) return resolve();
      const timer = setTimeout(() => reject(new Error(`no echo within ${timeoutMs} ms; output ${JSON.stringify(output.slice(-200))}`)), timeoutMs);
      waiter = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        waiter = undefined;
        resolve();
      };
    });
  try {
    await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
    await until(() => output.endsWith('>>> '));
    const times: number[] = [];
    let typed = 0;
    for (let i = 0; i < warmup + keystrokes; i++) {
      if (typed === lineLength) {
        output = '';
        ws.send(encodeStdin('\x15')); // Ctrl-U: readline clears the line
        await until(() => output.length > 0);
        typed = 0;
        await new Promise((r) => setTimeout(r, 2));
      }
      const ch = LETTERS[i % LETTERS.length]!;
      output = '';
      const t0 = performance.now();
      ws.send(encodeStdin(ch));
      await until(() => output.includes(ch));
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
    ws.close();
    await fetch(`${url}/api/terminals/${name}`, { method: 'DELETE', headers }).catch(() => undefined);
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
