/**
 * Executor pod timelines -> core- and memory-seconds: container start to finish, restarts keep the
 * first start, deletions without finishedAt end when the watch saw them, fallbacks for pods
 * without container times, and pods that never ran cost nothing.
 */
import { describe, expect, it } from 'vitest';
import { accruePod, applySample, isSettled, type PodSample, type PodTimeline } from '../../../src/usage/pod-timeline.js';

const T0 = Date.parse('2025-01-31T10:00:00Z');
const s = (seconds: number) => T0 + seconds * 1000;
const GiB = 2 ** 30;

function sample(over: Partial<PodSample>): PodSample {
  return {
    uid: 'u1',
    name: 'sg-1-exec-1',
    namespace: 'team-a',
    sessionId: 'sess',
    cpuCores: 2,
    memoryBytes: 1.5 * GiB,
    phase: 'Running',
    containerStartedMs: undefined,
    podStartedMs: undefined,
    finishedMs: undefined,
    kind: 'seen',
    observedMs: s(0),
    ...over,
  };
}

function replay(...samples: PodSample[]): PodTimeline {
  let t: PodTimeline | undefined;
  for (const x of samples) t = applySample(t, x);
  return t!;
}

describe('pod timelines', () => {
  it('bills requests from running.startedAt to terminated.finishedAt', () => {
    const t = replay(
      sample({ phase: 'Pending', observedMs: s(0) }),
      sample({ containerStartedMs: s(5), podStartedMs: s(2), observedMs: s(6) }),
      sample({ phase: 'Failed', containerStartedMs: s(5), finishedMs: s(65), observedMs: s(70) }),
    );
    expect(t).toMatchObject({ startMs: s(5), startSource: 'container', endMs: s(65), endSource: 'finished', gone: false });
    expect(accruePod(t, -Infinity, s(1000))).toEqual({ coreSeconds: 120, memoryByteSeconds: 60 * 1.5 * GiB });
    // split over two flush intervals, the parts add up
    const a = accruePod(t, -Infinity, s(30));
    const b = accruePod(t, s(30), s(1000));
    expect(a.coreSeconds + b.coreSeconds).toBe(120);
    expect(a.coreSeconds).toBe(50);
  });

  it('a running pod accrues up to the flush time', () => {
    const t = replay(sample({ containerStartedMs: s(10), observedMs: s(11) }));
    expect(accruePod(t, -Infinity, s(40)).coreSeconds).toBe(60);
    expect(accruePod(t, s(40), s(70)).coreSeconds).toBe(60);
  });

  it('a deletion without finishedAt ends at the moment the watch saw it go', () => {
    const t = replay(
      sample({ containerStartedMs: s(0), observedMs: s(1) }),
      sample({ containerStartedMs: s(0), kind: 'gone', observedMs: s(42.5) }),
    );
    expect(t).toMatchObject({ endMs: s(42.5), endSource: 'observed', gone: true });
    expect(accruePod(t, -Infinity, s(100)).coreSeconds).toBe(85);
  });

  it('a deletion whose last object carries finishedAt ends at finishedAt', () => {
    const t = replay(
      sample({ containerStartedMs: s(0), observedMs: s(1) }),
      sample({ containerStartedMs: s(0), finishedMs: s(30), phase: 'Running', kind: 'gone', observedMs: s(31) }),
    );
    expect(t.endMs).toBe(s(30));
  });

  it('a terminal phase seen first without finishedAt is refined when finishedAt arrives', () => {
    const t = replay(
      sample({ containerStartedMs: s(0) }),
      sample({ phase: 'Failed', containerStartedMs: s(0), observedMs: s(50) }),
      sample({ phase: 'Failed', containerStartedMs: s(0), finishedMs: s(48), observedMs: s(51) }),
      sample({ phase: 'Failed', containerStartedMs: s(0), kind: 'gone', observedMs: s(90) }),
    );
    expect(t).toMatchObject({ endMs: s(48), endSource: 'finished', gone: true });
  });

  it('a restarted container keeps the first start (the requests stayed reserved through the restart)', () => {
    const t = replay(
      sample({ containerStartedMs: s(0), observedMs: s(1) }),
      // after a restart the status shows the new run; lastState.terminated.startedAt is not always kept
      sample({ containerStartedMs: s(20), observedMs: s(21) }),
      sample({ containerStartedMs: s(20), phase: 'Succeeded', finishedMs: s(40), observedMs: s(41) }),
    );
    expect(t.startMs).toBe(s(0));
    expect(accruePod(t, -Infinity, s(100)).coreSeconds).toBe(80);
  });

  it('a pod first seen after a restart of its container takes lastState.terminated.startedAt (min of the times it shows)', () => {
    // toPodSample reduces running/terminated/lastState times to their minimum: here s(3)
    const t = replay(sample({ containerStartedMs: s(3), observedMs: s(30) }));
    expect(t).toMatchObject({ startMs: s(3), startSource: 'container' });
  });

  it('falls back to status.startTime, then to the first Running observation; a container time replaces both', () => {
    expect(replay(sample({ podStartedMs: s(2), observedMs: s(4) }))).toMatchObject({ startMs: s(2), startSource: 'pod-start' });
    const observed = replay(sample({ observedMs: s(4) }));
    expect(observed).toMatchObject({ startMs: s(4), startSource: 'observed' });
    expect(applySample(observed, sample({ containerStartedMs: s(6), observedMs: s(7) }))).toMatchObject({ startMs: s(6), startSource: 'container' });
  });

  it('a pod that never ran costs nothing and is settled once gone', () => {
    const t = replay(sample({ phase: 'Pending' }), sample({ phase: 'Pending', kind: 'gone', observedMs: s(9) }));
    expect(t.startMs).toBeUndefined();
    expect(accruePod(t, -Infinity, s(100))).toEqual({ coreSeconds: 0, memoryByteSeconds: 0 });
    expect(isSettled(t, s(0))).toBe(true);
  });

  it('is settled only when gone and accounted up to its end', () => {
    const ended = replay(sample({ containerStartedMs: s(0) }), sample({ containerStartedMs: s(0), kind: 'gone', observedMs: s(10) }));
    expect(isSettled(ended, s(5))).toBe(false);
    expect(isSettled(ended, s(10))).toBe(true);
    const terminal = replay(sample({ containerStartedMs: s(0), phase: 'Failed', finishedMs: s(10) }));
    expect(isSettled(terminal, s(100))).toBe(false); // its object is still there
  });

  it('an end before the start (clock skew) is zero, never negative', () => {
    const t = replay(sample({ containerStartedMs: s(10), phase: 'Failed', finishedMs: s(9) }));
    expect(accruePod(t, -Infinity, s(100)).coreSeconds).toBe(0);
  });
});
