/**
 * `npm run bench`: Jupyter Server, sparkgate (cold and warm pool) and a direct ZeroMQ floor, side
 * by side on the same ipykernel; prints a markdown table (stdout; progress on stderr) and writes
 * bench/results/latest.json. Not part of `npm test`: targets live here, never in timed unit tests.
 * Options: see bench-options.ts. Every process started is stopped at the end, on error and on
 * SIGINT/SIGTERM.
 *
 * Phases: each server alone (memory, concurrency, start) -> the floor alone (start,
 * concurrency) -> sparkgate with a warm pool (start) -> all targets interleaved (round trips,
 * iopub) -> Python jupyter_client reference -> executor GC on FakeKube.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../src/config.js';
import { BENCH_KERNEL_NAME } from './bench-kernelspec.js';
import { benchOptions } from './bench-options.js';
import { figureRows, type AllResults } from './figure-rows.js';
import { runFloorSuite } from './floor-suite.js';
import { measureGcLatency } from './gc-latency.js';
import { runInterleaved } from './interleaved-suite.js';
import { startJupyterServer } from './jupyter-server.js';
import type { KernelServer } from './kernel-server.js';
import { openLanes } from './lanes.js';
import { machineInfo } from './machine-info.js';
import { measureStart } from './measure-start.js';
import { stopAll } from './processes.js';
import { measureJupyterClientRtt } from './python-reference.js';
import { reportNotes } from './report-notes.js';
import { renderTable } from './report-table.js';
import { measureScalaRoundTrip, startGateway as startScalaGateway } from './scala-rtt.js';
import { runServerSuite } from './server-suite.js';
import { startSparkgate } from './sparkgate-server.js';
import { summarize } from './stats.js';
import { emptyResults, log, type TargetResults } from './target-results.js';
import { poolClaims, warmTarget } from './warm-pool.js';

async function withServer<T>(start: () => Promise<KernelServer>, use: (s: KernelServer) => Promise<T>): Promise<T> {
  const server = await start();
  try {
    return await use(server);
  } finally {
    await server.stop();
  }
}

/** A target that fails is reported with its error; the others still run. */
async function guarded(target: TargetResults, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    log(`${target.label} failed: ${(err as Error).stack ?? String(err)}`);
    target.error = (err as Error).message;
  }
}

async function main(): Promise<void> {
  const options = benchOptions(process.env);
  const startedAt = Date.now();
  const loadStart = os.loadavg()[0]!;
  const { phases } = options;
  if (!options.skipBuild) {
    log('npm run build (sparkgate runs from dist/, as in production; BENCH_SKIP_BUILD=1 skips this)');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const machine = machineInfo();
  const js = emptyResults('Jupyter Server');
  const jsNodelay = emptyResults('Jupyter Server (+TCP_NODELAY)');
  const sparkgate = emptyResults('sparkgate');
  const warm = emptyResults('sparkgate (warm pool)');
  const floor = emptyResults('floor (direct ZeroMQ)');
  const sideBySide = emptyResults('round-trip/iopub phase (all targets side by side)');
  let warmNote: string | undefined;
  const merge = (into: TargetResults, from: TargetResults): void => void Object.assign(into, from, { label: into.label });

  if (['memory', 'concurrency', 'start'].some((p) => phases.has(p as never))) {
    await guarded(js, async () => merge(js, await withServer(() => startJupyterServer(), (s) => runServerSuite(s, options))));
    await guarded(sparkgate, async () => merge(sparkgate, await withServer(() => startSparkgate(), (s) => runServerSuite(s, options))));
    await guarded(floor, async () => merge(floor, await runFloorSuite(options)));
  }
  if (phases.has('start')) {
    await guarded(warm, () =>
      withServer(
        () => startSparkgate({ warmPool: { [BENCH_KERNEL_NAME]: options.warmPool } }),
        async (server) => {
          const target = await warmTarget(server, options.warmPool);
          if (!target) {
            warmNote = 'n/a (no warm pool gauge on /metrics)';
            return;
          }
          log(`${warm.label}: ${options.starts} kernel starts`);
          warm.start = await measureStart(target, options.starts);
          warm.poolClaims = await poolClaims(server, BENCH_KERNEL_NAME);
          log(`${warm.label}: pool claims ${JSON.stringify(warm.poolClaims)}`);
        },
      ),
    );
  }
  if (phases.has('rtt') || phases.has('iopub')) {
    await guarded(sideBySide, async () => {
      const open = await openLanes({ js, jsNodelay, sparkgate, floor }, options);
      try {
        await runInterleaved(open.lanes, options);
      } finally {
        await open.close();
      }
    });
  }
  let jupyterClient;
  if (phases.has('reference')) {
    log(`Python jupyter_client: ${options.roundTrips} round trips`);
    jupyterClient = await measureJupyterClientRtt(options.roundTrips).catch((err: unknown) => {
      log(`jupyter_client reference failed: ${(err as Error).message}`);
      return undefined;
    });
  }
  let gc;
  if (phases.has('gc')) {
    log(`executor GC: ${options.gcRuns} runs of 50 pods`);
    const ms: number[] = [];
    for (let i = 0; i < options.gcRuns; i++) ms.push((await measureGcLatency({ pods: 50 })).ms);
    gc = summarize(ms);
  }

  let scala;
  if (phases.has('scala')) {
    let hasScala = true;
    try {
      execFileSync('sh', ['-c', 'command -v scala'], { stdio: 'ignore' });
    } catch {
      hasScala = false;
      log('Scala kernel: skipped (no scala on PATH; apt-get install -y scala)');
    }
    if (hasScala) {
      log('Scala kernel: 100 round trips of 1+1');
      const gateway = await startScalaGateway();
      try {
        scala = await measureScalaRoundTrip({ url: gateway.url, token: gateway.token, n: 100 });
      } catch (err) {
        log(`Scala kernel failed: ${(err as Error).message}`);
      } finally {
        await gateway.stop();
      }
    }
  }

  const results: AllResults = { js, jsNodelay, sparkgate, warm, floor, ...(warmNote ? { warmNote } : {}), ...(jupyterClient ? { jupyterClient } : {}), ...(gc ? { gc } : {}), ...(scala ? { scala } : {}) };
  const rows = figureRows(results, options);
  console.log(renderTable(rows));
  console.log();
  const conditions = { ...options, loadStart, loadEnd: os.loadavg()[0]!, minutes: (Date.now() - startedAt) / 60_000 };
  console.log(reportNotes(machine, results, conditions));
  const errors = [js, jsNodelay, sparkgate, warm, floor, sideBySide].filter((t) => t.error).map((t) => `- ${t.label} failed: ${t.error}`);
  if (errors.length > 0) console.log(`\nErrors:\n${errors.join('\n')}`);

  const dir = path.join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'latest.json');
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, conditions: { ...conditions, phases: [...phases] }, rows, results }, null, 2));
  log(`wrote ${path.relative(REPO_ROOT, file)}`);
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
