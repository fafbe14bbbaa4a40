/**
 * Runs the bench's phases one after another, each within its budget (budgets.ts). A phase that
 * misses a deadline or fails is recorded for the table cells it feeds (with the DeadlineError's
 * "deadline: waited N ms for <what>"), every process it started is stopped, and the run goes on
 * with the next phase: one stuck server costs its rows, not the run.
 */
import type { Phase } from './bench-options.js';
import { DeadlineError, DeadlineScope, withDeadline } from './deadline.js';
import { processMark, stopStartedSince } from './processes.js';
import { log, type PhaseFailure } from './target-results.js';

export interface PhaseSpec {
  /** Logs and DeadlineErrors: "Jupyter Server concurrency". */
  readonly name: string;
  /** Table columns (target labels) whose cells show a failure. */
  readonly targets: readonly string[];
  /** Table rows (phases) a failure stands for. */
  readonly phases: readonly Phase[];
  readonly budgetMs: number;
}

export type PhaseOutcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Error };

export interface PhaseRunnerOptions {
  /** BENCH_DEADLINE_SCALE: every single wait's base deadline is multiplied by it. */
  readonly scale: number;
  /** How long a failed phase may take to unwind (close its sockets, stop its kernels); default 15 s. */
  readonly unwindMs?: number;
}

/** The first line of an error: server errors carry a stderr tail, which belongs in the log only. */
export function failureMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.trim() || String(err);
}

export class PhaseRunner {
  readonly failures: PhaseFailure[] = [];

  constructor(private readonly options: PhaseRunnerOptions) {}

  async run<T>(spec: PhaseSpec, body: (scope: DeadlineScope) => Promise<T>): Promise<PhaseOutcome<T>> {
    const mark = processMark();
    let unwound: Promise<unknown> = Promise.resolve();
    try {
      const value = await DeadlineScope.run(
        spec.name,
        spec.budgetMs,
        (scope) => {
          const running = body(scope);
          unwound = running.catch(() => undefined);
          return running;
        },
        { scale: this.options.scale },
      );
      return { ok: true, value };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.fail(spec.name, spec.targets, spec.phases, error);
      // Stop what the phase started first: its pending waits then fail at once and it unwinds.
      const stopped = await stopStartedSince(mark);
      if (stopped.length > 0) log(`${spec.name}: stopped ${stopped.join(', ')}`);
      await withDeadline(unwound, this.options.unwindMs ?? 15_000, `${spec.name} to unwind`).catch(() => log(`${spec.name}: still unwinding; going on`));
      return { ok: false, error };
    }
  }

  /** Record a failure: by the phase runner, or inside a phase that goes on (one lane, one target's setup). */
  fail(name: string, targets: readonly string[], phases: readonly Phase[], err: unknown): void {
    const message = failureMessage(err);
    log(`${name} failed: ${err instanceof DeadlineError || !(err instanceof Error) ? message : (err.stack ?? message)}`);
    for (const target of targets) {
      for (const phase of phases) {
        // The first failure is the cause; later ones are its consequences.
        if (!this.failures.some((f) => f.target === target && f.phase === phase)) this.failures.push({ target, phase, message });
      }
    }
  }
}
