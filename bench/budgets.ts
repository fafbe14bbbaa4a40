/**
 * How long the bench waits: each single wait (a reply, a socket, a process) and each phase as a
 * whole. Generous, because a loaded 2-core machine runs several times slower than an idle one
 * and a slow figure is still a figure; bounded, because a server that stopped answering must
 * cost a failed row, not the run. Every value is multiplied by BENCH_DEADLINE_SCALE; a phase's
 * budget can also be set outright (BENCH_<PHASE>_DEADLINE_MS, see bench-options.ts).
 */
import type { BenchOptions, Phase, SparkPart } from './bench-options.js';

/** Base deadlines of single waits, in ms (scaled by DeadlineScope.ms). */
export const WAIT_MS = {
  /** A server process to answer (Python imports, Node startup), or to print its URL. */
  serverUp: 60_000,
  /** One REST call with no kernel work; DELETE of a kernel (its polite shutdown included). */
  http: 30_000,
  /** POST /api/kernels (Jupyter Server answers once the kernel runs), a spawned kernel's first reply. */
  kernelStart: 90_000,
  /**
   * A kernel websocket to open. Jupyter Server 1.x (Enterprise Gateway's) holds the upgrade until the kernel answers a
   * kernel_info_request and gives up waiting after its kernel_info_timeout (60 s), then opens
   * anyway: the deadline leaves it that fallback.
   */
  wsOpen: 90_000,
  /** execute_reply + status idle of a one-line cell (`1+1`, `x=1`): ~5 ms idle, ~100 ms under load. */
  cell: 30_000,
  /** Added to `cell` per printed line of the iopub cell (typically 2.5 us a line; 20x that). */
  iopubLine: 0.05,
  /** The warm pool to be full again. */
  poolFill: 60_000,
  /** The Node inspector of a gateway: listing, websocket, one HeapProfiler.collectGarbage. */
  inspector: 30_000,
  /** One executor GC run on FakeKube (the collector's own timeout is 60 s of it). */
  gcRun: 90_000,
  /** The Scala kernel: POST /api/kernels starts a REPL JVM; one compiled cell. */
  scalaStart: 240_000,
  scalaCell: 60_000,
  /**
   * A Spark session from nothing to its first `spark.range(1000).count()`: a driver JVM started
   * by spark-submit plus the first job; 10-40 s on a 2-core machine, more under load.
   */
  sparkStart: 180_000,
  /** DELETE of a Spark kernel: the gateway stops the SparkContext and waits for the JVM. */
  sparkStop: 60_000,
} as const;

/**
 * Base budget of one part of the spark phase (each part is run, budgeted and failed on its own). BENCH_SPARK_DEADLINE_MS, when given, is the
 * budget of each part (not of the four together).
 */
const SPARK_PART_BUDGET_MS: Readonly<Record<SparkPart, (o: BenchOptions) => number>> = {
  // Each sample: a gateway session and a bare REPL, one after the other, each started and stopped.
  start: (o) => 60_000 + o.sparkStarts * 2 * (WAIT_MS.sparkStart / 2 + WAIT_MS.sparkStop / 2),
  // The pool's first fill, then per sample a claim and the refill (a session start) behind it.
  warm: (o) => 60_000 + (o.sparkWarmStarts + 1) * (WAIT_MS.sparkStart / 2 + WAIT_MS.sparkStop / 2),
  // A pyspark session, a spark-shell REPL, a plain kernel; then three lanes of round trips (a
  // compiled Scala cell ~0.1-1 s).
  rtt: (o) => 60_000 + WAIT_MS.sparkStart + WAIT_MS.scalaStart + 3 * (o.sparkRoundTrips + 25) * 1_000,
  // One session started and deleted, `sparkSessions` sessions and as many bare REPLs, two settles.
  memory: (o) => 60_000 + (2 * o.sparkSessions + 1) * (WAIT_MS.sparkStart / 2) + 3 * (o.settleMs + 10_000),
};

