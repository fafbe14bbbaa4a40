/**
 * The spark phase (issue 11): Spark sessions through sparkgate side by side with their floor, a
 * bare pyspark REPL on the same Spark and conf (pyspark-repl.ts). Four parts, each a phase of
 * the phase runner with its own gateway, budget and failure cells:
 *
 *   start   cold `pyspark` session to its first `spark.range(1000).count()`, gateway and bare
 *           REPL alternating sample by sample (after one untimed REPL start that warms the page
 *           cache for both); the REPL samples also time the first count of a running session.
 *   warm    a gateway with SPARKGATE_WARM_POOL={"pyspark":1}: wait until the pool is ready (and
 *           WARM_SETTLE_MS more), then claim and count; the pool's claims by result.
 *   rtt     `1+1` on a pyspark session, on a spark-scala session (spark-shell behind the Node
 *           adapter) and on a plain ipykernel over ZeroMQ (the rtt phase's floor), interleaved in
 *           blocks; a spark-scala session that does not start fails its rows only.
 *   memory  gateway RSS per idle pyspark session (baseline after one session started and
 *           deleted, like the memory phase) and the driver's process tree (kernel python, the
 *           JVM) per session, against a bare REPL's tree.
 *
 * Every process a part starts is a tracked process in its own group: stopped by the part, and by
 * the phase runner when the part fails or misses its budget.
 */
