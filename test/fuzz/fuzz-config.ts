/**
 * fast-check settings for the fuzz tier and the property tests: a fixed seed in CI (CI=true), so
 * a red run is reproducible from its log; a random one locally, printed so a failure can be
 * replayed with FUZZ_SEED. FUZZ_RUNS scales the number of cases per property.
 */
import fc from 'fast-check';

const fixedSeed = 20261201;

export const fuzzSeed = process.env['FUZZ_SEED'] ? Number(process.env['FUZZ_SEED']) : process.env['CI'] === 'true' ? fixedSeed : Math.floor(Math.random() * 2 ** 31);

export const fuzzRunsScale = process.env['FUZZ_RUNS_SCALE'] ? Number(process.env['FUZZ_RUNS_SCALE']) : 1;

/** fast-check parameters for one property: the seed, and `runs` scaled by FUZZ_RUNS_SCALE. */
export function fuzzParams(runs: number): fc.Parameters<unknown> {
  return { seed: fuzzSeed, numRuns: Math.max(1, Math.round(runs * fuzzRunsScale)), endOnFailure: true };
}

if (!process.env['CI']) process.stderr.write(`fuzz seed ${fuzzSeed} (replay with FUZZ_SEED=${fuzzSeed})\n`);
