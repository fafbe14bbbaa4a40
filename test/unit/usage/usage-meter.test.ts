/**
 * The UsageMeter: driver seconds from the registry's live time and the Spark conf, executor pod
 * costs split exactly across flushes, jobs, two-phase flushes (nothing lost when a write fails),
 * pods seen after a gateway restart billed to the recorded owner from the last flush on, and pods
 * of unrecorded sessions billed to (unknown).
 */
import { describe, expect, it } from 'vitest';
import { SessionRegistry } from '../../../src/sessions/session-registry.js';
import type { PodSample } from '../../../src/usage/pod-timeline.js';
import { UNKNOWN_OWNER, UsageMeter } from '../../../src/usage/usage-meter.js';
import type { UsageLine } from '../../../src/usage/usage-records.js';

const T0 = Date.parse('2025-01-31T10:00:00Z');
const s = (seconds: number) => T0 + seconds * 1000;
const GiB = 2 ** 30;
const MiB = 2 ** 20;
const CONF = { 'spark.driver.cores': '2', 'spark.driver.memory': '512m', 'spark.kubernetes.namespace': 'team-a', 'spark.ui.port': '4050' };

function setup() {
  let now = s(0);
  const registry = new SessionRegistry({ retainMs: 3_600_000, now: () => now });
  const meter = new UsageMeter();
  registry.on('started', (r) => meter.sessionStarted(r));
  registry.on('ended', (r) => meter.sessionEnded(r));
  return { registry, meter, at: (seconds: number) => (now = s(seconds)) };
}

function pod(over: Partial<PodSample>): PodSample {
  return {
    uid: 'p1',
    name: 'exec-1',
    namespace: 'team-a',
    sessionId: 'sess-1',
    cpuCores: 1,
    memoryBytes: GiB,
    phase: 'Running',
    containerStartedMs: undefined,
    podStartedMs: undefined,
    finishedMs: undefined,
    kind: 'seen',
    observedMs: s(0),
    ...over,
  };
}

function flush(meter: UsageMeter, atMs: number): UsageLine[] {
  const plan = meter.prepareFlush(atMs);
  plan.commit();
  return [...plan.usage];
}

