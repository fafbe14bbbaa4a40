/**
 * The JupyterLab path (issue 16): a notebook's kernel reached through Jupyter Server 2 in gateway
 * mode (`--gateway-url` at sparkgate), as JupyterLab users run it, with the sparkgate Jupyter
 * Server extension (jupyterlab_sparkgate: TCP_NODELAY on Jupyter Server's kernel websockets) off
 * and on, beside sparkgate direct and the floor.
 *
 * One sparkgate on the bench kernelspec serves all three websocket targets: the direct lane talks
 * to it, the two Jupyter Servers forward to it (their kernels are its kernels). Each Jupyter
 * Server is a KernelServer with its own URL and token, so the usual measures run unchanged:
 * `1+1` round trips interleaved in blocks with the floor (interleaved-suite.ts), then the
 * concurrency run on each target one after another (the floor's through floor-suite.ts).
 *
 * Phases: setup (servers) -> round trips (one kernel and client each) -> concurrency of sparkgate
 * direct, extension off, extension on, floor. Each is budgeted and failed on its own.
 */
import type { WsProtocol } from '../src/wire/ws-codec.js';
import { kernelInfoWithin, type BenchClient } from './bench-client.js';
import { BENCH_KERNEL_NAME } from './bench-kernelspec.js';
import type { BenchOptions } from './bench-options.js';
import { phaseBudgetMs, WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import { runFloorSuite } from './floor-suite.js';
import { runRoundTrips, type Lane } from './interleaved-suite.js';
import type { KernelServer } from './kernel-server.js';
import { directTarget, type OpenKernel } from './kernel-targets.js';
import { measureConcurrency } from './measure-concurrency.js';
import { startKernels } from './measure-memory.js';
import type { PhaseRunner } from './phase-runner.js';
import { jupyterServerArgs } from './jupyter-server.js';
import { freePort } from './processes.js';
import { JUPYTER_SERVER_PYTHON } from './python-envs.js';
import { startSparkgate } from './sparkgate-server.js';
import { emptyResults, log, type TargetResults } from './target-results.js';
import { startTornadoServer, tornadoHome } from './tornado-server.js';

export const JUPYTERLAB_LABELS = {
  sparkgate: 'sparkgate direct (jupyterlab phase)',
  floor: 'floor (jupyterlab phase)',
  off: 'JupyterLab path, extension off',
  on: 'JupyterLab path, extension on',
} as const;

/** What the server extension logs (INFO) once it patched the kernel websockets. */
const NODELAY_LOG = 'sparkgate: TCP_NODELAY on kernel websockets';
/** The one CLI form that disables an auto-enabled server extension (a JSON dict is not parsed). */
const EXTENSION_OFF_ARG = '--ServerApp.jpserver_extensions=jupyterlab_sparkgate=False';

export interface JupyterLabResults {
  readonly sparkgate: TargetResults;
  readonly floor: TargetResults;
  readonly off: TargetResults;
  readonly on: TargetResults;
}

export function emptyJupyterLabResults(): JupyterLabResults {
  return { sparkgate: emptyResults(JUPYTERLAB_LABELS.sparkgate), floor: emptyResults(JUPYTERLAB_LABELS.floor), off: emptyResults(JUPYTERLAB_LABELS.off), on: emptyResults(JUPYTERLAB_LABELS.on) };
}

export interface JupyterLabPathOptions {
  /** The sparkgate it fronts (its URL and token become --gateway-url and the GatewayClient's token). */
  readonly gateway: KernelServer;
  /** Whether the jupyterlab_sparkgate server extension is loaded. */
  readonly extension: boolean;
}

/**
 * JupyterLab 4 on Jupyter Server 2 (.venv-jupyter, `python -m jupyterlab`) in gateway mode.
 * Clients use its URL and its token; its kernels are the gateway's. Logs at INFO (gateway mode
 * logs a line per kernel start and websocket, none per message) so the extension's line can be
 * checked: a server whose extension is not in the state asked for is stopped and refused.
 */
export async function startJupyterLabPath(scope: DeadlineScope, options: JupyterLabPathOptions): Promise<KernelServer> {
  const port = await freePort();
  const token = `bench-${Math.random().toString(36).slice(2)}`;
  const home = tornadoHome(`jupyterlab-${port}`);
  const { gateway, extension } = options;
  const label = extension ? JUPYTERLAB_LABELS.on : JUPYTERLAB_LABELS.off;
  const args = [
    '-m',
    'jupyterlab',
    ...jupyterServerArgs(port, token, home.root),
    `--gateway-url=${gateway.url}`,
    `--GatewayClient.auth_token=${gateway.token}`,
    // Its kernel start waits for the gateway's (default 42 s); the bench's own deadline is longer.
    `--GatewayClient.request_timeout=${WAIT_MS.kernelStart / 1_000}`,
    '--ServerApp.log_level=INFO',
    ...(extension ? [] : [EXTENSION_OFF_ARG]),
  ];
  const server = await startTornadoServer(scope, { label, command: JUPYTER_SERVER_PYTHON, args, port, token, readyPath: '/api/status' }, home);
  const loaded = server.stderrTail?.().includes(NODELAY_LOG) ?? false;
  if (loaded !== extension) {
    await server.stop();
    throw new Error(
      extension
        ? `${label}: no "${NODELAY_LOG}" in its log: jupyterlab_sparkgate is not loaded (bash scripts/ensure-extension.sh installs it into .venv-jupyter)`
        : `${label}: jupyterlab_sparkgate loaded despite ${EXTENSION_OFF_ARG}`,
    );
  }
  return server;
}

/**
 * The wire each target speaks, as JupyterLab would: it offers v1, and sparkgate accepts it, but
 * Jupyter Server 2 in gateway mode selects no subprotocol (GatewayWebSocketConnection's
 * kernel_ws_protocol is "": the legacy JSON protocol on both of its websockets), so through it
 * the client falls back to legacy.
 */
export const JUPYTERLAB_PROTOCOL = { sparkgate: 'v1', off: 'legacy', on: 'legacy' } as const;

/** The servers of the phase, stopped together (each Jupyter Server before the gateway behind it). */
interface PathServers {
  readonly sparkgate: KernelServer;
  readonly off: KernelServer;
  readonly on: KernelServer;
  stop(): Promise<void>;
}

async function startServers(scope: DeadlineScope): Promise<PathServers> {
  const started: KernelServer[] = [];
  const stop = async (): Promise<void> => {
    for (const s of [...started].reverse()) await s.stop();
  };
  try {
    const sparkgate = await startSparkgate(scope, { label: JUPYTERLAB_LABELS.sparkgate });
    started.push(sparkgate);
    const off = await startJupyterLabPath(scope, { gateway: sparkgate, extension: false });
    started.push(off);
    const on = await startJupyterLabPath(scope, { gateway: sparkgate, extension: true });
    started.push(on);
    log(`jupyterlab: sparkgate ${sparkgate.url}; Jupyter Server 2 gateway mode ${off.url} (extension off), ${on.url} (extension on)`);
    return { sparkgate, off, on, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** One kernel and a client on each websocket target (JUPYTERLAB_PROTOCOL), plus a floor kernel: the round-trip lanes. */
async function openLanes(scope: DeadlineScope, servers: PathServers, results: JupyterLabResults, roundTrips: number): Promise<{ lanes: Lane[]; close(): Promise<void> }> {
  const closers: (() => Promise<void>)[] = [];
  const lanes: Lane[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    for (const side of ['sparkgate', 'off', 'on'] as const) {
      const server = servers[side];
      const protocol = JUPYTERLAB_PROTOCOL[side];
      const id = await server.startKernel(scope, BENCH_KERNEL_NAME);
      closers.push(() => server.deleteKernel(scope, id));
      const client = await server.connect(scope, id, protocol);
      closers.push(async () => client.close());
      await kernelInfoWithin(scope, client);
      lanes.push({ results: results[side], key: protocol, client, iopub: false, roundTrips });
    }
    const floor: OpenKernel = await directTarget().open(scope);
    closers.push(() => floor.close());
    await floor.ready();
    lanes.push({ results: results.floor, key: 'zmq', client: floor.client, iopub: false, roundTrips });
    return { lanes, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The concurrency measure on one server: `concurrency` kernels, a client each, `cells` cells each, all at once. */
async function concurrencyOn(scope: DeadlineScope, server: KernelServer, out: TargetResults, protocol: WsProtocol, options: BenchOptions): Promise<void> {
  log(`${out.label}: concurrency ${options.concurrency} x ${options.cells}`);
  const ids = await startKernels(scope, server, options.concurrency);
  const clients: BenchClient[] = [];
  try {
    for (const id of ids) {
      const client = await server.connect(scope, id, protocol);
      clients.push(client);
      await kernelInfoWithin(scope, client);
    }
    out.concurrency = await measureConcurrency(scope, clients, options.cells);
    log(`${out.label}: ${out.concurrency.cellsPerS.toFixed(0)} cells/s, p99 ${out.concurrency.latency.p99.toFixed(0)} ms`);
  } finally {
    for (const c of clients) c.close();
    for (const id of ids) await server.deleteKernel(scope, id).catch(() => undefined);
  }
}

/** The whole jupyterlab phase; every process it started is stopped at the end. */
export async function runJupyterLabPath(runner: PhaseRunner, results: JupyterLabResults, options: BenchOptions): Promise<void> {
  const servers = [results.sparkgate, results.off, results.on];
  const all = [...servers, results.floor].map((t) => t.label);
  const setup = await runner.run({ name: 'jupyterlab setup', targets: all, phases: ['jupyterlab'], budgetMs: phaseBudgetMs('setup', options) }, startServers);
  if (!setup.ok) return;
  const up = setup.value;
  try {
    await runner.run({ name: 'jupyterlab round trips', targets: all, phases: ['jupyterlab'], budgetMs: phaseBudgetMs('jupyterlab', options) }, async (scope) => {
      const { lanes, close } = await openLanes(scope, up, results, options.roundTrips);
      try {
        await runRoundTrips(scope, runner, lanes, 'jupyterlab');
      } finally {
        await close();
      }
    });
    for (const side of ['sparkgate', 'off', 'on'] as const) {
      const out = results[side];
      await runner.run({ name: `${out.label} concurrency`, targets: [out.label], phases: ['jupyterlab'], budgetMs: phaseBudgetMs('concurrency', options) }, (scope) =>
        concurrencyOn(scope, up[side], out, JUPYTERLAB_PROTOCOL[side], options),
      );
    }
  } finally {
    await up.stop();
  }
  // The floor's concurrency, as floor-suite.ts measures it (its failure is recorded as this phase's).
  await runFloorSuite(runner, results.floor, { ...options, phases: new Set(['concurrency']) }, 'jupyterlab');
}
