/**
 * Execute round trip of the `scala` kernel (adapter + Scala REPL) through the gateway: start a
 * kernel via REST, send `1+1` n times over the kernel websocket (legacy JSON protocol), and time
 * each from send to having both its execute_reply and its idle status; then shut it down.
 *
 *   node --import tsx bench/scala-rtt.ts [n]     # starts its own gateway (bin/sparkgate.js serve)
 *
 * Needs `npm run build` (the kernelspec runs dist/adapters/scala/main.js) and `scala` on PATH.
 * The REPL compiles every cell, so this measures mostly scalac on a warm JVM.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface RoundTripStats {
  p50: number;
  p95: number;
  samples: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

async function rest(url: string, token: string, route: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(`${url}${route}`, { ...init, headers: { authorization: `token ${token}`, 'content-type': 'application/json' } });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${route}: ${res.status} ${await res.text()}`);
  return res;
}

interface JsonMessage {
  header: { msg_id: string; msg_type: string };
  parent_header: { msg_id?: string };
  content: Record<string, unknown>;
  channel?: string;
}

/** One websocket to a kernel; `request` resolves when the reply and the idle status both came. */
class KernelSocket {
  private readonly waiting = new Map<string, { reply: boolean; idle: boolean; done: () => void }>();
  private readonly session = randomUUID();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as JsonMessage;
      const w = this.waiting.get(msg.parent_header.msg_id ?? '');
      if (!w) return;
      if (msg.channel === 'shell' && msg.header.msg_type.endsWith('_reply')) w.reply = true;
      if (msg.header.msg_type === 'status' && msg.content['execution_state'] === 'idle') w.idle = true;
      if (w.reply && w.idle) w.done();
    });
  }

  static open(url: string, token: string, kernelId: string): Promise<KernelSocket> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/kernels/${kernelId}/channels?session_id=${randomUUID()}`, {
      headers: { authorization: `token ${token}` },
    });
    // Listeners first: messages may arrive in the same tick as 'open'.
    const socket = new KernelSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(socket));
      ws.once('error', reject);
    });
  }

  request(msgType: string, content: unknown): Promise<void> {
    const msgId = randomUUID();
    const done = new Promise<void>((resolve) => this.waiting.set(msgId, { reply: false, idle: false, done: resolve }));
    this.ws.send(
      JSON.stringify({
        header: { msg_id: msgId, msg_type: msgType, session: this.session, username: 'bench', date: new Date().toISOString(), version: '5.3' },
        parent_header: {},
        metadata: {},
        content,
        channel: 'shell',
        buffers: [],
      }),
    );
    return done.finally(() => this.waiting.delete(msgId));
  }

  close(): void {
    this.ws.close();
  }
}

export async function measureScalaRoundTrip(opts: { url: string; token: string; n?: number }): Promise<RoundTripStats> {
  const n = opts.n ?? 100;
  const started = (await (await rest(opts.url, opts.token, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'scala' }) })).json()) as { id: string };
  try {
    const socket = await KernelSocket.open(opts.url, opts.token, started.id);
    try {
      await socket.request('kernel_info_request', {});
      const execute = { code: '1+1', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: false };
      for (let i = 0; i < 5; i++) await socket.request('execute_request', execute); // warm-up, not counted
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await socket.request('execute_request', execute);
        samples.push(performance.now() - t0);
      }
      samples.sort((a, b) => a - b);
      return { p50: percentile(samples, 50), p95: percentile(samples, 95), samples: samples.length };
    } finally {
      socket.close();
    }
  } finally {
    await rest(opts.url, opts.token, `/api/kernels/${started.id}`, { method: 'DELETE' });
  }
}

/** `bin/sparkgate.js serve` on a free port, with its own runtime directory. */
export async function startGateway(): Promise<{ url: string; token: string; stop: () => Promise<void> }> {
  const token = `bench-${randomUUID()}`;
  const runtimeDir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-bench-scala-'));
  const child = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'bin', 'sparkgate.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--token', token, '--log-level', 'warn'],
    { env: { ...process.env, SPARKGATE_RUNTIME_DIR: runtimeDir, SPARKGATE_KERNEL_START_TIMEOUT_MS: '180000' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sparkgate did not start:\n${stderr}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
      const found = /is running at (http:\/\/\S+?)(?:\/?\?token=\S*)?\s/.exec(stderr)?.[1];
      if (found) {
        clearTimeout(timer);
        resolve(found.replace(/\/$/, ''));
      }
    });
    child.once('exit', () => reject(new Error(`sparkgate exited:\n${stderr}`)));
  });
  return {
    url,
    token,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(runtimeDir, { recursive: true, force: true });
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 100);
  const gateway = await startGateway();
  try {
    const stats = await measureScalaRoundTrip({ url: gateway.url, token: gateway.token, n });
    console.log(JSON.stringify({ kernel: 'scala', code: '1+1', ...stats, p50: Number(stats.p50.toFixed(1)), p95: Number(stats.p95.toFixed(1)) }));
  } finally {
    await gateway.stop();
  }
}
