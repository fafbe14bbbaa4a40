/**
 * The one kernelspec every target launches: `{python} -m ipykernel_launcher -f {connection_file}`
 * from bench/jupyter/kernels/bench-python/kernel.json, with `{python}` the project venv's
 * interpreter (.venv/bin/python: the pinned ipykernel of requirements/runtime.txt, made by
 * scripts/ensure-python.sh). Jupyter Server knows no `{python}` placeholder, so the bench renders
 * the spec once into its scratch directory and every target reads that copy: Jupyter Server 2 and
 * Enterprise Gateway (JUPYTER_PATH), sparkgate (--kernelspec-dir), the floor and the
 * jupyter_client reference.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../src/config.js';
import { PROJECT_VENV_PYTHON } from '../src/kernels/python-interpreter.js';
import { BENCH_TMP_DIR } from './processes.js';

export const BENCH_KERNEL_NAME = 'bench-python';
/** The kernels' interpreter (not the Python servers': those run their own venvs, python-envs.ts). */
export const BENCH_KERNEL_PYTHON = PROJECT_VENV_PYTHON;
/** The bench's Jupyter files: the kernelspec source and the Python helper scripts. */
export const BENCH_JUPYTER_DIR = path.join(REPO_ROOT, 'bench', 'jupyter');
const SOURCE_SPEC = path.join(BENCH_JUPYTER_DIR, 'kernels', BENCH_KERNEL_NAME, 'kernel.json');
/** JUPYTER_PATH entry of the rendered spec: holds kernels/bench-python/kernel.json. */
const RENDERED_JUPYTER_PATH = path.join(BENCH_TMP_DIR, 'jupyter');

interface BenchSpec {
  argv: string[];
  [key: string]: unknown;
}

/** The spec with `{python}` substituted (the `{connection_file}` placeholder stays). */
export function renderedBenchSpec(python: string = BENCH_KERNEL_PYTHON): BenchSpec {
  const spec = JSON.parse(readFileSync(SOURCE_SPEC, 'utf8')) as BenchSpec;
  return { ...spec, argv: spec.argv.map((a) => a.replaceAll('{python}', python)) };
}

/** Write the rendered spec (again: BENCH_TMP_DIR may have been cleaned) and return its JUPYTER_PATH entry. */
export function benchJupyterPath(): string {
  const dir = path.join(RENDERED_JUPYTER_PATH, 'kernels', BENCH_KERNEL_NAME);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'kernel.json'), `${JSON.stringify(renderedBenchSpec(), null, 2)}\n`);
  return RENDERED_JUPYTER_PATH;
}

/** sparkgate's --kernelspec-dir: the rendered copy. */
export function benchKernelspecDir(): string {
  return path.join(benchJupyterPath(), 'kernels');
}

export function benchKernelArgv(connectionFile: string): string[] {
  return renderedBenchSpec().argv.map((a) => a.replaceAll('{connection_file}', connectionFile));
}
