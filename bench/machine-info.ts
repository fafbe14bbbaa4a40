/** The machine and versions a bench run happened on, for the notes and the JSON. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { JUPYTER_PYTHON } from './jupyter-server.js';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memGB: number;
  readonly kernel: string;
  readonly node: string;
  readonly python: string;
  readonly ipykernel: string;
  readonly jupyterServer: string;
  readonly jupyterClient: string;
  readonly tornado: string;
  readonly pyzmq: string;
  readonly libzmq: string;
  readonly zeromqJs: string;
}

function pythonVersions(): Record<string, string> {
  const script =
    'import sys, json, ipykernel, jupyter_server, jupyter_client, tornado, zmq;' +
    'print(json.dumps({"python": sys.version.split()[0], "ipykernel": ipykernel.__version__, "jupyterServer": jupyter_server.__version__,' +
    '"jupyterClient": jupyter_client.__version__, "tornado": tornado.version, "pyzmq": zmq.__version__, "libzmq": zmq.zmq_version()}))';
  try {
    // Bounded like every wait of the bench: a stuck import costs the versions, not the run.
    return JSON.parse(execFileSync(JUPYTER_PYTHON, ['-c', script], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' })) as Record<string, string>;
  } catch {
    return {};
  }
}

function zeromqJsVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../node_modules/zeromq/package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

export function machineInfo(): MachineInfo {
  const py = pythonVersions();
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? '?',
    memGB: Math.round(os.totalmem() / 1e9),
    kernel: os.release(),
    node: process.version,
    python: py['python'] ?? '?',
    ipykernel: py['ipykernel'] ?? '?',
    jupyterServer: py['jupyterServer'] ?? '?',
    jupyterClient: py['jupyterClient'] ?? '?',
    tornado: py['tornado'] ?? '?',
    pyzmq: py['pyzmq'] ?? '?',
    libzmq: py['libzmq'] ?? '?',
    zeromqJs: zeromqJsVersion(),
  };
}
