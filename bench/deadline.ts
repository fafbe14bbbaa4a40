/**
 * Deadlines for every wait of the bench, so that no run can hang: a full run once stalled for
 * 6 minutes in a concurrency phase on a loaded machine, waiting for replies that never came.
 *
 * - `withDeadline(work, ms, what)` settles like `work`, or rejects with a DeadlineError saying
 *   what it waited for, and aborts the AbortSignal it gave `work` (fetches, websockets, child
 *   processes listen to it and stop).
 * - A DeadlineScope is one phase's view of that: each `wait` gets a base deadline times the
 *   run's scale (BENCH_DEADLINE_SCALE), and fails at once when the phase as a whole is over
 *   (its own budget missed, or a sibling wait failed), so a failed phase unwinds instead of
 *   running on in the background. `DeadlineScope.run` bounds a whole phase and, when its budget
 *   runs out, names the wait still pending (or, when none is, the first wait that failed).
 *
 * Pure apart from timers (global setTimeout, so fake timers drive it in tests).
 */
import { setMaxListeners } from 'node:events';

export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';

  constructor(
    /** What was awaited, e.g. "execute_reply + status idle of `x=1` from sparkgate v1 websocket". */
    readonly what: string,
    /** The deadline that was missed. */
    readonly waitedMs: number,
    /** The phase the wait belonged to, e.g. "Jupyter Server concurrency". */
    readonly phase?: string,
  ) {
    super(`deadline: waited ${Math.round(waitedMs)} ms for ${what}`);
  }
}

/** A promise already under way, or a function that starts the work and stops it when `signal` aborts. */
export type Work<T> = Promise<T> | ((signal: AbortSignal) => Promise<T>);

/** Built lazily for waits on hot paths (every round trip), and when the text is only known late. */
export type What = string | (() => string);

export interface DeadlineOptions {
  /** The enclosing scope's signal: its abort ends this wait too, with its reason. */
  readonly signal?: AbortSignal;
  /** Named in the DeadlineError. */
  readonly phase?: string;
}

const noop = (): void => undefined;

export function withDeadline<T>(work: Work<T>, ms: number, what: What, options: DeadlineOptions = {}): Promise<T> {
  const parent = options.signal;
  if (parent?.aborted) {
    if (typeof work !== 'function') work.catch(noop); // abandoned: its rejection is nobody's
    return Promise.reject(parent.reason as Error);
  }
  // Only work that can be stopped gets a signal; a bare promise needs no controller.
  const controller = typeof work === 'function' ? new AbortController() : undefined;
  if (controller) setMaxListeners(0, controller.signal); // a phase may have 32+ waits on it at once
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
      return true;
    };
    const fail = (err: unknown): void => {
      if (!finish()) return;
      // Stop the work (and every wait beneath it) before anyone sees the error.
      controller?.abort(err);
      reject(err as Error);
    };
    const timer = setTimeout(() => fail(new DeadlineError(typeof what === 'function' ? what() : what, ms, options.phase)), ms);
    const onParentAbort = (): void => fail(parent!.reason);
    parent?.addEventListener('abort', onParentAbort, { once: true });
    let promise: Promise<T>;
    try {
      promise = typeof work === 'function' ? work(controller!.signal) : work;
    } catch (err) {
      promise = Promise.reject(err as Error);
    }
    promise.then(
      (value) => {
        if (finish()) resolve(value);
      },
      // A failed work also aborts its signal: siblings sharing it stop at their next wait.
      fail,
    );
  });
}

interface PendingWait {
  readonly what: What;
  readonly sinceMs: number;
}

/** What one phase is waiting for, shared by its scope and every child scope. */
interface PhaseWaits {
  readonly pending: Set<PendingWait>;
  /** The first wait of the phase that missed its deadline or failed (the likely cause). */
  firstFailure?: Error;
}

export interface DeadlineScopeOptions {
  /** Named in every DeadlineError of the scope. */
  readonly phase: string;
  /** Multiplies every base deadline (BENCH_DEADLINE_SCALE); default 1. */
  readonly scale?: number;
  /** Aborted when the scope is over; default: never. */
  readonly signal?: AbortSignal;
}

