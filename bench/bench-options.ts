/**
 * Bench options from the environment, read once by run.ts; defaults are issue 5's numbers.
 *
 *   BENCH_STARTS=30         kernel starts per target (cold, warm, floor)
 *   BENCH_ROUNDTRIPS=1000   `1+1` round trips per target (v1 websocket, floor)
 *   BENCH_LEGACY_ROUNDTRIPS=200  the same on the legacy websocket protocol (an extra figure)
 *   BENCH_IOPUB_LINES=100000, BENCH_IOPUB_REPEATS=3
 *   BENCH_CONCURRENCY=32    kernels (and clients) at once; BENCH_CELLS=200 cells each
 *   BENCH_IDLE_KERNELS=100  idle kernels for the memory figure; BENCH_SETTLE_MS=5000
 *   BENCH_WARM_POOL=2       warm pool size of the "sparkgate warm" gateway
 *   BENCH_GC_RUNS=5         executor GC runs (50 pods each)
 *   BENCH_SPARK_STARTS=3    cold pyspark starts (gateway and bare REPL, each) for the spark phase
 *   BENCH_SPARK_WARM_STARTS=5  warm-pool pyspark claims (each waits for the pool to refill)
 *   BENCH_SPARK_ROUNDTRIPS=100 `1+1` round trips on pyspark, spark-scala and the plain floor
 *   BENCH_SPARK_SESSIONS=3  idle pyspark sessions (and bare REPLs) for the Spark memory rows
 *   BENCH_SPARK_PARTS=start,warm,rtt,memory  the parts of the spark phase to run
 *   BENCH_K8S_GC_RUNS=5     executor GC runs of 50 pods on the real API server (each way)
 *   BENCH_K8S_SUBMITS=3     jobs submitted from zero executors (submit -> first executor)
 *   BENCH_USERS_REQUESTS=1000  keep-alive `GET /api/kernels` per identity source (users phase)
 *   BENCH_USERS_UPGRADES=200   kernel websocket upgrades + first kernel_info_reply per source
 *   BENCH_USERS_FILE_USERS=1000  users (each with a token) in the users-file gateway's file
 *   BENCH_ONLY=start,rtt,iopub,concurrency,memory,jupyterlab,users,gc,reference,scala,spark,k8s   run a subset
 *                           (jupyterlab: `1+1` round trips and the concurrency run through Jupyter
 *                           Server 2 in gateway mode, sparkgate extension off and on; it uses
 *                           BENCH_ROUNDTRIPS, BENCH_CONCURRENCY and BENCH_CELLS; users: what
 *                           multi-user mode costs per request, users-suite.ts)
 *   BENCH_SKIP_BUILD=1      do not run `npm run build` first (dist/ must be current)
 *   BENCH_CPU_PROF=<dir>    write a V8 CPU profile of the (cold) sparkgate process there
 *   BENCH_DEADLINE_SCALE=1  multiplies every deadline (budgets.ts): 3 on a slow machine, 0.001 to
 *                           see every phase fail fast
 *   BENCH_<PHASE>_DEADLINE_MS  the budget of one phase, e.g. BENCH_CONCURRENCY_DEADLINE_MS=5000
 *                           (not scaled; its single waits keep their own scaled deadlines)
 */
export const PHASES = ['start', 'rtt', 'iopub', 'concurrency', 'memory', 'jupyterlab', 'users', 'gc', 'reference', 'scala', 'spark', 'k8s'] as const;
export type Phase = (typeof PHASES)[number];
export const SPARK_PARTS = ['start', 'warm', 'rtt', 'memory'] as const;
export type SparkPart = (typeof SPARK_PARTS)[number];

