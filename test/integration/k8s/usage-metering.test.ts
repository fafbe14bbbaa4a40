/**
 * Usage metering against FakeKube: executor pods of two sessions in two namespaces (a team's and
 * the gateway's), with container times set in their status, watched by the ExecutorUsageFeed and
 * accounted by the UsageExtension on a manual clock, so every figure must match exactly:
 * container start -> finishedAt, start -> the moment the watch saw a deletion, a pod that never ran,
 * another gateway's pod ignored. Then a "gateway restart" on the same stateDir: the pod of a
 * session the old gateway recorded is billed to its owner from the last flush on.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutorUsageFeed } from '../../../src/k8s/executor-usage-feed.js';
import { createKubeClient } from '../../../src/k8s/kube-client.js';
import { executorLabels } from '../../../src/k8s/label-selector.js';
import { SPARK_LABEL_ROLE, SPARK_ROLE_EXECUTOR } from '../../../src/labels.js';
import { createLogger } from '../../../src/logger.js';
import { GatewayMetrics } from '../../../src/metrics.js';
import { SessionRegistry } from '../../../src/sessions/session-registry.js';
import type { PodSample } from '../../../src/usage/pod-timeline.js';
import { UsageExtension } from '../../../src/usage/usage-extension.js';
import type { UsageLine } from '../../../src/usage/usage-records.js';
import { FakeKube } from '../../fake-kube/index.js';
import { nextEvents } from './events.js';
import { ManualClock } from './manual-clock.js';

const GATEWAY = 'gw-usage';
const TEAM_NS = 'spark-analytics';
const T0 = Date.parse('2025-01-31T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const S1 = '11111111-1111-4111-8111-111111111111';
const S2 = '22222222-2222-4222-8222-222222222222';

let fake: FakeKube;
let stateDir: string;
const clock = new ManualClock();
const logger = createLogger({ level: 'silent' });

beforeAll(async () => {
  fake = await new FakeKube().start();
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-usage-'));
  await clock.advance(T0 - clock.now());
});

afterAll(async () => {
  await fake?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

function podBody(name: string, sessionId: string, cpu: string, memory: string, gatewayPod = GATEWAY) {
  return {
    metadata: { name, labels: { ...executorLabels({ gatewayPod, sessionId }), [SPARK_LABEL_ROLE]: SPARK_ROLE_EXECUTOR } },
    spec: { containers: [{ name: 'spark-kubernetes-executor', args: ['executor'], resources: { requests: { cpu, memory }, limits: { memory } } }] },
    status: { phase: 'Pending' },
  };
}

const running = (startedAt: string) => ({
  phase: 'Running',
  startTime: startedAt,
  containerStatuses: [{ name: 'spark-kubernetes-executor', ready: true, restartCount: 0, state: { running: { startedAt } } }],
});
const terminated = (startedAt: string, finishedAt: string) => ({
  phase: 'Failed',
  startTime: startedAt,
  containerStatuses: [{ name: 'spark-kubernetes-executor', ready: false, restartCount: 0, state: { terminated: { startedAt, finishedAt, exitCode: 1 } } }],
});

function startMetering(registry: SessionRegistry, metrics: GatewayMetrics) {
  const client = createKubeClient({ kubeConfig: fake.kubeConfig('default'), namespace: 'default', podName: GATEWAY });
  const feed = new ExecutorUsageFeed({ client, namespaces: ['default', TEAM_NS], clock, backoff: { initialMs: 5, maxMs: 50, jitter: 0 } });
  const usage = new UsageExtension({
    config: { stateDir, usageFlushSeconds: 3600 },
    logger,
    metrics,
    feed,
    registry,
    jobPollSeconds: 0,
    clock,
  });
  return { feed, usage };
}

/** Do `action`, then wait until the feed reported what it did to pod `name`. */
async function seen(feed: ExecutorUsageFeed, name: string, action: () => unknown, match: (s: PodSample) => boolean = () => true): Promise<void> {
  const event = nextEvents(feed, 'sample', 1, (s) => s.name === name && match(s));
  action();
  await event;
}

async function lines(usage: UsageExtension): Promise<UsageLine[]> {
  const out: UsageLine[] = [];
  for await (const l of usage.usageLines({})) out.push(l);
  return out;
}

