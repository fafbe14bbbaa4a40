/**
 * Jupyter Server (Debian python3-jupyter-server, run by /usr/bin/python3) as a separate process,
 * on the bench kernelspec: its kernels run the project venv's python like every other target's.
 *
 * Its iopub rate limits (iopub_data_rate_limit 1e6 B/s, iopub_msg_rate_limit 1000/s in 1.x)
 * are switched off (0) so it delivers all output of the throughput cell. `nodelay` runs it
 * through jupyter/nodelay_server.py, which only adds TCP_NODELAY on kernel websockets: the
 * experiment behind the "why 44 ms" note.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { BENCH_JUPYTER_DIR, benchJupyterPath } from './bench-kernelspec.js';
import { WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import { KernelServer } from './kernel-server.js';
import { BENCH_TMP_DIR, freePort, spawnTracked, stopTracked } from './processes.js';
import { log } from './target-results.js';

/** Jupyter Server's own interpreter (its kernels use the venv's: bench-kernelspec.ts). */
export const JUPYTER_PYTHON = '/usr/bin/python3';

export interface JupyterServerOptions {
  readonly nodelay?: boolean;
}

/** Resolves once it answers /api/status; a server that does not within WAIT_MS.serverUp is stopped. */
export async function startJupyterServer(scope: DeadlineScope, options: JupyterServerOptions = {}): Promise<KernelServer> {
  const port = await freePort();
  const token = `bench-${Math.random().toString(36).slice(2)}`;
  const home = path.join(BENCH_TMP_DIR, `jupyter-${port}`);
  for (const d of ['config', 'data', 'runtime', 'root']) mkdirSync(path.join(home, d), { recursive: true });
  const entry = options.nodelay ? [path.join(BENCH_JUPYTER_DIR, 'nodelay_server.py')] : ['-m', 'jupyter_server'];
  const args = [
    ...entry,
    '--no-browser',
    '--ServerApp.allow_root=True',
    '--ServerApp.ip=127.0.0.1',
    `--ServerApp.port=${port}`,
    '--ServerApp.port_retries=0',
    `--ServerApp.token=${token}`,
    `--ServerApp.root_dir=${path.join(home, 'root')}`,
    '--ServerApp.iopub_data_rate_limit=0',
    '--ServerApp.iopub_msg_rate_limit=0',
    '--ServerApp.log_level=WARN',
  ];
  const env = {
    ...process.env,
    JUPYTER_PATH: benchJupyterPath(),
    JUPYTER_CONFIG_DIR: path.join(home, 'config'),
    JUPYTER_DATA_DIR: path.join(home, 'data'),
    JUPYTER_RUNTIME_DIR: path.join(home, 'runtime'),
  };
  const proc = spawnTracked('jupyter-server', JUPYTER_PYTHON, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const server = new KernelServer(options.nodelay ? 'Jupyter Server (+TCP_NODELAY)' : 'Jupyter Server', `http://127.0.0.1:${port}`, token, proc);
  try {
    await scope.poll(
      async (inner) => {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new Error(`${server.label} exited (${proc.child.exitCode ?? proc.child.signalCode})`);
        // Refused or slow: not up yet (each try has its own short deadline).
        return server.fetchText(inner, '/api/status', {}, 5_000).then(
          () => true,
          () => false,
        );
      },
      WAIT_MS.serverUp,
      `${server.label} (pid ${proc.child.pid ?? '?'}) to answer /api/status`,
      100,
    );
  } catch (err) {
    await stopTracked(proc, 1_000);
    // The error stays what it was (a DeadlineError is reported as one); its stderr goes to the log.
    if (stderr.trim()) log(`${server.label} stderr:\n${stderr.trim()}`);
    throw err;
  }
  return server;
}
