/**
 * Round trips and iopub for every target at once, interleaved: each lane (a target and a wire
 * protocol) takes turns in blocks, so a burst of load from elsewhere on the machine falls on all
 * targets alike instead of on whichever ran at that moment. The servers stay up side by side,
 * each with one idle-between-turns kernel.
 *
 * Setup, round trips and iopub are phases of their own (phase-runner.ts). Within one, a lane
 * whose wait misses its deadline is reported failed and dropped; the other lanes go on.
 */
import type { BenchClient } from './bench-client.js';
import type { BenchOptions, Phase } from './bench-options.js';
import { phaseBudgetMs } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import { lanePhases, openLanes, type LaneTargets } from './lanes.js';
import { iopubResult, iopubRun, type IopubRun } from './measure-iopub.js';
import { roundTripSamples, warmUp } from './measure-round-trip.js';
import type { PhaseRunner } from './phase-runner.js';
import { summarize } from './stats.js';
import { log, type TargetResults } from './target-results.js';

export interface Lane {
  readonly results: TargetResults;
  /** The wire: 'v1', 'legacy' or 'zmq'. */
  readonly key: string;
  readonly client: BenchClient;
  readonly iopub: boolean;
  /** Timed round trips for this lane; spread evenly over the rounds. */
  readonly roundTrips: number;
}

const BLOCK = 50;

/** Runs `step` for a lane; a failure drops the lane (reported), unless the whole phase is over. */
function laneGuard(scope: DeadlineScope, runner: PhaseRunner, phase: Phase, alive: Set<Lane>) {
  return async (lane: Lane, step: () => Promise<void>): Promise<void> => {
    if (!alive.has(lane)) return;
    try {
      await step();
    } catch (err) {
      if (scope.signal.aborted) throw err;
      alive.delete(lane);
      runner.fail(`${lane.results.label} ${lane.key} ${phase}`, [lane.results.label], [phase], err);
    }
  };
}

/** `phase`: what a lane's failure is recorded as (the jupyterlab phase runs round trips too). */
export async function runRoundTrips(scope: DeadlineScope, runner: PhaseRunner, lanes: readonly Lane[], phase: Phase = 'rtt'): Promise<void> {
  log(`round trips, interleaved in rounds of up to ${BLOCK} per lane: ${lanes.map((l) => `${l.results.label} ${l.key} x ${l.roundTrips}`).join(', ')}`);
  const alive = new Set(lanes);
  const guard = laneGuard(scope, runner, phase, alive);
  for (const lane of lanes) await guard(lane, () => warmUp(scope, lane.client));
  const samples = new Map(lanes.map((l) => [l, [] as number[]]));
  const rounds = Math.ceil(Math.max(...lanes.map((l) => l.roundTrips)) / BLOCK);
  for (let round = 0; round < rounds; round++) {
    for (const lane of lanes) {
      const done = samples.get(lane)!;
      const count = Math.min(Math.ceil(lane.roundTrips / rounds), lane.roundTrips - done.length);
      await guard(lane, async () => void done.push(...(await roundTripSamples(scope, lane.client, count))));
    }
  }
  for (const lane of alive) lane.results.rtt[lane.key] = summarize(samples.get(lane)!);
}

export async function runIopub(scope: DeadlineScope, runner: PhaseRunner, lanes: readonly Lane[], options: BenchOptions): Promise<void> {
  log(`iopub: ${options.iopubLines} lines x ${options.iopubRepeats} per lane`);
  const withIopub = lanes.filter((l) => l.iopub);
  const alive = new Set(withIopub);
  const guard = laneGuard(scope, runner, 'iopub', alive);
  for (const lane of withIopub) await guard(lane, async () => void (await iopubRun(scope, lane.client, Math.min(10_000, options.iopubLines)))); // untimed warm-up
  const runs = new Map(withIopub.map((l) => [l, [] as IopubRun[]]));
  for (let r = 0; r < options.iopubRepeats; r++) {
    for (const lane of withIopub) await guard(lane, async () => void runs.get(lane)!.push(await iopubRun(scope, lane.client, options.iopubLines)));
  }
  for (const lane of alive) lane.results.iopub[lane.key] = iopubResult(options.iopubLines, runs.get(lane)!);
}

/** The whole side-by-side part: setup, round trips, iopub; everything stopped at the end. */
export async function runSideBySide(runner: PhaseRunner, targets: LaneTargets, options: BenchOptions): Promise<void> {
  const phases = lanePhases(options);
  const labels = [targets.js, ...(options.phases.has('rtt') ? [targets.jsNodelay] : []), targets.eg, targets.sparkgate, targets.floor].map((t) => t.label);
  const setup = await runner.run({ name: 'side-by-side setup', targets: labels, phases, budgetMs: phaseBudgetMs('setup', options) }, (scope) =>
    openLanes(scope, runner, targets, options),
  );
  if (!setup.ok) return;
  const { lanes, close } = setup.value;
  try {
    const inPhase = (phase: Phase): string[] => [...new Set(lanes.filter((l) => phase === 'rtt' || l.iopub).map((l) => l.results.label))];
    if (options.phases.has('rtt') && lanes.length > 0) {
      await runner.run({ name: 'side-by-side round trips', targets: inPhase('rtt'), phases: ['rtt'], budgetMs: phaseBudgetMs('rtt', options) }, (scope) => runRoundTrips(scope, runner, lanes));
    }
    if (options.phases.has('iopub') && lanes.some((l) => l.iopub)) {
      await runner.run({ name: 'side-by-side iopub', targets: inPhase('iopub'), phases: ['iopub'], budgetMs: phaseBudgetMs('iopub', options) }, (scope) => runIopub(scope, runner, lanes, options));
    }
  } finally {
    await close();
  }
}