export class DeadlineScope {
  readonly phase: string;
  readonly scale: number;
  readonly signal: AbortSignal;
  /** Shared by a scope and all its children. */
  private readonly waits: PhaseWaits;

  constructor(options: DeadlineScopeOptions, waits: PhaseWaits = { pending: new Set() }) {
    this.phase = options.phase;
    this.scale = options.scale ?? 1;
    this.signal = options.signal ?? new AbortController().signal;
    this.waits = waits;
  }

  /**
   * Run a whole phase within `budgetMs` (already scaled: the caller chose it). When the budget
   * runs out the DeadlineError names the oldest wait still pending, since that is what the phase
   * was stuck on; with none pending (the phase was cleaning up after a failure), the first wait
   * that failed.
   */
  static run<T>(phase: string, budgetMs: number, body: (scope: DeadlineScope) => Promise<T>, options: { scale?: number; signal?: AbortSignal } = {}): Promise<T> {
    const waits: PhaseWaits = { pending: new Set() };
    const what = (): string => `${phase} to finish${describeWaits(waits)}`;
    return withDeadline(
      (signal) => body(new DeadlineScope({ phase, signal, ...(options.scale === undefined ? {} : { scale: options.scale }) }, waits)),
      budgetMs,
      what,
      { phase, ...(options.signal ? { signal: options.signal } : {}) },
    );
  }

  /** A base deadline scaled for this run; at least 1 ms. */
  ms(baseMs: number): number {
    return Math.max(1, Math.round(baseMs * this.scale));
  }

  /**
   * Wait for `work` at most `baseMs` x scale. A function gets a child scope whose signal aborts
   * when this wait fails, so the waits (fetches, sockets) it starts end with it.
   */
  wait<T>(work: Promise<T> | ((scope: DeadlineScope) => Promise<T>), baseMs: number, what: What): Promise<T> {
    const entry: PendingWait = { what, sinceMs: Date.now() };
    const { waits } = this;
    waits.pending.add(entry);
    const run: Work<T> = typeof work === 'function' ? (signal) => work(new DeadlineScope({ phase: this.phase, scale: this.scale, signal }, waits)) : work;
    const waited = withDeadline(run, this.ms(baseMs), what, { signal: this.signal, phase: this.phase });
    return waited.then(
      (value) => {
        waits.pending.delete(entry);
        return value;
      },
      (err: unknown) => {
        waits.pending.delete(entry);
        if (!this.signal.aborted) waits.firstFailure ??= err as Error;
        throw err;
      },
    );
  }

  /**
   * Poll `check` every `everyMs` until it resolves true. A check that throws ends the poll (a
   * server process that exited will not come up): checks turn "not yet" errors into false.
   */
  poll(check: (scope: DeadlineScope) => Promise<boolean>, baseMs: number, what: What, everyMs = 50): Promise<void> {
    return this.wait(
      async (inner) => {
        while (!(await check(inner))) await inner.sleep(everyMs);
      },
      baseMs,
      what,
    );
  }

  /** A pause (not a deadline: it is meant to last); ends early, rejecting, when the scope is over. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.signal.aborted) return reject(this.signal.reason as Error);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(this.signal.reason as Error);
      };
      const timer = setTimeout(() => {
        this.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function describeWaits({ pending, firstFailure }: PhaseWaits): string {
  const oldest = pending.values().next().value; // a Set iterates in insertion order
  if (!oldest) return firstFailure ? `; its first failed wait: ${firstFailure.message.split('\n')[0]}` : '';
  const what = typeof oldest.what === 'function' ? oldest.what() : oldest.what;
  const more = pending.size > 1 ? ` (and ${pending.size - 1} other wait${pending.size > 2 ? 's' : ''})` : '';
  return `; it was waiting ${Math.round(Date.now() - oldest.sinceMs)} ms for ${what}${more}`;
}