import { executeWithin, type BenchClient } from './bench-client.js';
import type { BenchOptions, SparkPart } from './bench-options.js';
import { sparkPartBudgetMs, WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import { DirectKernel } from './direct-kernel.js';
import type { KernelServer } from './kernel-server.js';
import { settledRssKiB } from './measure-memory.js';
import type { PhaseRunner } from './phase-runner.js';
import { descendants, rssKiB } from './processes.js';
import { PysparkRepl, SPARK_COUNT_CELL } from './pyspark-repl.js';
import { openSparkSession, type SparkSession } from './spark-session.js';
import { startSparkgate } from './sparkgate-server.js';
import { summarize, type Summary } from './stats.js';
import { log } from './target-results.js';
import { poolClaims, readyInPool } from './warm-pool.js';

/** Column labels of the parts' failures (phase `spark`). */
export const SPARK_TARGETS = {
  start: 'Spark cold start',
  warm: 'Spark warm pool',
  rtt: 'Spark round trips',
  scala: 'spark-scala kernel',
  memory: 'Spark memory',
} as const;

/** A pooled session has just come up: its JVM is still compiling. A user claims it later than that. */
export const WARM_SETTLE_MS = 2_000;
const RTT_BLOCK = 20;
const RTT_WARMUP = 20;

export interface SparkResults {
  start?: { gateway: Summary; floor: Summary; floorFirstCount: Summary };
  /** `secondCount`: the same cell again on the claimed session (Spark's first-job cost left out). */
  warm?: { claim: Summary; secondCount: Summary; poolClaims: Record<string, number> };
  rtt?: { pyspark?: Summary; sparkScala?: Summary; floor?: Summary };
  memory?: { sessions: number; gatewayRss0MB: number; gatewayRssNMB: number; gatewayPerSessionMB: number; driverTreeMB: number; floorTreeMB: number };
}

const mb = (kib: number): number => Math.round(((kib * 1024) / 1e6) * 10) / 10;

/**
 * Driver, blockManager and UI port ranges of one bench gateway: 16 slots each, at a random base
 * below Linux's ephemeral range (32768+) and away from the default 40000-40249, so that other
 * gateways on the machine (tests running alongside) do not take a session's port between the
 * gateway's probe and the JVM's bind (seen: "Service 'sparkDriver' failed after 0 retries").
 */
function sparkPortEnv(): Record<string, string> {
  const base = 20_000 + 64 * Math.floor(Math.random() * 150);
  const range = (offset: number): string => `${base + offset}-${base + offset + 15}`;
  return {
    SPARKGATE_SPARK_DRIVER_PORT_RANGE: range(0),
    SPARKGATE_SPARK_BLOCK_MANAGER_PORT_RANGE: range(16),
    SPARKGATE_SPARK_UI_PORT_RANGE: range(32),
  };
}

function sparkGateway(scope: DeadlineScope, label: string, warmPool?: Record<string, number>): Promise<KernelServer> {
  return startSparkgate(scope, { label, projectKernelspecs: true, kernelStartTimeoutMs: Math.min(600_000, scope.ms(WAIT_MS.sparkStart)), env: sparkPortEnv(), ...(warmPool ? { warmPool } : {}) });
}

async function withGateway<T>(scope: DeadlineScope, label: string, warmPool: Record<string, number> | undefined, use: (server: KernelServer) => Promise<T>): Promise<T> {
  const server = await sparkGateway(scope, label, warmPool);
  try {
    return await use(server);
  } finally {
    await server.stop();
  }
}

async function replSample(scope: DeadlineScope): Promise<{ coldMs: number; firstCountMs: number }> {
  const repl = await PysparkRepl.spawn();
  try {
    return await repl.untilCount(scope);
  } finally {
    await repl.stop();
  }
}

async function coldStarts(scope: DeadlineScope, o: BenchOptions): Promise<NonNullable<SparkResults['start']>> {
  return withGateway(scope, 'sparkgate (pyspark)', undefined, async (server) => {
    log('spark start: one untimed bare REPL start (page cache, for both targets)');
    await replSample(scope);
    const gateway: number[] = [];
    const floor: number[] = [];
    const firstCount: number[] = [];
    for (let i = 0; i < o.sparkStarts; i++) {
      // Alternating who goes first: a trend in the machine's load falls on both alike.
      const order = i % 2 === 0 ? (['gateway', 'floor'] as const) : (['floor', 'gateway'] as const);
      for (const who of order) {
        if (who === 'gateway') {
          const session = await openSparkSession(scope, server);
          gateway.push(session.toCountMs);
          await session.close(); // not timed
        } else {
          const t = await replSample(scope);
          floor.push(t.coldMs);
          firstCount.push(t.firstCountMs);
        }
      }
      log(`spark start ${i + 1}/${o.sparkStarts}: sparkgate ${gateway.at(-1)!.toFixed(0)} ms, bare REPL ${floor.at(-1)!.toFixed(0)} ms (first count ${firstCount.at(-1)!.toFixed(0)} ms)`);
    }
    return { gateway: summarize(gateway), floor: summarize(floor), floorFirstCount: summarize(firstCount) };
  });
}

async function warmClaims(scope: DeadlineScope, o: BenchOptions): Promise<NonNullable<SparkResults['warm']>> {
  return withGateway(scope, 'sparkgate (pyspark warm pool)', { pyspark: 1 }, async (server) => {
    const poolReady = (inner: DeadlineScope): Promise<boolean> =>
      readyInPool(inner, server, 'pyspark').then(
        (n) => (n ?? 0) >= 1,
        () => false,
      );
    const claims: number[] = [];
    const seconds: number[] = [];
    for (let i = 0; i < o.sparkWarmStarts; i++) {
      await scope.poll(poolReady, WAIT_MS.sparkStart, `the pyspark warm pool of ${server.label} to be ready (claim ${i + 1} of ${o.sparkWarmStarts})`, 100);
      await scope.sleep(WARM_SETTLE_MS);
      const session = await openSparkSession(scope, server);
      claims.push(session.toCountMs);
      try {
        const t0 = performance.now();
        await executeWithin(scope, session.client, SPARK_COUNT_CELL, { baseMs: WAIT_MS.sparkStart });
        seconds.push(performance.now() - t0);
      } finally {
        await session.close();
      }
      log(`spark warm claim ${i + 1}/${o.sparkWarmStarts}: ${session.toCountMs.toFixed(0)} ms (second count ${seconds.at(-1)!.toFixed(0)} ms)`);
    }
    return { claim: summarize(claims), secondCount: summarize(seconds), poolClaims: await poolClaims(scope, server, 'pyspark') };
  });
}

interface RttLane {
  readonly name: 'pyspark' | 'sparkScala' | 'floor';
  readonly client: BenchClient;
  readonly baseMs: number;
  readonly samples: number[];
}

async function roundTrips(scope: DeadlineScope, runner: PhaseRunner, o: BenchOptions): Promise<NonNullable<SparkResults['rtt']>> {
  return withGateway(scope, 'sparkgate (Spark round trips)', undefined, async (server) => {
    const closers: (() => Promise<void>)[] = [];
    try {
      const lanes: RttLane[] = [];
      const pyspark: SparkSession = await openSparkSession(scope, server);
      closers.push(() => pyspark.close());
      lanes.push({ name: 'pyspark', client: pyspark.client, baseMs: WAIT_MS.cell, samples: [] });
      const direct = await DirectKernel.start(scope);
      closers.push(() => direct.stop());
      await direct.client.waitForIopub(scope);
      lanes.push({ name: 'floor', client: direct.client, baseMs: WAIT_MS.cell, samples: [] });
      try {
        const id = await server.startKernel(scope, 'spark-scala', WAIT_MS.scalaStart);
        closers.push(() => server.deleteKernel(scope, id, WAIT_MS.sparkStop));
        const client = await server.connect(scope, id, 'v1');
        closers.push(async () => client.close());
        // The REPL answers once spark-shell is up: `1+1` until its reply is the readiness check.
        await executeWithin(scope, client, '1+1', { baseMs: WAIT_MS.scalaStart, where: () => 'the spark-scala kernel\'s first cell' });
        lanes.push({ name: 'sparkScala', client, baseMs: WAIT_MS.scalaCell, samples: [] });
      } catch (err) {
        if (scope.signal.aborted) throw err;
        runner.fail('spark-scala kernel: start', [SPARK_TARGETS.scala], ['spark'], err);
      }
      for (const lane of lanes) for (let i = 0; i < RTT_WARMUP; i++) await executeWithin(scope, lane.client, '1+1', { baseMs: lane.baseMs });
      const rounds = Math.ceil(o.sparkRoundTrips / RTT_BLOCK);
      for (let round = 0; round < rounds; round++) {
        for (const lane of lanes) {
          const n = Math.min(RTT_BLOCK, o.sparkRoundTrips - round * RTT_BLOCK);
          for (let i = 0; i < n; i++) {
            const t0 = performance.now();
            await executeWithin(scope, lane.client, '1+1', { baseMs: lane.baseMs, where: () => `${lane.name}, round trip ${lane.samples.length + 1} of ${o.sparkRoundTrips}` });
            lane.samples.push(performance.now() - t0);
          }
        }
      }
      const out: NonNullable<SparkResults['rtt']> = {};
      for (const lane of lanes) out[lane.name] = summarize(lane.samples);
      return out;
    } finally {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    }
  });
}

/** RSS of every process below `pid` (the gateway's kernels and their JVMs), in KiB. */
function treeBelowKiB(pid: number): number {
  let total = 0;
  for (const p of descendants(pid)) {
    try {
      total += rssKiB(p);
    } catch {
      /* exited while we looked */
    }
  }
  return total;
}

async function memory(scope: DeadlineScope, o: BenchOptions): Promise<NonNullable<SparkResults['memory']>> {
  const n = o.sparkSessions;
  const gatewayPart = await withGateway(scope, 'sparkgate (Spark memory)', undefined, async (server) => {
    // Baseline after one session: code loaded on first use is not per-session memory.
    await (await openSparkSession(scope, server)).close();
    const rss0 = await settledRssKiB(scope, server, o.settleMs);
    const sessions: SparkSession[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const session = await openSparkSession(scope, server);
        sessions.push(session);
        session.client.close(); // idle sessions, no websocket clients (as in the memory phase)
      }
      const rssN = await settledRssKiB(scope, server, o.settleMs);
      const trees = [0, 1, 2].map(() => treeBelowKiB(server.pid));
      return { rss0, rssN, driverKiB: trees.sort((a, b) => a - b)[1]! / n };
    } finally {
      for (const s of sessions) await s.close().catch(() => undefined);
    }
  });
  const repls: PysparkRepl[] = [];
  let floorKiB: number;
  try {
    for (let i = 0; i < n; i++) {
      const repl = await PysparkRepl.spawn(`bare pyspark REPL ${i + 1}`);
      repls.push(repl);
      await repl.untilCount(scope);
    }
    await scope.sleep(o.settleMs);
    const readings = [0, 1, 2].map(() => repls.reduce((sum, r) => sum + r.treeRssKiB(), 0));
    floorKiB = readings.sort((a, b) => a - b)[1]! / n;
  } finally {
    await Promise.all(repls.map((r) => r.stop()));
  }
  return {
    sessions: n,
    gatewayRss0MB: mb(gatewayPart.rss0),
    gatewayRssNMB: mb(gatewayPart.rssN),
    gatewayPerSessionMB: Math.round((((gatewayPart.rssN - gatewayPart.rss0) * 1024) / 1e6 / n) * 100) / 100,
    driverTreeMB: mb(gatewayPart.driverKiB),
    floorTreeMB: mb(floorKiB),
  };
}

/** Run the four parts; each that fails is recorded (its rows say so) and the next one runs. */
export async function runSparkSuite(runner: PhaseRunner, o: BenchOptions): Promise<SparkResults> {
  const results: SparkResults = {};
  const part = async <K extends keyof SparkResults>(key: K & SparkPart, target: string, body: (scope: DeadlineScope) => Promise<NonNullable<SparkResults[K]>>): Promise<void> => {
    if (!o.sparkParts.has(key)) return;
    log(`spark ${key}`);
    const outcome = await runner.run({ name: target, targets: [target], phases: ['spark'], budgetMs: sparkPartBudgetMs(key, o) }, body);
    if (outcome.ok) results[key] = outcome.value;
  };
  await part('start', SPARK_TARGETS.start, (scope) => coldStarts(scope, o));
  await part('warm', SPARK_TARGETS.warm, (scope) => warmClaims(scope, o));
  await part('rtt', SPARK_TARGETS.rtt, (scope) => roundTrips(scope, runner, o));
  await part('memory', SPARK_TARGETS.memory, (scope) => memory(scope, o));
  return results;
}