export function sparkPartBudgetMs(part: SparkPart, o: BenchOptions): number {
  return o.phaseDeadlineMs.spark ?? Math.max(1, Math.round(SPARK_PART_BUDGET_MS[part](o) * o.deadlineScale));
}

/** jupyter_client_rtt.py doing `roundTrips` (+50 warm-up) round trips, kernel start included. */
export function referenceRunMs(roundTrips: number): number {
  return 60_000 + (roundTrips + 50) * 50;
}

/** Starting a server, or (side by side) four servers, their kernels and clients. */
export type Stage = Phase | 'setup';

/** Base budgets of whole phases, in ms, scaled by the phase's size. */
const PHASE_BUDGET_MS: Readonly<Record<Stage, (o: BenchOptions) => number>> = {
  setup: () => 180_000,
  // Each sample: a kernel start (~0.6 s) and its untimed delete.
  start: (o) => 60_000 + o.starts * 10_000,
  // Two settle periods and readings; every idle kernel started and later deleted.
  memory: (o) => 60_000 + 2 * (o.settleMs + 10_000) + o.idleKernels * 3_000,
  // Kernels started and connected, then every cell (~3.5 ms each at 283 cells/s; 20 ms here).
  concurrency: (o) => 60_000 + o.concurrency * 3_000 + o.concurrency * o.cells * 20,
  // Up to eight lanes: five at roundTrips (Jupyter Server 2 and its TCP_NODELAY twin, Enterprise
  // Gateway, sparkgate, the floor), three legacy ones; ~48 ms a round trip at worst (Nagle).
  rtt: (o) => 60_000 + (5 * (o.roundTrips + 50) + 3 * (o.legacyRoundTrips + 50)) * 100,
  // Seven lanes (v1 and legacy of three servers, the floor), each a warm-up cell and the repeats.
  // The jupyterlab phase's round trips: four lanes (sparkgate direct, Jupyter Server 2 in gateway
  // mode with the extension off and on, the floor), ~48 ms a round trip at worst (Nagle); its
  // concurrency runs have the concurrency budget each.
  jupyterlab: (o) => 60_000 + 4 * (o.roundTrips + 50) * 100,
  // The users phase's measurements (its setup and memory reading have the setup budget each): a
  // kernel per gateway (4), five request lanes (~1 ms a request, ~10 ms when the Hub answers it;
  // 50 ms here) and four upgrade lanes (an upgrade and a kernel_info_reply, ~5-20 ms; 250 ms).
  users: (o) => 60_000 + 4 * (WAIT_MS.kernelStart / 3) + 5 * (o.usersRequests + 50) * 50 + 4 * (o.usersUpgrades + 5) * 250,
  iopub: (o) => 60_000 + 7 * (o.iopubRepeats + 1) * (WAIT_MS.cell / 10 + o.iopubLines * WAIT_MS.iopubLine),
  reference: (o) => 30_000 + referenceRunMs(o.roundTrips),
  gc: (o) => o.gcRuns * WAIT_MS.gcRun,
  // Gateway, REPL start, 105 compiled cells.
  scala: () => WAIT_MS.serverUp + WAIT_MS.scalaStart + 105 * 5_000,
  // The control plane (a cold build takes ~8-20 min), GC runs, jobs from zero executors, the reaper.
  k8s: (o) => 1_500_000 + o.k8sGcRuns * 3 * 60_000 + 300_000 + o.k8sSubmits * 300_000,
  // The sum of its parts (each has its own budget: sparkPartBudgetMs).
  spark: (o) => [...o.sparkParts].reduce((sum, part) => sum + SPARK_PART_BUDGET_MS[part](o), 0),
};

/** The budget of a whole phase: BENCH_<PHASE>_DEADLINE_MS when given, else the scaled formula. */
export function phaseBudgetMs(stage: Stage, o: BenchOptions): number {
  const explicit = stage === 'setup' ? undefined : o.phaseDeadlineMs[stage];
  return explicit ?? Math.max(1, Math.round(PHASE_BUDGET_MS[stage](o) * o.deadlineScale));
}
