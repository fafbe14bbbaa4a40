/**
 * A real kernel started by the launcher (`.venv/bin/python -m sparkgate_kernel`), spoken to by a
 * real Jupyter client: `kernel_driver.py` (jupyter_client.BlockingKernelClient over ZeroMQ) behind
 * a JSON-lines protocol. Each instance owns a temp dir (connection file, Spark conf, fake-pyspark
 * script and call record) and its processes; `dispose()` removes all of them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { VENV_PYTHON } from '../../helpers/python.js';

/** The kernels' interpreter: the project venv's (ipykernel, jupyter_client, pyspark). */
export const KERNEL_PYTHON = VENV_PYTHON;
const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..');
export const LAUNCHER_PYTHONPATH = path.join(REPO_ROOT, 'kernel', 'python');
export const FAKE_PYSPARK_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'fake-pyspark');
export const NO_PYSPARK_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'no-pyspark');
const DRIVER = path.join(HERE, 'kernel_driver.py');

export const SPECS_DIR = path.join(REPO_ROOT, 'kernel', 'specs');

export type Kind = 'python' | 'pyspark' | 'spark-sql';
export const SPEC_FOR_KIND: Record<Kind, string> = { python: 'python3', pyspark: 'pyspark', 'spark-sql': 'spark-sql' };

export function readSpec(name: string): { argv: string[]; language: string; metadata: Record<string, unknown> } {
  return JSON.parse(readFileSync(path.join(SPECS_DIR, name, 'kernel.json'), 'utf8'));
}

/** kernel.json's argv with `{python}`, `{connection_file}` and `{resource_dir}` substituted. */
export function specArgv(name: string, connectionFile: string): string[] {
  return readSpec(name).argv.map((a) =>
    a
      .replaceAll('{python}', KERNEL_PYTHON)
      .replaceAll('{connection_file}', connectionFile)
      .replaceAll('{resource_dir}', path.join(SPECS_DIR, name)),
  );
}

export interface IopubMessage {
  msg_type: string;
  content: Record<string, unknown>;
  /** Seconds since the driver started (monotonic). */
  t: number;
}

export interface ExecuteReply {
  status: 'ok' | 'error' | 'aborted';
  ename?: string;
  evalue?: string;
  traceback?: string[];
  execution_count?: number;
}

export interface Execution {
  reply: ExecuteReply;
  iopub: IopubMessage[];
}

export interface RecordedCall {
  seq: number;
  t: number;
  pid: number;
  thread: string;
  call: string;
  [field: string]: unknown;
}

export interface StartOptions {
  kind: Kind;
  /** Put the recording pyspark stand-in on PYTHONPATH. */
  fakePyspark?: boolean;
  /** Make pyspark unimportable (test/fixtures/no-pyspark first on PYTHONPATH): a Python without Spark. */
  noPyspark?: boolean;
  /** FAKE_PYSPARK_SCRIPT content. */
  script?: unknown;
  /** Written as SPARKGATE_SPARK_CONF_FILE (mode 0600); omitted when undefined. */
  conf?: Record<string, string>;
  env?: Record<string, string>;
  /** Connect the client (default true). */
  connect?: boolean;
  /** Seconds to wait for kernel_info after the start (default 20; a real Spark session takes longer). */
  connectTimeoutS?: number;
}

