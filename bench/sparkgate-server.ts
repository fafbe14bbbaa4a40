/**
 * sparkgate as a separate process (`node bin/sparkgate.js serve`, the compiled dist/), on the
 * bench kernelspec (measured the same way as Jupyter Server) or, for the Spark phase, on the
 * project's own kernelspecs (kernel/specs: pyspark, spark-scala, ...). Kernels run the project
 * venv's python either way.
 */
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../src/config.js';
import { BENCH_KERNEL_PYTHON, benchKernelspecDir } from './bench-kernelspec.js';
import { WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import { KernelServer } from './kernel-server.js';
import { collectGarbage } from './node-gc.js';
import { BENCH_TMP_DIR, freePort, spawnTracked, stopTracked } from './processes.js';
import { log } from './target-results.js';

export interface SparkgateServerOptions {
  /** kernelspec name -> pre-started kernels (SPARKGATE_WARM_POOL). */
  readonly warmPool?: Readonly<Record<string, number>>;
  /** Write a V8 CPU profile of the gateway into this directory (node --cpu-prof). */
  readonly cpuProfDir?: string;
  /** Serve the project's kernelspecs (kernel/specs) instead of the bench one; default false. */
  readonly projectKernelspecs?: boolean;
  /** Shown in logs and errors; default "sparkgate" or "sparkgate (warm pool)". */
  readonly label?: string;
  /** SPARKGATE_KERNEL_START_TIMEOUT_MS (the gateway's default is 60 s; a Spark driver on a loaded machine needs more). */
  readonly kernelStartTimeoutMs?: number;
  /** More SPARKGATE_* settings (e.g. the Spark port ranges, SPARKGATE_USERS_FILE). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Multi-user mode without an operator token: no --token and SPARKGATE_TOKEN="" (the gateway
   * then has no shared token at all), and the returned KernelServer presents this user's token
   * (from the users file or JupyterHub, which `env` configures). Default: single-user mode with
   * a random shared token.
   */
  readonly userToken?: string;
}

/** Resolves once it printed its URL; one that does not within WAIT_MS.serverUp is stopped. */
export async function startSparkgate(scope: DeadlineScope, options: SparkgateServerOptions = {}): Promise<KernelServer> {
  const token = options.userToken ?? `bench-${Math.random().toString(36).slice(2)}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SPARKGATE_MAX_KERNELS: '256',
    SPARKGATE_RUNTIME_DIR: path.join(BENCH_TMP_DIR, 'sparkgate'),
    SPARKGATE_STATE_DIR: path.join(BENCH_TMP_DIR, 'sparkgate-state'),
    SPARKGATE_WORK_DIR: os.tmpdir(),
  };
  Object.assign(env, options.env);
  if (options.userToken !== undefined) env['SPARKGATE_TOKEN'] = '';
  if (options.warmPool) env['SPARKGATE_WARM_POOL'] = JSON.stringify(options.warmPool);
  if (options.kernelStartTimeoutMs) env['SPARKGATE_KERNEL_START_TIMEOUT_MS'] = String(options.kernelStartTimeoutMs);
  const label = options.label ?? (options.warmPool ? 'sparkgate (warm pool)' : 'sparkgate');
  // --inspect-port only sets where SIGUSR1 would open the inspector (used to force a GC).
  const inspectPort = await freePort();
  const nodeFlags = [`--inspect-port=${inspectPort}`, ...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [])];
  const args = [
    ...nodeFlags,
    path.join(REPO_ROOT, 'bin', 'sparkgate.js'),
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    ...(options.userToken === undefined ? ['--token', token] : []),
    '--log-level',
    'warn',
    '--python',
    BENCH_KERNEL_PYTHON,
    // Without the flag: the gateway's default, kernel/specs.
    ...(options.projectKernelspecs ? [] : ['--kernelspec-dir', benchKernelspecDir()]),
  ];
  const proc = spawnTracked(label, process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let url = '';
  proc.child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
    url ||= /is running at (http:\/\/\S+)/.exec(stderr)?.[1] ?? '';
  });
  try {
    await scope.poll(
      async () => {
        if (url) return true;
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new Error(`${label} exited (${proc.child.exitCode ?? proc.child.signalCode})`);
        return false;
      },
      WAIT_MS.serverUp,
      `${label} (pid ${proc.child.pid ?? '?'}) to print its URL`,
    );
  } catch (err) {
    await stopTracked(proc, 1_000);
    // The error stays what it was (a DeadlineError is reported as one); its stderr goes to the log.
    if (stderr.trim()) log(`${label} stderr:\n${stderr.trim()}`);
    throw err;
  }
  const pid = proc.child.pid!;
  return new KernelServer(label, url, token, proc, (gcScope) => collectGarbage(pid, inspectPort, gcScope), () => stderr);
}