describe('usage metering with FakeKube', () => {
  it('bills executor pod lifetimes and requests exactly, per session, across namespaces and a restart', async () => {
    const registry = new SessionRegistry({ retainMs: 3_600_000, now: () => clock.now() });
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const { feed, usage } = startMetering(registry, metrics);
    await usage.start();
    await usage.start(); // twice is fine
    await feed.whenSynced();

    registry.begin({
      id: S1, owner: { user: 'alice', team: 'analytics' }, kind: 'kernel', kernelspec: 'pyspark',
      sparkConf: { 'spark.kubernetes.namespace': TEAM_NS, 'spark.driver.cores': '2', 'spark.driver.memory': '1g' },
    });
    registry.begin({ id: S2, owner: { user: 'bob', team: 'ml' }, kind: 'kernel', kernelspec: 'pyspark', sparkConf: {} });

    // S1: one executor in the team namespace (2 cores, 1408Mi: 1g + 384m overhead as Spark asks)
    await seen(feed, 'e1', () => fake.create('pods', TEAM_NS, podBody('e1', S1, '2', '1408Mi')));
    await seen(feed, 'e1', () => fake.mutate('pods', TEAM_NS, 'e1', (p) => void (p.status = running(at(10)))), (s) => s.phase === 'Running');
    // S1: one that never got to run (Pending, then deleted)
    await seen(feed, 'e2', () => fake.create('pods', TEAM_NS, podBody('e2', S1, '2', '1408Mi')));
    // S2: one executor in the gateway's namespace, and another gateway's pod nobody bills here
    await seen(feed, 'e3', () => fake.create('pods', 'default', podBody('e3', S2, '500m', '1Gi')));
    await seen(feed, 'e3', () => fake.mutate('pods', 'default', 'e3', (p) => void (p.status = running(at(20)))), (s) => s.phase === 'Running');
    fake.create('pods', 'default', podBody('foreign', S2, '8', '8Gi', 'gw-other'));

    await clock.advance(60_000); // 10:01:00
    // e1's container finished at 10:00:50 (the kubelet says so), seen a little later
    await seen(feed, 'e1', () => fake.mutate('pods', TEAM_NS, 'e1', (p) => void (p.status = terminated(at(10), at(50)))), (s) => s.phase === 'Failed');
    await seen(feed, 'e2', () => fake.delete('pods', TEAM_NS, 'e2'), (s) => s.kind === 'gone');
    await clock.advance(30_000); // 10:01:30: e3 deleted while running, its last object without finishedAt
    await seen(feed, 'e3', () => fake.delete('pods', 'default', 'e3'), (s) => s.kind === 'gone');
    await clock.advance(30_000); // 10:02:00
    await usage.flush();

    const flushed = await lines(usage);
    const of = (session: string) => flushed.filter((l) => l.session === session);
    expect(of(S1)).toEqual([
      {
        type: 'usage', session: S1, user: 'alice', team: 'analytics', kernelspec: 'pyspark', namespace: TEAM_NS,
        from: at(0), to: at(120),
        executorCoreSeconds: 2 * 40, executorMemoryByteSeconds: 1408 * MiB * 40,
        driverCoreSeconds: 2 * 120, driverMemoryByteSeconds: GiB * 120, jobs: 0,
      },
    ]);
    expect(of(S2)).toEqual([
      expect.objectContaining({
        user: 'bob', team: 'ml', namespace: null, from: at(0), to: at(120),
        executorCoreSeconds: 0.5 * 70, executorMemoryByteSeconds: GiB * 70, driverCoreSeconds: 120, driverMemoryByteSeconds: GiB * 120,
      }),
    ]);
    // the counters moved by the same figures
    const cores = await metrics.registry.getSingleMetric('sparkgate_usage_executor_core_seconds_total')!.get();
    expect(cores.values).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ labels: { user: 'alice', team: 'analytics' }, value: 80 }),
        expect.objectContaining({ labels: { user: 'bob', team: 'ml' }, value: 35 }),
      ]),
    );
    const started = await metrics.registry.getSingleMetric('sparkgate_sessions_started_total')!.get();
    expect(started.values).toEqual(expect.arrayContaining([expect.objectContaining({ labels: { user: 'alice', team: 'analytics', kernelspec: 'pyspark' }, value: 1 })]));

    // A new executor of S1, then the gateway goes away without S1 ending (a crash: no end record).
    await seen(feed, 'e4', () => fake.create('pods', TEAM_NS, podBody('e4', S1, '2', '1408Mi')));
    await seen(feed, 'e4', () => fake.mutate('pods', TEAM_NS, 'e4', (p) => void (p.status = running(at(150)))), (s) => s.phase === 'Running');
    await usage.stop(); // flushes at 10:02:00 again: nothing new
    await usage.stop();

    // The restarted gateway: a fresh registry (S1 is not live here), the same stateDir.
    await clock.advance(60_000); // 10:03:00
    const registry2 = new SessionRegistry({ retainMs: 3_600_000, now: () => clock.now() });
    const metering2 = startMetering(registry2, new GatewayMetrics({ defaultMetrics: false }));
    const listed = nextEvents(metering2.feed, 'sample', 1, (s) => s.name === 'e4');
    await metering2.usage.start();
    await listed;
    await clock.advance(60_000); // 10:04:00
    await metering2.usage.flush();
    // the reaper deletes it; its last object says the container finished at 10:04:20
    await clock.advance(40_000); // 10:04:40
    await seen(metering2.feed, 'e4', () => {
      fake.mutate('pods', TEAM_NS, 'e4', (p) => void (p.status = terminated(at(150), at(260))));
      fake.delete('pods', TEAM_NS, 'e4');
    }, (s) => s.kind === 'gone');
    await clock.advance(20_000); // 10:05:00
    await metering2.usage.flush();

    const after = (await lines(metering2.usage)).filter((l) => l.session === S1 && Date.parse(l.to) > T0 + 120_000);
    // billed to alice (the recorded header), from the last flush (10:02:00) on; e4 started 10:02:30
    expect(after.map((l) => [l.user, l.team, l.from, l.to, l.executorCoreSeconds, l.driverCoreSeconds])).toEqual([
      ['alice', 'analytics', at(120), at(240), 2 * 90, 0],
      ['alice', 'analytics', at(240), at(300), 2 * 20, 0],
    ]);
    // the restarted gateway recorded that S1 (and S2) ended with the old one
    const log = readFileSync(path.join(stateDir, 'usage', 'usage-2025-01-31.jsonl'), 'utf8');
    const ends = log.trim().split('\n').map((l) => JSON.parse(l) as { type: string; session: string; reason?: string }).filter((l) => l.type === 'end');
    expect(ends).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ session: S1, endedAt: at(120), reason: 'gateway-restart' }),
        expect.objectContaining({ session: S2, endedAt: at(120), reason: 'gateway-restart' }),
      ]),
    );
    await metering2.usage.stop();
  });
});
