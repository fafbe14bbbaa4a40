/** The second floor reference: jupyter/jupyter_client_rtt.py (Python jupyter_client of .venv-jupyter, no server). */
import path from 'node:path';
import { BENCH_JUPYTER_DIR, benchJupyterPath } from './bench-kernelspec.js';
import { referenceRunMs } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import { spawnTracked, stopTracked } from './processes.js';
import { JUPYTER_SERVER_PYTHON } from './python-envs.js';
import { summarize, type Summary } from './stats.js';

export async function measureJupyterClientRtt(scope: DeadlineScope, roundTrips: number): Promise<Summary> {
  const proc = spawnTracked('jupyter_client reference', JUPYTER_SERVER_PYTHON, [path.join(BENCH_JUPYTER_DIR, 'jupyter_client_rtt.py'), String(roundTrips)], {
    env: { ...process.env, JUPYTER_PATH: benchJupyterPath(), PYDEVD_DISABLE_FILE_VALIDATION: '1' },
  });
  let stdout = '';
  let stderr = '';
  proc.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  try {
    await scope.wait(proc.exited, referenceRunMs(roundTrips), `jupyter_client_rtt.py (pid ${proc.child.pid ?? '?'}) to finish ${roundTrips} round trips`);
  } catch (err) {
    // The script and the kernel it started (its descendant) go with the deadline.
    await stopTracked(proc, 1_000);
    throw err;
  }
  if (proc.child.exitCode !== 0) throw new Error(`jupyter_client_rtt.py failed (${proc.child.exitCode ?? proc.child.signalCode}): ${stderr}`);
  return summarize((JSON.parse(stdout) as { samples: number[] }).samples);
}
