/**
 * The short soak that `npm test` (and so CI) runs: the same cycles, checks and bounds as
 * `npm run soak` (soak.ts), against the gateway as its own process, but 40 cycles with 4 in
 * flight instead of 1,000 (about a minute on two busy cores). SOAK_SHORT_CYCLES and
 * SOAK_SHORT_CONCURRENCY change the size.
 */
import { describe, expect, it } from 'vitest';
import { runSoak } from './soak-runner.js';
import { formatReport } from './soak-report.js';

const cycles = Number(process.env['SOAK_SHORT_CYCLES'] || 40);
const concurrency = Number(process.env['SOAK_SHORT_CONCURRENCY'] || 4);

describe('soak (short)', () => {
  it(
    `${cycles} create / execute / delete cycles, ${concurrency} in flight, leave nothing behind`,
    async () => {
      const report = await runSoak({ cycles, concurrency, warmupCycles: 8, settleMs: 2_000 });
      // Printed when the test fails (vitest shows the output of failed tests only).
      console.log(formatReport(report));
      expect(report.problems).toEqual([]);
      expect(report.cyclesRun).toBe(cycles);
    },
    300_000,
  );
});
