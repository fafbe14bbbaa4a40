/**
 * `npm run bench`: Jupyter Server 2, Jupyter Enterprise Gateway 3.3, sparkgate (cold and warm
 * pool) and a direct ZeroMQ floor, side by side on the same ipykernel; prints a markdown table
 * (stdout; progress on stderr) and writes bench/results/latest.json. Not part of `npm test`: targets live here, never in timed unit tests.
 * Options: see bench-options.ts. Every process started is stopped at the end, on error and on
 * SIGINT/SIGTERM.
 *
 * No wait is unbounded: each phase runs within a budget and each of its waits within a deadline
 * (budgets.ts, scaled by BENCH_DEADLINE_SCALE). A phase that misses one is reported failed in
 * its table cells and the notes ("deadline: waited N ms for <what>"), what it started is
 * stopped, the run goes on, and the exit code is 1.
 *
 * The Python servers' venvs (.venv-jupyter, .venv-eg) are made or checked first
 * (scripts/ensure-python.sh, python-envs.ts) when a phase needs them.
 *
 * Phases: each server alone (memory, concurrency, start) -> the floor alone (start,
 * concurrency) -> sparkgate with a warm pool (start) -> all targets interleaved (round trips,
 * iopub) -> the JupyterLab path (Jupyter Server 2 in gateway mode in front of sparkgate, the
 * sparkgate extension off and on: jupyterlab-path.ts) -> what multi-user mode costs per request
 * (users file, JupyterHub cached and uncached, beside single-user mode: users-suite.ts) -> Python jupyter_client reference ->
 * executor GC on FakeKube -> Scala kernel -> Spark sessions against a bare pyspark REPL
 * (spark-suite.ts) -> executor GC, job submit to first executor and the reaper against a real
 * API server (k8s-suite.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../src/config.js';
import { BENCH_KERNEL_NAME } from './bench-kernelspec.js';
import { benchOptions, type BenchOptions } from './bench-options.js';
import { phaseBudgetMs, WAIT_MS } from './budgets.js';
import { DeadlineScope } from './deadline.js';
import { ENTERPRISE_GATEWAY_LABEL, startEnterpriseGateway } from './enterprise-gateway.js';
import { figureRows, type AllResults } from './figure-rows.js';
import { runFloorSuite } from './floor-suite.js';
import { measureGcLatency } from './gc-latency.js';
import { runSideBySide } from './interleaved-suite.js';
import { JUPYTER_SERVER_LABEL, JUPYTER_SERVER_NODELAY_LABEL, startJupyterServer } from './jupyter-server.js';
import { emptyJupyterLabResults, runJupyterLabPath, type JupyterLabResults } from './jupyterlab-path.js';
import type { KernelServer } from './kernel-server.js';
import { machineInfo } from './machine-info.js';
import { measureStart } from './measure-start.js';
import { PhaseRunner } from './phase-runner.js';
import { spawnTracked, stopAll, stopTracked } from './processes.js';
import { ensurePythonEnvs, serverEnvsFor } from './python-envs.js';
import { measureJupyterClientRtt } from './python-reference.js';
import { reportNotes } from './report-notes.js';
import { renderTable } from './report-table.js';
import { measureScalaRoundTrip, startGateway as startScalaGateway } from './scala-rtt.js';
import { runServerSuite } from './server-suite.js';
import { runK8sSuite, type K8sResults } from './k8s-suite.js';
import { runSparkSuite, type SparkResults } from './spark-suite.js';
import { startSparkgate } from './sparkgate-server.js';
import { emptyUsersResults, runUsersSuite, type UsersResults } from './users-suite.js';
import { summarize } from './stats.js';
import { emptyResults, log, STANDALONE_TARGETS } from './target-results.js';
import { poolClaims, warmTarget } from './warm-pool.js';

/** The build is not measured: a fixed bound, not scaled (a tiny BENCH_DEADLINE_SCALE must not fail it). */
const BUILD_TIMEOUT_MS = 600_000;

async function withServer<T>(start: () => Promise<KernelServer>, use: (s: KernelServer) => Promise<T>): Promise<T> {
  const server = await start();
  try {
    return await use(server);
  } finally {
    await server.stop();
  }
}