/** The parent's environment without anything that would change which Python modules load. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('SPARKGATE_') || k.startsWith('FAKE_PYSPARK_')) continue;
    if (['PYTHONPATH', 'PYTHONHOME', 'SPARK_HOME', 'PYSPARK_SUBMIT_ARGS', 'SPARK_AUTHENTICATE_SECRET'].includes(k)) continue;
    env[k] = v;
  }
  // debugpy's frozen-modules note would otherwise be the kernel's first stderr lines.
  env['PYDEVD_DISABLE_FILE_VALIDATION'] = '1';
  env['PYTHONDONTWRITEBYTECODE'] = '1'; // no __pycache__ in the repo
  return env;
}

export const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

export class LauncherKernel {
  readonly dir: string;
  readonly connectionFile: string;
  readonly recordFile: string;
  readonly kernelId = randomUUID();
  private kernel!: ChildProcess;
  private driver: ChildProcess | undefined;
  private stderrText = '';
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private nextId = 1;
  private connectTimeoutS = 20;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), 'sparkgate-launcher-'));
    this.connectionFile = path.join(this.dir, 'kernel.json');
    this.recordFile = path.join(this.dir, 'calls.jsonl');
  }

  static async start(options: StartOptions): Promise<LauncherKernel> {
    const k = new LauncherKernel();
    k.connectTimeoutS = options.connectTimeoutS ?? 20;
    try {
      k.spawnKernel(options);
      if (options.connect !== false) await k.connect();
      return k;
    } catch (err) {
      const stderr = k.stderr();
      await k.dispose();
      throw new Error(`${(err as Error).message}\nkernel stderr:\n${stderr}`);
    }
  }

  get pid(): number {
    return this.kernel.pid!;
  }

  private spawnKernel(options: StartOptions): void {
    const env = cleanEnv();
    env['PYTHONPATH'] = [
      LAUNCHER_PYTHONPATH,
      ...(options.fakePyspark ? [FAKE_PYSPARK_DIR] : []),
      ...(options.noPyspark ? [NO_PYSPARK_DIR] : []),
    ].join(':');
    env['SPARKGATE_KERNEL_ID'] = this.kernelId;
    env['JPY_PARENT_PID'] = String(process.pid); // the kernel exits if this test process dies
    env['FAKE_PYSPARK_RECORD'] = this.recordFile;
    if (options.script !== undefined) {
      const scriptFile = path.join(this.dir, 'script.json');
      writeFileSync(scriptFile, JSON.stringify(options.script));
      env['FAKE_PYSPARK_SCRIPT'] = scriptFile;
    }
    if (options.conf !== undefined) {
      const confFile = path.join(this.dir, 'spark-conf.json');
      writeFileSync(confFile, JSON.stringify(options.conf), { mode: 0o600 });
      env['SPARKGATE_SPARK_CONF_FILE'] = confFile;
    }
    Object.assign(env, options.env);
    // The argv is the shipped kernelspec's, placeholders substituted as the gateway does.
    const [command, ...args] = specArgv(SPEC_FOR_KIND[options.kind], this.connectionFile);
    this.kernel = spawn(command!, args, { cwd: this.dir, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    this.kernel.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderrText += d));
    this.exit = new Promise((resolve) =>
      this.kernel.on('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve(this.exited);
      }),
    );
  }

  private async connect(): Promise<void> {
    const driver = spawn(KERNEL_PYTHON, [DRIVER], {
      cwd: this.dir,
      env: { ...cleanEnv(), PYTHONPATH: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.driver = driver;
    let driverErr = '';
    driver.stderr!.setEncoding('utf8').on('data', (d: string) => (driverErr += d));
    createInterface({ input: driver.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { id: number; ok: boolean; result?: unknown; error?: string };
      const waiter = this.pending.get(msg.id);
      if (!waiter) return;
      this.pending.delete(msg.id);
      if (msg.ok) waiter.resolve(msg.result);
      else waiter.reject(new Error(`driver: ${msg.error}`));
    });
    driver.on('exit', () => {
      for (const w of this.pending.values()) w.reject(new Error(`driver exited: ${driverErr}`));
      this.pending.clear();
    });
    await this.request('connect', { connection_file: this.connectionFile, timeout: this.connectTimeoutS });
  }

  private request<T>(op: string, fields: Record<string, unknown> = {}): Promise<T> {
    if (!this.driver) throw new Error('not connected');
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.driver!.stdin!.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    });
  }

  kernelInfo(): Promise<Record<string, unknown>> {
    return this.request('kernel_info');
  }

  /** Run a cell; `signalAfterS` makes the driver send SIGINT (or `signal`) to the kernel mid-run. */
  execute(code: string, opts: { timeoutS?: number; signalAfterS?: number; signal?: string } = {}): Promise<Execution> {
    const fields: Record<string, unknown> = { code, timeout: opts.timeoutS ?? this.connectTimeoutS };
    if (opts.signalAfterS !== undefined) {
      fields['signal'] = { pid: this.pid, name: opts.signal ?? 'SIGINT', after_s: opts.signalAfterS };
    }
    return this.request('execute', fields);
  }

  isComplete(code: string): Promise<{ status: string }> {
    return this.request('is_complete', { code });
  }

  shutdown(timeoutS = 20): Promise<{ status: string; restart: boolean }> {
    return this.request('shutdown', { timeout: timeoutS });
  }

  stderr(): string {
    return this.stderrText;
  }

  records(): RecordedCall[] {
    if (!existsSync(this.recordFile)) return [];
    return readFileSync(this.recordFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as RecordedCall);
  }

  calls(name: string): RecordedCall[] {
    return this.records().filter((r) => r.call === name);
  }

  /** Resolves with the exit status, or undefined if still running after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
    try {
      return await Promise.race([this.exit!, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  signal(name: NodeJS.Signals): void {
    process.kill(this.pid, name);
  }

  async dispose(): Promise<void> {
    if (this.driver && this.driver.exitCode === null) {
      this.driver.stdin!.end(`${JSON.stringify({ op: 'exit' })}\n`);
      const driver = this.driver;
      const gone = new Promise((resolve) => driver.once('exit', resolve));
      const timer = setTimeout(() => driver.kill('SIGKILL'), 2000);
      await gone;
      clearTimeout(timer);
    }
    if (this.kernel?.pid !== undefined && this.exited === undefined) {
      try {
        process.kill(-this.kernel.pid, 'SIGKILL'); // the whole group: the kernel and its "JVM"
      } catch {
        /* already gone */
      }
      await this.waitForExit(5000);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Run the launcher to completion (for start-up failures). */
export function runLauncher(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(KERNEL_PYTHON, ['-m', 'sparkgate_kernel', ...args], {
      env: { ...cleanEnv(), PYTHONPATH: LAUNCHER_PYTHONPATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`launcher did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Messages of one type from an execution. */
export function messages(exec: Execution, type: string): IopubMessage[] {
  return exec.iopub.filter((m) => m.msg_type === type);
}

/** The text/plain of the execute_result, if any. */
export function resultText(exec: Execution): string | undefined {
  const result = messages(exec, 'execute_result')[0];
  return (result?.content['data'] as Record<string, string> | undefined)?.['text/plain'];
}

export function streamText(exec: Execution): string {
  return messages(exec, 'stream')
    .map((m) => String(m.content['text']))
    .join('');
}
