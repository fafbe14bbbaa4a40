/**
 * Execute round trip of the `scala` kernel (adapter + Scala REPL) through the gateway: start a
 * kernel via REST, send `1+1` n times over the kernel websocket (legacy JSON protocol), and time
 * each from send to having both its execute_reply and its idle status; then shut it down.
 *
 *   node --import tsx bench/scala-rtt.ts [n]     # starts its own gateway (bin/sparkgate.js serve)
 *
 * Needs `npm run build` (the kernelspec runs dist/adapters/scala/main.js) and `scala` on PATH.
 * The REPL compiles every cell, so this measures mostly scalac on a warm JVM. Every wait has a
 * deadline (budgets.ts); the gateway is a tracked process, stopped with its kernel tree.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type WebSocket from 'ws';
import { benchOptions } from './bench-options.js';
import { phaseBudgetMs, WAIT_MS } from './budgets.js';
import { DeadlineScope } from './deadline.js';
import { spawnTracked, stopAll, stopTracked } from './processes.js';
import { fetchText, openWebSocket } from './waits.js';

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

function rest(scope: DeadlineScope, url: string, token: string, route: string, init: RequestInit = {}, baseMs: number = WAIT_MS.http): Promise<string> {
  const headers = { authorization: `token ${token}`, 'content-type': 'application/json' };
  return fetchText(scope, `${url}${route}`, { ...init, headers }, { baseMs, what: `sparkgate (Scala): ${init.method ?? 'GET'} ${route}` });
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

  static async open(scope: DeadlineScope, url: string, token: string, kernelId: string): Promise<KernelSocket> {
    const wsUrl = `${url.replace(/^http/, 'ws')}/api/kernels/${kernelId}/channels?session_id=${randomUUID()}`;
    let socket: KernelSocket | undefined;
    // Listeners first: messages may arrive in the same tick as 'open'.
    const onSocket = (ws: WebSocket): void => void (socket = new KernelSocket(ws));
    await openWebSocket(scope, wsUrl, [], { headers: { authorization: `token ${token}` } }, { baseMs: WAIT_MS.wsOpen, what: "the Scala kernel's websocket to open", onSocket });
    return socket!;
  }

  /** Resolves on reply and idle, within `baseMs` (scaled). */
  request(scope: DeadlineScope, msgType: string, content: unknown, baseMs: number = WAIT_MS.scalaCell): Promise<void> {
    const msgId = randomUUID();
    const done = scope.wait(
      new Promise<void>((resolve) => this.waiting.set(msgId, { reply: false, idle: false, done: resolve })),
      baseMs,
      `the Scala kernel's ${msgType.replace('_request', '_reply')} + status idle`,
    );
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

export async function measureScalaRoundTrip(opts: { url: string; token: string; n?: number; scope: DeadlineScope }): Promise<RoundTripStats> {
  const n = opts.n ?? 100;
  const { scope } = opts;
  const body = await rest(scope, opts.url, opts.token, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'scala' }) }, WAIT_MS.scalaStart);
  const started = JSON.parse(body) as { id: string };
  try {
    const socket = await KernelSocket.open(scope, opts.url, opts.token, started.id);
    try {
      await socket.request(scope, 'kernel_info_request', {}, WAIT_MS.scalaStart);
      const execute = { code: '1+1', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: false };
      for (let i = 0; i < 5; i++) await socket.request(scope, 'execute_request', execute); // warm-up, not counted
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await socket.request(scope, 'execute_request', execute);
        samples.push(performance.now() - t0);
      }
      samples.sort((a, b) => a - b);
      return { p50: percentile(samples, 50), p95: percentile(samples, 95), samples: samples.length };
    } finally {
      socket.close();
    }
  } finally {
    // A failed phase's scope is over: then the gateway's stop takes the kernel with it.
    await rest(scope, opts.url, opts.token, `/api/kernels/${started.id}`, { method: 'DELETE' }).catch(() => undefined);
  }
}

/** `bin/sparkgate.js serve` on a free port, with its own runtime directory. */
export async function startGateway(scope: DeadlineScope): Promise<{ url: string; token: string; stop: () => Promise<void> }> {
  const token = `bench-${randomUUID()}`;
  const runtimeDir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-bench-scala-'));
  const proc = spawnTracked(
    'sparkgate (Scala)',
    process.execPath,
    [path.join(REPO_ROOT, 'bin', 'sparkgate.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--token', token, '--log-level', 'warn'],
    { env: { ...process.env, SPARKGATE_RUNTIME_DIR: runtimeDir, SPARKGATE_KERNEL_START_TIMEOUT_MS: '180000' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stop = async (): Promise<void> => {
    await stopTracked(proc, 15_000);
    rmSync(runtimeDir, { recursive: true, force: true });
  };
  let stderr = '';
  let url = '';
  proc.child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
    url ||= /is running at (http:\/\/\S+?)(?:\/?\?token=\S*)?\s/.exec(stderr)?.[1]?.replace(/\/$/, '') ?? '';
  });
  try {
    await scope.poll(
      async () => {
        if (url) return true;
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new Error('sparkgate exited');
        return false;
      },
      WAIT_MS.serverUp,
      `sparkgate (Scala, pid ${proc.child.pid ?? '?'}) to print its URL`,
    );
  } catch (err) {
    await stop();
    if (stderr.trim()) process.stderr.write(`sparkgate (Scala) stderr:\n${stderr.trim()}\n`);
    throw err;
  }
  return { url, token, stop };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 100);
  try {
    const stats = await DeadlineScope.run('Scala kernel', phaseBudgetMs('scala', benchOptions(process.env)), async (scope) => {
      const gateway = await startGateway(scope);
      try {
        return await measureScalaRoundTrip({ url: gateway.url, token: gateway.token, n, scope });
      } finally {
        await gateway.stop();
      }
    });
    console.log(JSON.stringify({ kernel: 'scala', code: '1+1', ...stats, p50: Number(stats.p50.toFixed(1)), p95: Number(stats.p95.toFixed(1)) }));
  } finally {
    await stopAll();
  }
}
