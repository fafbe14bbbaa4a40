/** The machine and versions a bench run happened on, for the notes and the JSON. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { BENCH_KERNEL_PYTHON } from './bench-kernelspec.js';
import { EG_PYTHON, JUPYTER_SERVER_PYTHON } from './python-envs.js';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memGB: number;
  readonly kernel: string;
  readonly node: string;
  /** The kernels' interpreter (project venv) and what it has. */
  readonly python: string;
  readonly ipykernel: string;
  readonly pyspark: string;
  /** Jupyter Server 2's interpreter (.venv-jupyter) and its packages. */
  readonly serverPython: string;
  readonly jupyterServer: string;
  readonly jupyterClient: string;
  readonly tornado: string;
  /** Enterprise Gateway's (.venv-eg): its own jupyter_server 1.x and jupyter_client 6. */
  readonly egPython: string;
  readonly enterpriseGateway: string;
  readonly egJupyterServer: string;
  readonly egJupyterClient: string;
  readonly egTornado: string;
  readonly pyzmq: string;
  readonly libzmq: string;
  readonly zeromqJs: string;
  /** `java -version`'s first line (the Spark drivers' JVM). */
  readonly java: string;
}

/** Versions printed as one JSON object by `python -c script`; {} when that fails. */
function pythonVersions(python: string, script: string): Record<string, string> {
  try {
    // Bounded like every wait of the bench: a stuck import costs the versions, not the run.
    return JSON.parse(execFileSync(python, ['-c', script], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' })) as Record<string, string>;
  } catch {
    return {};
  }
}

const KERNEL_SCRIPT =
  'import sys, json, ipykernel, zmq\n' +
  'try:\n  import pyspark; spark = pyspark.__version__\nexcept Exception:\n  spark = "?"\n' +
  'print(json.dumps({"python": sys.version.split()[0], "ipykernel": ipykernel.__version__, "pyzmq": zmq.__version__, "libzmq": zmq.zmq_version(), "pyspark": spark}))';
const SERVER_SCRIPT =
  'import sys, json, jupyter_server, jupyter_client, tornado;' +
  'print(json.dumps({"python": sys.version.split()[0], "jupyterServer": jupyter_server.__version__, "jupyterClient": jupyter_client.__version__, "tornado": tornado.version}))';
const EG_SCRIPT =
  'import sys, json, enterprise_gateway, jupyter_server, jupyter_client, tornado;' +
  'print(json.dumps({"python": sys.version.split()[0], "eg": enterprise_gateway.__version__, "jupyterServer": jupyter_server.__version__, "jupyterClient": jupyter_client.__version__, "tornado": tornado.version}))';

function zeromqJsVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../node_modules/zeromq/package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

function javaVersion(): string {
  try {
    // `java -version` prints to stderr; spawnSync-style capture through a shell redirect.
    const out = execFileSync('sh', ['-c', 'java -version 2>&1'], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
    return out.split('\n')[0]?.trim() || '?';
  } catch {
    return '?';
  }
}

export function machineInfo(): MachineInfo {
  const py = pythonVersions(BENCH_KERNEL_PYTHON, KERNEL_SCRIPT);
  const server = pythonVersions(JUPYTER_SERVER_PYTHON, SERVER_SCRIPT);
  const eg = pythonVersions(EG_PYTHON, EG_SCRIPT);
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? '?',
    memGB: Math.round(os.totalmem() / 1e9),
    kernel: os.release(),
    node: process.version,
    python: py['python'] ?? '?',
    ipykernel: py['ipykernel'] ?? '?',
    pyspark: py['pyspark'] ?? '?',
    serverPython: server['python'] ?? '?',
    jupyterServer: server['jupyterServer'] ?? '?',
    jupyterClient: server['jupyterClient'] ?? '?',
    tornado: server['tornado'] ?? '?',
    egPython: eg['python'] ?? '?',
    enterpriseGateway: eg['eg'] ?? '?',
    egJupyterServer: eg['jupyterServer'] ?? '?',
    egJupyterClient: eg['jupyterClient'] ?? '?',
    egTornado: eg['tornado'] ?? '?',
    pyzmq: py['pyzmq'] ?? '?',
    libzmq: py['libzmq'] ?? '?',
    zeromqJs: zeromqJsVersion(),
    java: javaVersion(),
  };
}
