/**
 * The servers' Python environments, each pinned in requirements/ and built by
 * scripts/ensure-python.sh: Jupyter Server 2 (.venv-jupyter, requirements/jupyter.txt) and
 * Jupyter Enterprise Gateway 3.3.0 (.venv-eg, requirements/enterprise-gateway.txt: its own venv
 * since it pins jupyter_server 1.x and jupyter_client 6). Their kernels run neither: they run the
 * project venv's python (bench-kernelspec.ts), the same ipykernel for every target. The users
 * phase's JupyterHub 6.1.1 runs on .venv-hub (requirements/jupyterhub.txt, the tests' Hub).
 *
 * `ensurePythonEnvs` runs the script once per environment before the first server starts: a
 * no-op of about a second when the venv matches its pins, a pip install (minutes) on a fresh
 * machine or after a pin changed.
 */
import path from 'node:path';
import { REPO_ROOT } from '../src/config.js';
import type { Phase } from './bench-options.js';
import { DeadlineScope } from './deadline.js';
import { spawnTracked, stopTracked } from './processes.js';
import { log } from './target-results.js';

export type ServerEnv = 'jupyter' | 'eg' | 'hub';

/** Each environment's directory and what ensure-python.sh calls it. */
export const SERVER_ENVS: Readonly<Record<ServerEnv, { readonly dir: string; readonly requirements: string }>> = {
  jupyter: { dir: path.join(REPO_ROOT, '.venv-jupyter'), requirements: 'requirements/jupyter.txt' },
  eg: { dir: path.join(REPO_ROOT, '.venv-eg'), requirements: 'requirements/enterprise-gateway.txt' },
  hub: { dir: path.join(REPO_ROOT, '.venv-hub'), requirements: 'requirements/jupyterhub.txt' },
};

/** Jupyter Server 2's interpreter. */
export const JUPYTER_SERVER_PYTHON = path.join(SERVER_ENVS.jupyter.dir, 'bin', 'python');
/** Enterprise Gateway's interpreter and its `jupyter` command (`jupyter enterprisegateway`). */
export const EG_PYTHON = path.join(SERVER_ENVS.eg.dir, 'bin', 'python');
export const EG_JUPYTER = path.join(SERVER_ENVS.eg.dir, 'bin', 'jupyter');
/** JupyterHub's interpreter (`python -m jupyterhub`, the users phase). */
export const HUB_PYTHON = path.join(SERVER_ENVS.hub.dir, 'bin', 'python');

/** The phases that start each environment's server (the jupyter_client reference runs on .venv-jupyter). */
const NEEDED_BY: Readonly<Record<ServerEnv, readonly Phase[]>> = {
  jupyter: ['start', 'rtt', 'iopub', 'concurrency', 'memory', 'jupyterlab', 'reference'],
  eg: ['start', 'rtt', 'iopub', 'concurrency', 'memory'],
  hub: ['users'],
};

/** The environments a run of `phases` needs (none for, say, BENCH_ONLY=spark). */
export function serverEnvsFor(phases: ReadonlySet<Phase>): ServerEnv[] {
  return (Object.keys(NEEDED_BY) as ServerEnv[]).filter((env) => NEEDED_BY[env].some((p) => phases.has(p)));
}

/** A pip install of a few hundred MB on a slow link; not scaled, like the build. */
const ENSURE_TIMEOUT_MS = 900_000;

/** `bash scripts/<script> [arg]`, within ENSURE_TIMEOUT_MS; throws when it fails. */
async function runScript(script: string, arg?: string): Promise<void> {
  const what = `bash scripts/${script}${arg ? ` ${arg}` : ''}`;
  const proc = spawnTracked(`${script}${arg ? ` ${arg}` : ''}`, 'bash', [path.join(REPO_ROOT, 'scripts', script), ...(arg ? [arg] : [])], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await DeadlineScope.run(what, ENSURE_TIMEOUT_MS, (scope) => scope.wait(proc.exited, ENSURE_TIMEOUT_MS, `${what} to finish`));
  } catch (err) {
    await stopTracked(proc, 1_000);
    throw err;
  }
  if (proc.child.exitCode !== 0) throw new Error(`${what} failed (${proc.child.exitCode ?? proc.child.signalCode}); run it by hand to see why`);
}

/**
 * `bash scripts/ensure-python.sh <env>` for each, one after the other, then (when the jupyterlab
 * phase runs) `bash scripts/ensure-extension.sh`: the sparkgate Jupyter Server extension in
 * .venv-jupyter (ensure-python.sh drops packages its pins do not name, this one included; a
 * no-op of seconds when current). Throws when one fails.
 */
export async function ensurePythonEnvs(envs: readonly ServerEnv[], options: { readonly extension?: boolean } = {}): Promise<void> {
  for (const env of envs) {
    log(`Python environment ${path.basename(SERVER_ENVS[env].dir)} (${SERVER_ENVS[env].requirements}): bash scripts/ensure-python.sh ${env}`);
    await runScript('ensure-python.sh', env);
  }
  if (options.extension) {
    log('sparkgate Jupyter Server extension in .venv-jupyter (jupyterlab phase): bash scripts/ensure-extension.sh');
    await runScript('ensure-extension.sh');
  }
}
