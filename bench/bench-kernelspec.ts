/**
 * The one kernelspec every target launches: Debian's /usr/bin/python3 -m ipykernel_launcher,
 * read from bench/jupyter/kernels/bench-python/kernel.json by Jupyter Server (JUPYTER_PATH),
 * by sparkgate (--kernelspec-dir) and by the floor (spawned directly from the same argv).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../src/config.js';

export const BENCH_KERNEL_NAME = 'bench-python';
/** JUPYTER_PATH entry: holds kernels/bench-python/kernel.json */
export const BENCH_JUPYTER_PATH = path.join(REPO_ROOT, 'bench', 'jupyter');
export const BENCH_KERNELSPEC_DIR = path.join(BENCH_JUPYTER_PATH, 'kernels');

export function benchKernelArgv(connectionFile: string): string[] {
  const spec = JSON.parse(readFileSync(path.join(BENCH_KERNELSPEC_DIR, BENCH_KERNEL_NAME, 'kernel.json'), 'utf8')) as { argv: string[] };
  return spec.argv.map((a) => a.replaceAll('{connection_file}', connectionFile));
}
