/**
 * A Python kernel server on Tornado (Jupyter Server 2, Enterprise Gateway) as a separate process
 * of the bench: spawned in its own process group, with its own Jupyter config/data/runtime
 * directories under the bench's scratch space and the bench kernelspec on JUPYTER_PATH, and
 * ready once it answers `readyPath`. What differs between them (interpreter, entry point, their
 * options) is the caller's.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { benchJupyterPath } from './bench-kernelspec.js';
import { WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import { KernelServer } from './kernel-server.js';
import { BENCH_TMP_DIR, spawnTracked, stopTracked } from './processes.js';
import { log } from './target-results.js';

export interface TornadoServerSpec {
  /** Table column and log name, e.g. "Jupyter Server 2". */
  readonly label: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The port and token the args make it use (the caller picked them). */
  readonly port: number;
  readonly token: string;
  /** A GET that answers 2xx once the server is up (with the token). */
  readonly readyPath: string;
  /** Variables to drop from the inherited environment (e.g. EG_* settings of the machine). */
  readonly dropEnv?: (name: string) => boolean;
}

/** A fresh home for the server's Jupyter directories; `root` is its notebook/contents root. */
export function tornadoHome(name: string): { config: string; data: string; runtime: string; root: string } {
  const home = path.join(BENCH_TMP_DIR, name);
  const dirs = { config: path.join(home, 'config'), data: path.join(home, 'data'), runtime: path.join(home, 'runtime'), root: path.join(home, 'root') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  return dirs;
}

/** Resolves once it answers `readyPath`; a server that does not within WAIT_MS.serverUp is stopped. */
export async function startTornadoServer(scope: DeadlineScope, spec: TornadoServerSpec, home: ReturnType<typeof tornadoHome>): Promise<KernelServer> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!spec.dropEnv?.(k)) env[k] = v;
  Object.assign(env, {
    JUPYTER_PATH: benchJupyterPath(),
    JUPYTER_CONFIG_DIR: home.config,
    JUPYTER_DATA_DIR: home.data,
    JUPYTER_RUNTIME_DIR: home.runtime,
  });
  const proc = spawnTracked(spec.label, spec.command, [...spec.args], { env, cwd: home.root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
  });
  const server = new KernelServer(spec.label, `http://127.0.0.1:${spec.port}`, spec.token, proc, undefined, () => stderr);
  try {
    await scope.poll(
      async (inner) => {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new Error(`${spec.label} exited (${proc.child.exitCode ?? proc.child.signalCode})`);
        // Refused or slow: not up yet (each try has its own short deadline).
        return server.fetchText(inner, spec.readyPath, {}, 5_000).then(
          () => true,
          () => false,
        );
      },
      WAIT_MS.serverUp,
      `${spec.label} (pid ${proc.child.pid ?? '?'}) to answer ${spec.readyPath}`,
      100,
    );
  } catch (err) {
    await stopTracked(proc, 1_000);
    // The error stays what it was (a DeadlineError is reported as one); its stderr goes to the log.
    if (stderr.trim()) log(`${spec.label} stderr:\n${stderr.trim()}`);
    throw err;
  }
  return server;
}
