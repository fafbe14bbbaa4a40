/**
 * Round trips and iopub for every target at once, interleaved: each lane (a target and a wire
 * protocol) takes turns in blocks, so a burst of load from elsewhere on the machine falls on all
 * targets alike instead of on whichever ran at that moment. The servers stay up side by side,
 * each with one idle-between-turns kernel.
 */
import type { BenchClient } from './bench-client.js';
import type { BenchOptions } from './bench-options.js';
import { iopubResult, iopubRun, type IopubRun } from './measure-iopub.js';
import { roundTripSamples, warmUp } from './measure-round-trip.js';
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

export async function runInterleaved(lanes: readonly Lane[], options: BenchOptions): Promise<void> {
  if (options.phases.has('rtt')) {
    log(`round trips, interleaved in rounds of up to ${BLOCK} per lane: ${lanes.map((l) => `${l.results.label} ${l.key} x ${l.roundTrips}`).join(', ')}`);
    for (const lane of lanes) await warmUp(lane.client);
    const samples = lanes.map(() => [] as number[]);
    const rounds = Math.ceil(Math.max(...lanes.map((l) => l.roundTrips)) / BLOCK);
    for (let round = 0; round < rounds; round++) {
      for (const [i, lane] of lanes.entries()) {
        const count = Math.min(Math.ceil(lane.roundTrips / rounds), lane.roundTrips - samples[i]!.length);
        samples[i]!.push(...(await roundTripSamples(lane.client, count)));
      }
    }
    for (const [i, lane] of lanes.entries()) lane.results.rtt[lane.key] = summarize(samples[i]!);
  }
  if (options.phases.has('iopub')) {
    log(`iopub: ${options.iopubLines} lines x ${options.iopubRepeats} per lane`);
    const withIopub = lanes.filter((l) => l.iopub);
    for (const lane of withIopub) await iopubRun(lane.client, Math.min(10_000, options.iopubLines)); // untimed warm-up
    const runs = withIopub.map(() => [] as IopubRun[]);
    for (let r = 0; r < options.iopubRepeats; r++) {
      for (const [i, lane] of withIopub.entries()) runs[i]!.push(await iopubRun(lane.client, options.iopubLines));
    }
    for (const [i, lane] of withIopub.entries()) lane.results.iopub[lane.key] = iopubResult(options.iopubLines, runs[i]!);
  }
}