export interface BenchOptions {
  readonly starts: number;
  readonly roundTrips: number;
  readonly legacyRoundTrips: number;
  readonly iopubLines: number;
  readonly iopubRepeats: number;
  readonly concurrency: number;
  readonly cells: number;
  readonly idleKernels: number;
  readonly settleMs: number;
  readonly warmPool: number;
  readonly gcRuns: number;
  readonly sparkStarts: number;
  readonly sparkWarmStarts: number;
  readonly sparkRoundTrips: number;
  readonly sparkSessions: number;
  readonly sparkParts: ReadonlySet<SparkPart>;
  readonly k8sGcRuns: number;
  readonly k8sSubmits: number;
  readonly usersRequests: number;
  readonly usersUpgrades: number;
  readonly usersFileUsers: number;
  readonly phases: ReadonlySet<Phase>;
  readonly skipBuild: boolean;
  readonly cpuProfDir: string | undefined;
  readonly deadlineScale: number;
  /** Phase budgets given explicitly, in ms; the others come from budgets.ts. */
  readonly phaseDeadlineMs: Readonly<Partial<Record<Phase, number>>>;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number >= ${min}, e.g. ${name}=${fallback}; got ${JSON.stringify(raw)}`);
  return n;
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a number > 0, e.g. ${name}=${fallback}; got ${JSON.stringify(raw)}`);
  return n;
}

function phaseDeadlines(env: NodeJS.ProcessEnv): Partial<Record<Phase, number>> {
  const out: Partial<Record<Phase, number>> = {};
  for (const phase of PHASES) {
    const name = `BENCH_${phase.toUpperCase()}_DEADLINE_MS`;
    if (env[name] !== undefined && env[name] !== '') out[phase] = int(env, name, 60_000);
  }
  return out;
}

export function benchOptions(env: NodeJS.ProcessEnv): BenchOptions {
  const only = (env['BENCH_ONLY'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of only) if (!(PHASES as readonly string[]).includes(p)) throw new Error(`BENCH_ONLY: unknown phase ${p}; phases: ${PHASES.join(',')}`);
  const parts = (env['BENCH_SPARK_PARTS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of parts) if (!(SPARK_PARTS as readonly string[]).includes(p)) throw new Error(`BENCH_SPARK_PARTS: unknown part ${p}; parts: ${SPARK_PARTS.join(',')}, e.g. BENCH_SPARK_PARTS=start,warm`);
  return Object.freeze({
    starts: int(env, 'BENCH_STARTS', 30),
    roundTrips: int(env, 'BENCH_ROUNDTRIPS', 1000),
    legacyRoundTrips: int(env, 'BENCH_LEGACY_ROUNDTRIPS', 200),
    iopubLines: int(env, 'BENCH_IOPUB_LINES', 100_000),
    iopubRepeats: int(env, 'BENCH_IOPUB_REPEATS', 3),
    concurrency: int(env, 'BENCH_CONCURRENCY', 32),
    cells: int(env, 'BENCH_CELLS', 200),
    idleKernels: int(env, 'BENCH_IDLE_KERNELS', 100),
    settleMs: int(env, 'BENCH_SETTLE_MS', 5_000, 0),
    warmPool: int(env, 'BENCH_WARM_POOL', 2),
    gcRuns: int(env, 'BENCH_GC_RUNS', 5),
    sparkStarts: int(env, 'BENCH_SPARK_STARTS', 3),
    sparkWarmStarts: int(env, 'BENCH_SPARK_WARM_STARTS', 5),
    sparkRoundTrips: int(env, 'BENCH_SPARK_ROUNDTRIPS', 100),
    sparkSessions: int(env, 'BENCH_SPARK_SESSIONS', 3),
    sparkParts: new Set<SparkPart>(parts.length > 0 ? (parts as SparkPart[]) : SPARK_PARTS),
    k8sGcRuns: int(env, 'BENCH_K8S_GC_RUNS', 5),
    k8sSubmits: int(env, 'BENCH_K8S_SUBMITS', 3),
    usersRequests: int(env, 'BENCH_USERS_REQUESTS', 1000),
    usersUpgrades: int(env, 'BENCH_USERS_UPGRADES', 200),
    usersFileUsers: int(env, 'BENCH_USERS_FILE_USERS', 1000),
    phases: new Set<Phase>(only.length > 0 ? (only as Phase[]) : PHASES),
    skipBuild: env['BENCH_SKIP_BUILD'] === '1',
    cpuProfDir: env['BENCH_CPU_PROF'] || undefined,
    deadlineScale: positive(env, 'BENCH_DEADLINE_SCALE', 1),
    phaseDeadlineMs: Object.freeze(phaseDeadlines(env)),
  });
}