describe('UsageMeter', () => {
  it('driver: spark.driver.cores and spark.driver.memory times the registry live time, split across flushes', () => {
    const { registry, meter, at } = setup();
    const record = registry.begin({ id: 'sess-1', owner: { user: 'alice', team: 'a' }, kind: 'kernel', kernelspec: 'pyspark', sparkConf: CONF });
    const [first] = flush(meter, s(60));
    expect(first).toMatchObject({
      session: 'sess-1', user: 'alice', team: 'a', kernelspec: 'pyspark', namespace: 'team-a',
      from: '2025-01-31T10:00:00.000Z', to: '2025-01-31T10:01:00.000Z',
      driverCoreSeconds: 120, driverMemoryByteSeconds: 60 * 512 * MiB, executorCoreSeconds: 0, jobs: 0,
    });
    at(90);
    registry.end(record.id);
    const [last] = flush(meter, s(120));
    expect(last).toMatchObject({ from: '2025-01-31T10:01:00.000Z', to: '2025-01-31T10:02:00.000Z', driverCoreSeconds: 60 });
    // ended and accounted: nothing more
    expect(flush(meter, s(180))).toEqual([]);
  });

  it('defaults: 1 core and 1 GiB for a Spark conf without driver keys; no driver for a session without Spark', () => {
    const { registry, meter } = setup();
    registry.begin({ id: 'spark', owner: { user: 'a', team: 't' }, kind: 'kernel', kernelspec: 'pyspark', sparkConf: {} });
    registry.begin({ id: 'plain', owner: { user: 'a', team: 't' }, kind: 'kernel', kernelspec: 'python3' });
    const lines = flush(meter, s(10));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ session: 'spark', driverCoreSeconds: 10, driverMemoryByteSeconds: 10 * GiB });
  });

  it('executor pods: exact seconds across flushes, and jobs once', () => {
    const { registry, meter } = setup();
    registry.begin({ id: 'sess-1', owner: { user: 'alice', team: 'a' }, kind: 'kernel', kernelspec: 'pyspark' });
    meter.observePod(pod({ containerStartedMs: s(10), observedMs: s(11), cpuCores: 2, memoryBytes: 1408 * MiB }));
    meter.addJobs('sess-1', 3);
    const [a] = flush(meter, s(40));
    expect(a).toMatchObject({ executorCoreSeconds: 60, executorMemoryByteSeconds: 30 * 1408 * MiB, jobs: 3 });
    meter.observePod(pod({ containerStartedMs: s(10), kind: 'gone', observedMs: s(55), cpuCores: 2, memoryBytes: 1408 * MiB }));
    const [b] = flush(meter, s(70));
    expect(b).toMatchObject({ executorCoreSeconds: 30, jobs: 0 });
    expect(meter.size.pods).toBe(0); // settled pods are dropped
  });

  it('a failed write commits nothing: the next flush covers the whole interval', () => {
    const { registry, meter } = setup();
    registry.begin({ id: 'sess-1', owner: { user: 'alice', team: 'a' }, kind: 'kernel', kernelspec: 'pyspark' });
    meter.observePod(pod({ containerStartedMs: s(0) }));
    meter.addJobs('sess-1', 2);
    const lost = meter.prepareFlush(s(30)); // the store rejected it: no commit
    expect(lost.usage[0]).toMatchObject({ executorCoreSeconds: 30, jobs: 2 });
    const [line] = flush(meter, s(60));
    expect(line).toMatchObject({ from: '2025-01-31T10:00:00.000Z', executorCoreSeconds: 60, jobs: 2 });
  });

  it('pending() shows what accrued without committing it', () => {
    const { registry, meter } = setup();
    registry.begin({ id: 'sess-1', owner: { user: 'alice', team: 'a' }, kind: 'kernel', kernelspec: 'pyspark' });
    meter.observePod(pod({ containerStartedMs: s(0) }));
    expect(meter.pending(s(10))[0]?.executorCoreSeconds).toBe(10);
    expect(meter.pending(s(20))[0]?.executorCoreSeconds).toBe(20);
    expect(flush(meter, s(30))[0]?.executorCoreSeconds).toBe(30);
  });

  it('a pod reported late (before the first list) still accrues from its container start', () => {
    const { registry, meter } = setup();
    registry.begin({ id: 'sess-1', owner: { user: 'alice', team: 'a' }, kind: 'kernel', kernelspec: 'pyspark' });
    expect(flush(meter, s(60))).toEqual([]);
    meter.observePod(pod({ containerStartedMs: s(20), observedMs: s(70) }));
    expect(flush(meter, s(120))[0]?.executorCoreSeconds).toBe(100);
  });

  it('after a gateway restart: pods of a dead session are billed to its recorded owner from its last flush', () => {
    const header = {
      type: 'session' as const, session: 'dead-1', user: 'bob', team: 'b', kernelspec: 'pyspark', namespace: 'team-b',
      startedAt: '2025-01-31T09:00:00.000Z', driverCores: 1, driverMemoryBytes: GiB,
    };
    const meter = new UsageMeter();
    const ends = meter.restore([{ header, watermarkMs: s(-60), ended: false }]);
    expect(ends).toEqual([{ type: 'end', session: 'dead-1', endedAt: '2025-01-31T09:59:00.000Z', reason: 'gateway-restart' }]);
    // The new watch lists the pod: started long before the last flush, still running.
    meter.observePod(pod({ sessionId: 'dead-1', containerStartedMs: s(-600), observedMs: s(5) }));
    const [line] = flush(meter, s(30));
    // (last flush, now]: 90 s of 1 core; no driver time (the driver died with the old gateway)
    expect(line).toMatchObject({ session: 'dead-1', user: 'bob', team: 'b', namespace: 'team-b', executorCoreSeconds: 90, driverCoreSeconds: 0 });
    // then the reaper deletes it
    meter.observePod(pod({ sessionId: 'dead-1', containerStartedMs: s(-600), kind: 'gone', observedMs: s(40) }));
    expect(flush(meter, s(60))[0]?.executorCoreSeconds).toBe(10);
    // a terminated pod of a dead session: only its time after the last flush counts
    const meter2 = new UsageMeter();
    meter2.restore([{ header, watermarkMs: s(-60), ended: true }]);
    meter2.observePod(pod({ sessionId: 'dead-1', phase: 'Failed', containerStartedMs: s(-600), finishedMs: s(-20), observedMs: s(5) }));
    expect(flush(meter2, s(30))[0]?.executorCoreSeconds).toBe(40);
  });

  it('a pod of a session the meter does not hold: the store index (lookupHeader) names its owner, else (unknown)', () => {
    const header = {
      type: 'session' as const, session: 'old', user: 'carol', team: 'c', kernelspec: 'pyspark', namespace: null,
      startedAt: '2025-01-31T09:00:00.000Z', driverCores: 1, driverMemoryBytes: GiB,
    };
    const meter = new UsageMeter({ lookupHeader: (id) => (id === 'old' ? { header, watermarkMs: s(0), ended: true } : undefined) });
    meter.observePod(pod({ uid: 'a', sessionId: 'old', containerStartedMs: s(-30), observedMs: s(1) }));
    meter.observePod(pod({ uid: 'b', sessionId: 'stranger', containerStartedMs: s(-30), observedMs: s(1) }));
    const lines = flush(meter, s(10));
    expect(lines.find((l) => l.session === 'old')).toMatchObject({ user: 'carol', executorCoreSeconds: 10 });
    expect(lines.find((l) => l.session === 'stranger')).toMatchObject({ user: UNKNOWN_OWNER.user, team: UNKNOWN_OWNER.team, executorCoreSeconds: 40 });
  });

  it('writes a new header when the Spark conf arrives after the start (namespace, driver)', () => {
    const { registry, meter } = setup();
    const header = meter.sessionStarted(registry.begin({ id: 'x', owner: { user: 'a', team: 't', via: 'hub' }, kind: 'kernel', kernelspec: 'pyspark' }));
    expect(header).toMatchObject({ type: 'session', namespace: null, driverCores: 0, via: 'hub' });
    registry.setSparkConf('x', CONF);
    const plan = meter.prepareFlush(s(1));
    expect(plan.lines[0]).toMatchObject({ type: 'session', namespace: 'team-a', driverCores: 2, driverMemoryBytes: 512 * MiB });
    plan.commit();
    expect(meter.prepareFlush(s(2)).lines.map((l) => l.type)).toEqual(['usage']);
  });

  it('lists live Spark sessions with their UI port for job polling', () => {
    const { registry, meter } = setup();
    registry.begin({ id: 'x', owner: { user: 'a', team: 't' }, kind: 'kernel', kernelspec: 'pyspark', sparkConf: CONF });
    registry.begin({ id: 'y', owner: { user: 'a', team: 't' }, kind: 'kernel', kernelspec: 'python3' });
    expect(meter.liveSparkSessions()).toEqual([{ id: 'x', uiPort: 4050 }]);
    registry.end('x');
    expect(meter.liveSparkSessions()).toEqual([]);
  });
});
