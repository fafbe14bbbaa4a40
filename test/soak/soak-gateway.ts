/**
 * The gateway under soak: `sparkgate serve` as its own process on port 0, with its own runtime
 * dir (`$TMPDIR/sparkgate-test-soak-*`, so the leak check of scripts/test.sh sees leftovers) and
 * the repository's kernelspecs. From source through tsx (test/helpers/cli-entry.ts, as the CLI
 * tests do: always the tree under test) or the compiled `bin/sparkgate.js`.
 *
 * `--inspect-port` only says where SIGUSR1 opens Node's inspector, which the soak uses to force
 * a full GC before it reads memory (gateway-inspector.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../src/config.js';
import { GatewayInspector } from './gateway-inspector.js';
import { freePort } from './process-probe.js';

export type GatewayEntry = 'source' | 'dist';

export interface SoakGatewayOptions {
  readonly entry: GatewayEntry;
  readonly maxKernels: number;
  /** Kernel shutdown grace: polite shutdown_request, then SIGTERM/SIGKILL of the group. */
  readonly kernelShutdownTimeoutMs?: number;
  /** `debug` (the default) logs what a failed cycle's report shows: requests, kernel output and exits. */
  readonly logLevel?: string;
}

export interface RestResponse {
  readonly status: number;
  readonly body: string;
}

export class SoakGateway {
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly token: string,
    readonly runtimeDir: string,
    private readonly inspectPort: number,
    private readonly log: LogTap,
    exited: Promise<void>,
  ) {
    this.exited = exited.then(() => {
      this.exitCode = child.exitCode ?? (child.signalCode ? -1 : null);
    });
  }

  static async start(options: SoakGatewayOptions): Promise<SoakGateway> {
    const runtimeDir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-test-soak-'));
    const token = `soak-${Math.random().toString(36).slice(2)}`;
    const inspectPort = await freePort();
    const entry =
      options.entry === 'dist' ? [path.join(REPO_ROOT, 'bin', 'sparkgate.js')] : ['--import', 'tsx', path.join(REPO_ROOT, 'test', 'helpers', 'cli-entry.ts')];
    // The soak decides every setting: none of the caller's SPARKGATE_* leak in.
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPARKGATE_')));
    Object.assign(env, {
      SPARKGATE_RUNTIME_DIR: runtimeDir,
      SPARKGATE_MAX_KERNELS: String(options.maxKernels),
      ...(options.kernelShutdownTimeoutMs !== undefined ? { SPARKGATE_KERNEL_SHUTDOWN_TIMEOUT_MS: String(options.kernelShutdownTimeoutMs) } : {}),
    });
    const args = [`--inspect-port=${inspectPort}`, ...entry, 'serve', '--host', '127.0.0.1', '--port', '0', '--token', token, '--log-level', options.logLevel ?? 'debug'];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    // Should the soak itself end first, the gateway still stops (and stops its kernels).
    const stopOnExit = (): void => void child.kill('SIGTERM');
    process.once('exit', stopOnExit);
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        process.off('exit', stopOnExit);
        resolve();
      }),
    );
    const log = new LogTap();
    child.stdout!.on('data', (d: Buffer) => log.feed(d));
    child.stderr!.on('data', (d: Buffer) => log.feed(d));
    const deadline = Date.now() + 60_000;
    let url: string | undefined;
    while ((url = /running at (http:\/\/\S+)/.exec(log.head)?.[1]) === undefined) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        rmSync(runtimeDir, { recursive: true, force: true });
        throw new Error(`the gateway did not start:\n${log.head}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return new SoakGateway(child, url, token, runtimeDir, inspectPort, log, exited);
  }

  /** JSON log lines at warn and above. */
  get warnings(): readonly string[] {
    return this.log.warnings;
  }

  /** The gateway's log lines naming a kernel (at the soak's `debug` level: requests, output, exits). */
  logsOf(kernelId: string): readonly string[] {
    return this.log.byKernel.get(kernelId) ?? [];
  }

  forgetLogs(kernelId: string): void {
    this.log.byKernel.delete(kernelId);
  }

  /** Kernels whose start failed (`kernel run ended` with reason start_failed), not yet forgotten. */
  startFailures(): string[] {
    return [...this.log.byKernel].filter(([, lines]) => lines.some((l) => l.includes('"reason":"start_failed"'))).map(([id]) => id);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /**
   * One REST call on its own connection (`agent: false`, so `Connection: close`): no keep-alive
   * socket of the soak is left open in the gateway when its fds are counted.
   */
  request(method: string, route: string, body?: unknown): Promise<RestResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        `${this.url}${route}`,
        {
          method,
          agent: false,
          timeout: 120_000,
          headers: {
            authorization: `token ${this.token}`,
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${route}: no response in 120 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Full GCs in the gateway process, then its V8 heap in use (through its inspector). */
  settleHeap(): Promise<{ heapUsedBytes: number }> {
    return new GatewayInspector(this.pid, this.inspectPort).settleHeap();
  }

  /** A gauge or counter of /metrics, summed over its label sets (0 when absent). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const res = await this.request('GET', '/metrics');
    if (res.status !== 200) throw new Error(`GET /metrics -> HTTP ${res.status}`);
    let sum = 0;
    for (const line of res.body.split('\n')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (!m || m[1] !== name) continue;
      if (!Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) continue;
      sum += Number(m[3]);
    }
    return sum;
  }

  /** SIGTERM (the gateway then ends every kernel), SIGKILL after `graceMs`; returns the exit code (-1: killed). */
  async stop(graceMs = 30_000): Promise<number | null> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exitCode ?? null;
  }

  removeRuntimeDir(): void {
    rmSync(this.runtimeDir, { recursive: true, force: true });
  }
}

/** pino's level, as a label (the gateway's logger) or a number. */
const WARN_OR_WORSE = /"level":("warn"|"error"|"fatal"|[456]\d)/;
/** Where a log line names a kernel: its kernel_id field, a request URL, a connection file. */
const KERNEL_ID = /(?:"kernel_id":"|\/api\/kernels\/|kernel-)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/g;
const LINES_PER_KERNEL = 300;

/**
 * The gateway's output: its first lines (the banner), every warn/error/fatal JSON log line, and
 * the lines naming each kernel id (kernel_id field or a request URL) until the soak forgets them
 * (a cycle that passed), so a failed cycle comes with the gateway's own account of it.
 */
class LogTap {
  head = '';
  readonly warnings: string[] = [];
  readonly byKernel = new Map<string, string[]>();
  private partial = '';

  feed(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (this.head.length < 4000) this.head += `${line}\n`;
      if (WARN_OR_WORSE.test(line)) this.warnings.push(line);
      for (const id of new Set([...line.matchAll(KERNEL_ID)].map((m) => m[1]!))) {
        let list = this.byKernel.get(id);
        if (!list) this.byKernel.set(id, (list = []));
        if (list.length < LINES_PER_KERNEL) list.push(line);
      }
    }
  }
}
