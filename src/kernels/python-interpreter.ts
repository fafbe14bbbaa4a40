/**
 * Finds the kernels' Python interpreter: one that can import ipykernel. The default is the
 * project's venv (.venv, made by scripts/ensure-python.sh with the pinned ipykernel and pyspark);
 * then python3 on PATH and the usual system paths, for a gateway installed without the venv.
 *
 * The same probe asks the interpreter where its Spark is (pyspark's own `_find_spark_home`: the
 * SPARK_HOME the gateway runs with, else the installed pyspark package, which is a complete Spark
 * with bin/spark-shell, bin/spark-sql and jars/). Spark sessions get that as SPARK_HOME unless
 * the `spark.sparkHome` setting says otherwise.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../config.js';

/** The venv scripts/ensure-python.sh builds. */
export const PROJECT_VENV_PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');
export const DEFAULT_PYTHON_CANDIDATES = [PROJECT_VENV_PYTHON, 'python3', '/usr/bin/python3', '/usr/local/bin/python3', 'python'];

export interface PythonProbe {
  /** `import ipykernel` works. */
  ipykernel: boolean;
  /** Where pyspark finds its Spark (SPARK_HOME), when pyspark is importable. */
  sparkHome?: string;
}

export type ProbeFn = (interpreter: string) => Promise<PythonProbe>;

const PROBE = [
  'import ipykernel',
  'try:',
  '    from pyspark.find_spark_home import _find_spark_home',
  '    print(_find_spark_home())',
  'except BaseException:',
  '    pass',
].join('\n');

/** Runs the probe in the interpreter (15 s at most). */
export const probePython: ProbeFn = (interpreter) =>
  new Promise((resolve) => {
    execFile(interpreter, ['-c', PROBE], { timeout: 15_000 }, (err, stdout) => {
      if (err) return resolve({ ipykernel: false });
      const home = stdout.trim().split('\n').pop()?.trim();
      resolve(home ? { ipykernel: true, sparkHome: home } : { ipykernel: true });
    });
  });

export interface FindPythonOptions {
  /** The configured interpreter; when set it is the only candidate. */
  configured: string;
  candidates?: readonly string[];
  probe?: ProbeFn;
}

export interface PythonLookup {
  interpreter: string | undefined;
  /** The interpreter's Spark home (see the module comment). */
  sparkHome: string | undefined;
  tried: string[];
}

export async function findPythonWithIpykernel(options: FindPythonOptions): Promise<PythonLookup> {
  const probe = options.probe ?? probePython;
  const candidates = options.configured ? [options.configured] : (options.candidates ?? DEFAULT_PYTHON_CANDIDATES);
  const tried: string[] = [];
  for (const candidate of candidates) {
    tried.push(candidate);
    const found = await probe(candidate);
    if (found.ipykernel) return { interpreter: candidate, sparkHome: found.sparkHome, tried };
  }
  return { interpreter: undefined, sparkHome: undefined, tried };
}

export function missingPythonMessage(lookup: PythonLookup): string {
  return (
    `No Python interpreter with ipykernel was found (tried: ${lookup.tried.join(', ')}). ` +
    'Create the project environment (bash scripts/ensure-python.sh) or set SPARKGATE_PYTHON=/path/to/python3 ' +
    '(an interpreter with ipykernel, and pyspark for Spark kernels)'
  );
}