/** `npm run build`, stopped (its whole process group) if it takes longer than BUILD_TIMEOUT_MS. */
async function build(): Promise<void> {
  log('npm run build (sparkgate runs from dist/, as in production; BENCH_SKIP_BUILD=1 skips this)');
  const proc = spawnTracked('npm run build', 'npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await DeadlineScope.run('build', BUILD_TIMEOUT_MS, (scope) => scope.wait(proc.exited, BUILD_TIMEOUT_MS, 'npm run build to finish'));
  } catch (err) {
    await stopTracked(proc, 1_000);
    throw err;
  }
  if (proc.child.exitCode !== 0) throw new Error(`npm run build failed (${proc.child.exitCode ?? proc.child.signalCode})`);
}

function hasScala(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v scala'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const options: BenchOptions = benchOptions(process.env);
  const startedAt = Date.now();
  const loadStart = os.loadavg()[0]!;
  const { phases } = options;
  if (!options.skipBuild) await build();
  await ensurePythonEnvs(serverEnvsFor(phases), { extension: phases.has('jupyterlab') });
  const machine = machineInfo();
  const runner = new PhaseRunner({ scale: options.deadlineScale });
  if (options.deadlineScale !== 1 || Object.keys(options.phaseDeadlineMs).length > 0) {
    log(`deadlines: scale ${options.deadlineScale}, phase budgets ${JSON.stringify(options.phaseDeadlineMs)}`);
  }
  const js = emptyResults(JUPYTER_SERVER_LABEL);
  const jsNodelay = emptyResults(JUPYTER_SERVER_NODELAY_LABEL);
  const eg = emptyResults(ENTERPRISE_GATEWAY_LABEL);
  const sparkgate = emptyResults('sparkgate');
  const warm = emptyResults('sparkgate (warm pool)');
  const floor = emptyResults('floor (direct ZeroMQ)');
  let warmNote: string | undefined;

  if (['memory', 'concurrency', 'start'].some((p) => phases.has(p as never))) {
    await runServerSuite(runner, js, (scope) => startJupyterServer(scope), options);
    await runServerSuite(runner, eg, (scope) => startEnterpriseGateway(scope), options);
    await runServerSuite(runner, sparkgate, (scope) => startSparkgate(scope), options);
    await runFloorSuite(runner, floor, options);
  }
  if (phases.has('start')) {
    const budgetMs = phaseBudgetMs('setup', options) + phaseBudgetMs('start', options);
    await runner.run({ name: `${warm.label} start`, targets: [warm.label], phases: ['start'], budgetMs }, (scope) =>
      withServer(
        () => startSparkgate(scope, { warmPool: { [BENCH_KERNEL_NAME]: options.warmPool } }),
        async (server) => {
          const target = await warmTarget(scope, server, options.warmPool);
          if (!target) {
            warmNote = 'n/a (no warm pool gauge on /metrics)';
            return;
          }
          log(`${warm.label}: ${options.starts} kernel starts`);
          warm.start = await measureStart(scope, target, options.starts);
          warm.poolClaims = await poolClaims(scope, server, BENCH_KERNEL_NAME);
          log(`${warm.label}: pool claims ${JSON.stringify(warm.poolClaims)}`);
        },
      ),
    );
  }
  if (phases.has('rtt') || phases.has('iopub')) await runSideBySide(runner, { js, jsNodelay, eg, sparkgate, floor }, options);

  let jupyterlab: JupyterLabResults | undefined;
  if (phases.has('jupyterlab')) {
    log(`JupyterLab path: Jupyter Server 2 in gateway mode in front of sparkgate, extension off and on; ${options.roundTrips} round trips, concurrency ${options.concurrency} x ${options.cells}`);
    jupyterlab = emptyJupyterLabResults();
    await runJupyterLabPath(runner, jupyterlab, options);
  }

  let users: UsersResults | undefined;
  if (phases.has('users')) {
    log(`users: multi-user mode per request (users file of ${options.usersFileUsers} users, JupyterHub cached and uncached) beside single-user mode; ${options.usersRequests} GETs, ${options.usersUpgrades} websocket upgrades each`);
    users = emptyUsersResults(options);
    await runUsersSuite(runner, users, options);
  }

  let jupyterClient;
  if (phases.has('reference')) {
    log(`Python jupyter_client: ${options.roundTrips} round trips`);
    const spec = { name: 'Python jupyter_client reference', targets: [STANDALONE_TARGETS.reference], phases: ['reference' as const], budgetMs: phaseBudgetMs('reference', options) };
    const outcome = await runner.run(spec, (scope) => measureJupyterClientRtt(scope, options.roundTrips));
    if (outcome.ok) jupyterClient = outcome.value;
  }
  let gc;
  if (phases.has('gc')) {
    log(`executor GC: ${options.gcRuns} runs of 50 pods`);
    const spec = { name: 'executor GC', targets: [STANDALONE_TARGETS.gc], phases: ['gc' as const], budgetMs: phaseBudgetMs('gc', options) };
    const outcome = await runner.run(spec, async (scope) => {
      const ms: number[] = [];
      for (let i = 0; i < options.gcRuns; i++) {
        const run = await scope.wait(
          (inner) => measureGcLatency({ pods: 50, timeoutMs: inner.ms(60_000), signal: inner.signal }),
          WAIT_MS.gcRun,
          `executor GC of 50 pods on FakeKube (run ${i + 1} of ${options.gcRuns})`,
        );
        ms.push(run.ms);
      }
      return summarize(ms);
    });
    if (outcome.ok) gc = outcome.value;
  }

  let scala;
  if (phases.has('scala')) {
    if (!hasScala()) log('Scala kernel: skipped (no scala on PATH; apt-get install -y scala)');
    else {
      log('Scala kernel: 100 round trips of 1+1');
      const spec = { name: 'Scala kernel round trips', targets: [STANDALONE_TARGETS.scala], phases: ['scala' as const], budgetMs: phaseBudgetMs('scala', options) };
      const outcome = await runner.run(spec, async (scope) => {
        const gateway = await startScalaGateway(scope);
        try {
          return await measureScalaRoundTrip({ url: gateway.url, token: gateway.token, n: 100, scope });
        } finally {
          await gateway.stop();
        }
      });
      if (outcome.ok) scala = outcome.value;
    }
  }

  let spark: SparkResults | undefined;
  if (phases.has('spark')) {
    log(`Spark sessions: ${[...options.sparkParts].join(', ')} (sparkgate pyspark/spark-scala against a bare pyspark REPL)`);
    spark = await runSparkSuite(runner, options);
  }

  let k8s: K8sResults | undefined;
  if (phases.has('k8s')) {
    log('Kubernetes: executor GC, job submit to first executor and the reaper on the test control plane (test/control-plane/)');
    k8s = await runK8sSuite(runner, options);
  }

  const { failures } = runner;
  const results: AllResults = {
    js,
    jsNodelay,
    eg,
    sparkgate,
    warm,
    floor,
    failures,
    ...(warmNote ? { warmNote } : {}),
    ...(jupyterClient ? { jupyterClient } : {}),
    ...(jupyterlab ? { jupyterlab } : {}),
    ...(users ? { users } : {}),
    ...(gc ? { gc } : {}),
    ...(scala ? { scala } : {}),
    ...(spark ? { spark } : {}),
    ...(k8s ? { k8s } : {}),
  };
  const rows = figureRows(results, options);
  console.log(renderTable(rows));
  console.log();
  const conditions = { ...options, loadStart, loadEnd: os.loadavg()[0]!, minutes: (Date.now() - startedAt) / 60_000 };
  console.log(reportNotes(machine, results, conditions));

  const dir = path.join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'latest.json');
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, conditions: { ...conditions, phases: [...phases] }, rows, results }, null, 2));
  log(`wrote ${path.relative(REPO_ROOT, file)}`);
  if (failures.length > 0) {
    log(`${failures.length} phase result(s) failed (see the notes); exit code 1`);
    process.exitCode = 1;
  }
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${signal}: stopping every process the bench started`);
    void stopAll().finally(() => process.exit(130));
  });
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
    process.exit();
  });
