/**
 * `npm run soak` (scripts/soak.sh): the long soak, 1,000 cycles by default. Prints the summary
 * table and exits 1 with the reasons on any failed cycle, leftover or bound exceeded.
 *
 *   SOAK_CYCLES=1000 SOAK_CONCURRENCY=4 SOAK_WARMUP=20 SOAK_KERNEL=python3
 *   SOAK_ENTRY=source|dist          gateway from src/ through tsx, or bin/sparkgate.js (needs npm run build)
 *   SOAK_RSS_BOUND_MIB=20 SOAK_HEAP_BOUND_MIB=4 SOAK_FD_SLACK=2
 */
import { DEFAULT_BOUNDS, DEFAULT_OPTIONS, runSoak } from './soak-runner.js';
import { formatReport } from './soak-report.js';

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`soak: ${name} must be a non-negative number, e.g. ${name}=${fallback} (got ${JSON.stringify(raw)})\n`);
    process.exit(2);
  }
  return n;
}

const entry = process.env['SOAK_ENTRY'] ?? 'source';
if (entry !== 'source' && entry !== 'dist') {
  process.stderr.write(`soak: SOAK_ENTRY must be source or dist (got ${JSON.stringify(entry)})\n`);
  process.exit(2);
}

// Stopped from outside: exit, and the gateway gets SIGTERM from its exit hook (soak-gateway.ts).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

const cycles = intEnv('SOAK_CYCLES', DEFAULT_OPTIONS.cycles);
let lastPrint = 0;
const report = await runSoak({
  cycles,
  concurrency: Math.max(1, intEnv('SOAK_CONCURRENCY', DEFAULT_OPTIONS.concurrency)),
  warmupCycles: intEnv('SOAK_WARMUP', DEFAULT_OPTIONS.warmupCycles),
  kernelName: process.env['SOAK_KERNEL'] || DEFAULT_OPTIONS.kernelName,
  entry,
  bounds: {
    rssGrowthMiB: intEnv('SOAK_RSS_BOUND_MIB', DEFAULT_BOUNDS.rssGrowthMiB),
    heapGrowthMiB: intEnv('SOAK_HEAP_BOUND_MIB', DEFAULT_BOUNDS.heapGrowthMiB),
    fdSlack: intEnv('SOAK_FD_SLACK', DEFAULT_BOUNDS.fdSlack),
  },
  onProgress: (done, total, failures) => {
    if (done === total || Date.now() - lastPrint > 10_000) {
      lastPrint = Date.now();
      process.stderr.write(`soak: ${done}/${total} cycles, ${failures} failed\n`);
    }
  },
}).catch((err: unknown) => {
  process.stderr.write(`soak: ${(err as Error).message}\n`);
  process.exit(1);
});

process.stdout.write(`\n${formatReport(report)}\n`);
process.exit(report.problems.length === 0 ? 0 : 1);
