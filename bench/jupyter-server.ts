/**
 * Jupyter Server 2 (the pinned jupyter_server of requirements/jupyter.txt, run by
 * .venv-jupyter/bin/python) as a separate process, on the bench kernelspec: its kernels run the
 * project venv's python like every other target's.
 *
 * Its iopub rate limiting (1,000 msg/s and 1 MB/s over a 3 s window by default, on
 * ZMQChannelsWebsocketConnection since 2.0) is switched off (`limit_rate=False`) so it delivers
 * all output of the throughput cell. `nodelay` runs it through jupyter/nodelay_server.py, which
 * only adds TCP_NODELAY on kernel websockets: the experiment behind the "why 44 ms" note.
 */
import path from 'node:path';
import { BENCH_JUPYTER_DIR } from './bench-kernelspec.js';
import type { DeadlineScope } from './deadline.js';
import type { KernelServer } from './kernel-server.js';
import { freePort } from './processes.js';
import { JUPYTER_SERVER_PYTHON } from './python-envs.js';
import { startTornadoServer, tornadoHome } from './tornado-server.js';

export const JUPYTER_SERVER_LABEL = 'Jupyter Server 2';
export const JUPYTER_SERVER_NODELAY_LABEL = 'Jupyter Server 2 (+TCP_NODELAY)';

export interface JupyterServerOptions {
  readonly nodelay?: boolean;
}

/** Resolves once it answers /api/status; a server that does not within WAIT_MS.serverUp is stopped. */
export async function startJupyterServer(scope: DeadlineScope, options: JupyterServerOptions = {}): Promise<KernelServer> {
  const port = await freePort();
  const token = `bench-${Math.random().toString(36).slice(2)}`;
  const home = tornadoHome(`jupyter-${port}`);
  const entry = options.nodelay ? [path.join(BENCH_JUPYTER_DIR, 'nodelay_server.py')] : ['-m', 'jupyter_server'];
  const args = [
    ...entry,
    ...jupyterServerArgs(port, token, home.root),
    '--ZMQChannelsWebsocketConnection.limit_rate=False',
    '--ServerApp.log_level=WARN',
  ];
  return startTornadoServer(
    scope,
    { label: options.nodelay ? JUPYTER_SERVER_NODELAY_LABEL : JUPYTER_SERVER_LABEL, command: JUPYTER_SERVER_PYTHON, args, port, token, readyPath: '/api/status' },
    home,
  );
}

/** What every Jupyter Server 2 of the bench is started with: loopback, this port, this token. */
export function jupyterServerArgs(port: number, token: string, root: string): string[] {
  return [
    '--no-browser',
    '--ServerApp.allow_root=True',
    '--ServerApp.ip=127.0.0.1',
    `--ServerApp.port=${port}`,
    '--ServerApp.port_retries=0',
    // Token auth as the bench sends it (`Authorization: token ...`); 2.x's IdentityProvider reads it.
    `--IdentityProvider.token=${token}`,
    `--ServerApp.root_dir=${root}`,
  ];
}
