/**
 * Finds a Python interpreter that can import ipykernel. Debian's python3-ipykernel is importable
 * only by /usr/bin/python3, which is often not the first python3 on PATH (pyenv, venvs).
 */
import { execFile } from 'node:child_process';

export const DEFAULT_PYTHON_CANDIDATES = ['python3', '/usr/bin/python3', '/usr/local/bin/python3', 'python'];

export type ProbeFn = (interpreter: string) => Promise<boolean>;

/** True when `interpreter -c "import ipykernel"` exits 0 within the timeout. */
export const probeIpykernel: ProbeFn = (interpreter) =>
  new Promise((resolve) => {
    execFile(interpreter, ['-c', 'import ipykernel'], { timeout: 15_000 }, (err) => resolve(!err));
  });

export interface FindPythonOptions {
  /** The configured interpreter; when set it is the only candidate. */
  configured: string;
  candidates?: readonly string[];
  probe?: ProbeFn;
}

export interface PythonLookup {
  interpreter: string | undefined;
  tried: string[];
}

export async function findPythonWithIpykernel(options: FindPythonOptions): Promise<PythonLookup> {
  const probe = options.probe ?? probeIpykernel;
  const candidates = options.configured ? [options.configured] : (options.candidates ?? DEFAULT_PYTHON_CANDIDATES);
  const tried: string[] = [];
  for (const candidate of candidates) {
    tried.push(candidate);
    if (await probe(candidate)) return { interpreter: candidate, tried };
  }
  return { interpreter: undefined, tried };
}

export function missingPythonMessage(lookup: PythonLookup): string {
  return (
    `No Python interpreter with ipykernel was found (tried: ${lookup.tried.join(', ')}). ` +
    'Install it (Debian: apt-get install -y python3-ipykernel) or set SPARKGATE_PYTHON=/path/to/python3'
  );
}
