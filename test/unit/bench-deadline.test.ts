/**
 * The bench's deadline helper (bench/deadline.ts) and the phase runner built on it, on fake
 * timers: a wait that misses its deadline says what it waited for, stops its work, and ends the
 * waits beneath it; a phase that misses its budget is recorded and the next one runs.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { benchOptions } from '../../bench/bench-options.js';
import { phaseBudgetMs, sparkPartBudgetMs } from '../../bench/budgets.js';
import { DeadlineError, DeadlineScope, withDeadline } from '../../bench/deadline.js';
import { PhaseRunner } from '../../bench/phase-runner.js';

const never = <T = never>(): Promise<T> => new Promise<T>(() => undefined);

/** The rejection of `p`, for asserting on after timers moved. */
function failureOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => new Error('expected a rejection'),
    (err: unknown) => err,
  );
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('withDeadline', () => {
  it('settles like the work when it is in time, and leaves no timer behind', async () => {
    const p = withDeadline(new Promise((r) => setTimeout(() => r('done'), 50)), 100, 'x');
    await vi.advanceTimersByTimeAsync(50);
    await expect(p).resolves.toBe('done');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with a DeadlineError naming what it waited for, the deadline and the phase', async () => {
    const err = failureOf(withDeadline(never(), 250, 'execute_reply of `x=1`', { phase: 'Jupyter Server concurrency' }));
    await vi.advanceTimersByTimeAsync(249);
    let settled = false;
    void err.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const e = await err;
    expect(e).toBeInstanceOf(DeadlineError);
    expect((e as DeadlineError).message).toBe('deadline: waited 250 ms for execute_reply of `x=1`');
    expect((e as DeadlineError).phase).toBe('Jupyter Server concurrency');
    expect((e as DeadlineError).waitedMs).toBe(250);
  });

  it('aborts the signal it gave the work, with the DeadlineError as reason', async () => {
    let signal: AbortSignal | undefined;
    const err = failureOf(
      withDeadline(
        (s) => {
          signal = s;
          return never();
        },
        10,
        'a process to exit',
      ),
    );
    expect(signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(10);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(await err);
  });

  it("passes the work's own error through and aborts its signal (siblings sharing it stop)", async () => {
    let signal: AbortSignal | undefined;
    const boom = new Error('HTTP 500');
    const err = failureOf(
      withDeadline(
        (s) => {
          signal = s;
          return Promise.reject(boom);
        },
        1_000,
        'x',
      ),
    );
    expect(await err).toBe(boom);
    expect(signal?.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a synchronous throw of the work is a rejection', async () => {
    const err = await failureOf(
      withDeadline(
        () => {
          throw new Error('bad argv');
        },
        1_000,
        'x',
      ),
    );
    expect((err as Error).message).toBe('bad argv');
  });

  it('ends with the reason of the enclosing signal, and does not start work under an aborted one', async () => {
    const parent = new AbortController();
    const outer = new Error('the phase is over');
    const err = failureOf(withDeadline(never(), 1_000, 'x', { signal: parent.signal }));
    parent.abort(outer);
    expect(await err).toBe(outer);
    const work = vi.fn(() => never());
    expect(await failureOf(withDeadline(work, 1_000, 'y', { signal: parent.signal }))).toBe(outer);
    expect(work).not.toHaveBeenCalled();
  });

  it('builds a lazy description only when the deadline is missed', async () => {
    const what = vi.fn(() => 'late text');
    await withDeadline(Promise.resolve(1), 10, what);
    expect(what).not.toHaveBeenCalled();
    const err = failureOf(withDeadline(never(), 10, what));
    await vi.advanceTimersByTimeAsync(10);
    expect(((await err) as Error).message).toBe('deadline: waited 10 ms for late text');
  });
});

describe('DeadlineScope', () => {
  it('scales base deadlines (BENCH_DEADLINE_SCALE), at least 1 ms', async () => {
    const scope = new DeadlineScope({ phase: 'p', scale: 0.001 });
    expect(scope.ms(30_000)).toBe(30);
    expect(scope.ms(100)).toBe(1);
    const err = failureOf(scope.wait(never(), 30_000, 'a websocket to open'));
    await vi.advanceTimersByTimeAsync(30);
    expect(((await err) as Error).message).toBe('deadline: waited 30 ms for a websocket to open');
    expect((await err) as DeadlineError).toMatchObject({ phase: 'p' });
  });

  it('a wait that misses its deadline ends the waits started beneath it', async () => {
    const scope = new DeadlineScope({ phase: 'p' });
    let inner: Promise<unknown> | undefined;
    const outer = failureOf(
      scope.wait(
        (child) => {
          inner = failureOf(child.wait(never(), 60_000, 'GET /api/status'));
          return never();
        },
        100,
        'the server to answer',
      ),
    );
    await vi.advanceTimersByTimeAsync(100);
    const outerErr = await outer;
    expect((outerErr as Error).message).toBe('deadline: waited 100 ms for the server to answer');
    expect(await inner).toBe(outerErr);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('run: a phase over budget names the oldest wait still pending', async () => {
    const err = failureOf(
      DeadlineScope.run('Jupyter Server concurrency', 2_000, async (scope) => {
        await scope.wait(new Promise((r) => setTimeout(r, 500)), 30_000, 'kernels to start');
        await Promise.all([
          scope.wait(never(), 30_000, 'execute_reply + status idle of `x=1` (client 1 of 2, cell 3 of 200)'),
          scope.wait(never(), 30_000, 'execute_reply + status idle of `x=1` (client 2 of 2, cell 3 of 200)'),
        ]);
      }),
    );
    await vi.advanceTimersByTimeAsync(2_000);
    const e = (await err) as DeadlineError;
    expect(e).toBeInstanceOf(DeadlineError);
    expect(e.message).toBe(
      'deadline: waited 2000 ms for Jupyter Server concurrency to finish; it was waiting 1500 ms for ' +
        'execute_reply + status idle of `x=1` (client 1 of 2, cell 3 of 200) (and 1 other wait)',
    );
    expect(e.phase).toBe('Jupyter Server concurrency');
    expect(vi.getTimerCount()).toBe(0); // the pending waits ended with the phase
  });

  it('run: with nothing pending (cleaning up after a failure), names the first failed wait', async () => {
    const err = failureOf(
      DeadlineScope.run('floor start', 300, async (scope) => {
        try {
          await scope.wait(never(), 100, 'kernel_info_reply from a directly spawned ipykernel');
        } finally {
          await new Promise((r) => setTimeout(r, 5_000)); // a slow cleanup, not a wait
        }
      }),
    );
    await vi.advanceTimersByTimeAsync(300);
    expect(((await err) as Error).message).toBe(
      'deadline: waited 300 ms for floor start to finish; its first failed wait: deadline: waited 100 ms for kernel_info_reply from a directly spawned ipykernel',
    );
  });

  it('run: a failed wait stops its siblings at once (a concurrency client stuck, the others stop)', async () => {
    const loops: number[] = [0, 0];
    const err = failureOf(
      DeadlineScope.run('floor concurrency', 60_000, (scope) =>
        Promise.all(
          [0, 1].map(async (k) => {
            for (;;) {
              // Client 0 answers every 10 ms; client 1 never does.
              await scope.wait(k === 0 ? new Promise((r) => setTimeout(r, 10)) : never(), 100, `cell of client ${k}`);
              loops[k]!++;
            }
          }),
        ),
      ),
    );
    await vi.advanceTimersByTimeAsync(100);
    expect(((await err) as Error).message).toBe('deadline: waited 100 ms for cell of client 1');
    const after = loops[0]!;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(loops[0]).toBe(after); // client 0 stopped at its next wait
    expect(loops[1]).toBe(0);
  });

  it('poll: until the check is true; a check that throws ends it; a check never true misses the deadline', async () => {
    const scope = new DeadlineScope({ phase: 'p' });
    let n = 0;
    const up = scope.poll(async () => ++n >= 3, 1_000, 'the pool to fill', 100);
    await vi.advanceTimersByTimeAsync(200);
    await expect(up).resolves.toBeUndefined();
    expect(n).toBe(3);

    const exited = failureOf(scope.poll(() => Promise.reject(new Error('sparkgate exited')), 1_000, 'sparkgate to print its URL'));
    expect(((await exited) as Error).message).toBe('sparkgate exited');

    const stuck = failureOf(scope.poll(async () => false, 1_000, 'sparkgate to print its URL', 100));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(((await stuck) as Error).message).toBe('deadline: waited 1000 ms for sparkgate to print its URL');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sleep lasts its time, and ends (rejecting) when the scope is over', async () => {
    const controller = new AbortController();
    const scope = new DeadlineScope({ phase: 'p', signal: controller.signal });
    const nap = scope.sleep(100);
    await vi.advanceTimersByTimeAsync(100);
    await expect(nap).resolves.toBeUndefined();
    const settle = failureOf(scope.sleep(5_000));
    controller.abort(new Error('over'));
    expect(((await settle) as Error).message).toBe('over');
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('deadline options', () => {
  it('BENCH_DEADLINE_SCALE scales phase budgets; BENCH_<PHASE>_DEADLINE_MS sets one outright', () => {
    const normal = benchOptions({});
    const tiny = benchOptions({ BENCH_DEADLINE_SCALE: '0.001', BENCH_CONCURRENCY_DEADLINE_MS: '5000' });
    expect(normal.deadlineScale).toBe(1);
    expect(phaseBudgetMs('start', tiny)).toBe(Math.round(phaseBudgetMs('start', normal) * 0.001));
    expect(phaseBudgetMs('concurrency', tiny)).toBe(5_000);
    // Bigger phases get bigger budgets.
    expect(phaseBudgetMs('concurrency', benchOptions({ BENCH_CELLS: '400' }))).toBeGreaterThan(phaseBudgetMs('concurrency', normal));
    expect(() => benchOptions({ BENCH_DEADLINE_SCALE: '0' })).toThrow(/BENCH_DEADLINE_SCALE must be a number > 0/);
    expect(() => benchOptions({ BENCH_RTT_DEADLINE_MS: 'soon' })).toThrow(/BENCH_RTT_DEADLINE_MS/);
  });

  it('budgets each part of the spark phase on its own; BENCH_SPARK_DEADLINE_MS sets each part', () => {
    const normal = benchOptions({});
    expect(normal.sparkParts).toEqual(new Set(['start', 'warm', 'rtt', 'memory']));
    expect(sparkPartBudgetMs('start', benchOptions({ BENCH_SPARK_STARTS: '6' }))).toBeGreaterThan(sparkPartBudgetMs('start', normal));
    expect(sparkPartBudgetMs('warm', benchOptions({ BENCH_DEADLINE_SCALE: '0.5' }))).toBe(Math.round(sparkPartBudgetMs('warm', normal) * 0.5));
    const explicit = benchOptions({ BENCH_SPARK_DEADLINE_MS: '20000' });
    expect(sparkPartBudgetMs('rtt', explicit)).toBe(20_000);
    expect(sparkPartBudgetMs('memory', explicit)).toBe(20_000);
    // The whole phase (for the log) is the sum of the parts that run.
    const onlyStart = benchOptions({ BENCH_SPARK_PARTS: 'start' });
    expect(phaseBudgetMs('spark', onlyStart)).toBe(sparkPartBudgetMs('start', onlyStart));
    expect(() => benchOptions({ BENCH_SPARK_PARTS: 'start,boot' })).toThrow(/BENCH_SPARK_PARTS: unknown part boot/);
  });
});

describe('PhaseRunner', () => {
  it('records a phase that missed its budget for its rows, and the next phase runs', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const runner = new PhaseRunner({ scale: 1 });
    const spec = { targets: ['Jupyter Server'], phases: ['concurrency' as const] };
    const first = runner.run({ ...spec, name: 'Jupyter Server concurrency', budgetMs: 1_000 }, (scope) => scope.wait(never(), 30_000, 'execute_reply + status idle of `x=1`'));
    await vi.advanceTimersByTimeAsync(1_000);
    const outcome = await first;
    expect(outcome.ok).toBe(false);
    expect(runner.failures).toEqual([
      {
        target: 'Jupyter Server',
        phase: 'concurrency',
        message: 'deadline: waited 1000 ms for Jupyter Server concurrency to finish; it was waiting 1000 ms for execute_reply + status idle of `x=1`',
      },
    ]);
    const second = await runner.run({ name: 'Jupyter Server start', targets: ['Jupyter Server'], phases: ['start'], budgetMs: 1_000 }, async () => 42);
    expect(second).toEqual({ ok: true, value: 42 });
    expect(runner.failures).toHaveLength(1);
  });

  it('keeps the first failure of a cell (the cause, not its consequences)', () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const runner = new PhaseRunner({ scale: 1 });
    runner.fail('lane', ['sparkgate'], ['rtt'], new DeadlineError('execute_reply of `1+1`', 30_000));
    runner.fail('phase', ['sparkgate', 'floor'], ['rtt'], new Error('later\nstderr tail'));
    expect(runner.failures).toEqual([
      { target: 'sparkgate', phase: 'rtt', message: 'deadline: waited 30000 ms for execute_reply of `1+1`' },
      { target: 'floor', phase: 'rtt', message: 'later' },
    ]);
  });
});
