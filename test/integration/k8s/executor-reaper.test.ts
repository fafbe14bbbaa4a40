/**
 * GC layer 2: the reaper's informer on this gateway's executor pods deletes orphans of dead
 * sessions after the grace period and Spark's inactive executors, keeps live sessions' pods,
 * never touches other gateways' or unlabelled pods, survives 410 relists and cut watches, and a
 * freshly started reaper (a restarted gateway) cleans up what existed before it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ExecutorLister } from '../../../src/k8s/executor-lister.js';
import { ExecutorReaper, type ExecutorReaperOptions } from '../../../src/k8s/executor-reaper.js';
import { itFakeOnly, newGatewayName, newSessionId, startTestCluster, TEST_BACKOFF, type TestCluster } from './cluster.js';
import { nextEvents } from './events.js';
import {
  configMapExists,
  countSessionObjects,
  createExecutors,
  createGatewayPod,
  createSessionObjects,
  createSparkExecutorConfigMap,
  createUnlabelledPod,
  podExists,
} from './spark-objects.js';

const GRACE_MS = 100;
let cluster: TestCluster;
const reapers: ExecutorReaper[] = [];

beforeAll(async () => {
  cluster = await startTestCluster();
});

afterEach(async () => {
  await Promise.all(reapers.splice(0).map((r) => r.stop()));
});

afterAll(async () => {
  await cluster?.stop();
});

function startReaper(gatewayPod: string, isLive: (id: string) => boolean, extra: Partial<ExecutorReaperOptions> = {}): ExecutorReaper {
  const reaper = new ExecutorReaper({
    client: cluster.client(gatewayPod),
    isLive,
    graceMs: GRACE_MS,
    resyncIntervalMs: 60_000,
    backoff: TEST_BACKOFF,
    ...extra,
  });
  reapers.push(reaper);
  reaper.start();
  return reaper;
}

describe('ExecutorReaper', () => {
  it('reaps pods of dead sessions after the grace period and keeps live sessions\' pods', async () => {
    const gatewayPod = newGatewayName();
    const live = { gatewayPod, sessionId: newSessionId() };
    const dead = { gatewayPod, sessionId: newSessionId() };
    const liveIds = new Set([live.sessionId]);
    const alive: number[] = [];
    let orphanHooks = 0;
    const reaper = startReaper(gatewayPod, (id) => liveIds.has(id), {
      observer: { executorsAlive: (n) => alive.push(n), onOrphanReaped: () => orphanHooks++ },
    });
    await reaper.whenSynced();
    const livePods = await createExecutors(cluster, live, 2);
    const t0 = Date.now();
    const reaped = nextEvents(reaper, 'reaped', 2);
    const deadPods = await createExecutors(cluster, dead, 2);

    const events = await reaped;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(GRACE_MS - 5);
    expect(events.map(([e]) => e.name).sort()).toEqual([...deadPods].sort());
    expect(events.every(([e]) => e.reason === 'session-dead' && e.sessionId === dead.sessionId)).toBe(true);
    expect(reaper.counters.orphansReaped).toBe(2);
    expect(orphanHooks).toBe(2);
    expect(alive).toContain(2);

    reaper.reconcile();
    for (const name of livePods) expect(await podExists(cluster, name)).toBe(true);
    expect(reaper.podsForSession(live.sessionId).map((p) => p.name)).toEqual(livePods);

    // the session ends: the next reconcile (after the grace period, already past) reaps its pods
    liveIds.delete(live.sessionId);
    const more = nextEvents(reaper, 'reaped', 2);
    reaper.reconcile();
    expect((await more).map(([e]) => e.name).sort()).toEqual([...livePods].sort());
  });

  it('deletes executors Spark marked spark-exec-inactive, even for a live session', async () => {
    const gatewayPod = newGatewayName();
    const ids = { gatewayPod, sessionId: newSessionId() };
    const reaper = startReaper(gatewayPod, (id) => id === ids.sessionId);
    await reaper.whenSynced();
    const [active] = await createExecutors(cluster, ids, 1);
    const reaped = nextEvents(reaper, 'reaped', 1);
    const [inactive] = await createExecutors(cluster, ids, 1, { inactive: true, firstIndex: 2 });
    const [[event]] = (await reaped) as [[{ name: string; reason: string }]];
    expect(event).toMatchObject({ name: inactive, reason: 'executor-inactive' });
    expect(reaper.counters.inactiveReaped).toBe(1);
    expect(reaper.counters.orphansReaped).toBe(0);
    reaper.reconcile();
    expect(await podExists(cluster, active ?? '')).toBe(true);
  });

  it('never touches other gateways\' pods or unlabelled pods', async () => {
    const gatewayPod = newGatewayName();
    const mine = { gatewayPod, sessionId: newSessionId() };
    const theirs = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    const [theirPod] = await createExecutors(cluster, theirs, 1);
    const plain = `plain-${gatewayPod}`;
    await createUnlabelledPod(cluster, plain);
    const reaper = startReaper(gatewayPod, () => false);
    const reaped = nextEvents(reaper, 'reaped', 1);
    const [minePod] = await createExecutors(cluster, mine, 1);
    expect((await reaped)[0]?.[0]).toMatchObject({ name: minePod });
    reaper.reconcile();
    expect(reaper.podsForSession(theirs.sessionId)).toEqual([]);
    expect(await podExists(cluster, theirPod ?? '')).toBe(true);
    expect(await podExists(cluster, plain)).toBe(true);
  });

  it('a freshly started reaper (restarted gateway) reaps pods and sweeps objects created before it', async () => {
    const gatewayPod = newGatewayName();
    const before = { gatewayPod, sessionId: newSessionId() };
    await createSessionObjects(cluster, before, 2);
    const reaper = new ExecutorReaper({ client: cluster.client(gatewayPod), isLive: () => false, graceMs: GRACE_MS, backoff: TEST_BACKOFF });
    reapers.push(reaper);
    const reaped = nextEvents(reaper, 'reaped', 2);
    const swept = nextEvents(reaper, 'swept', 3);
    reaper.start();
    reaper.start(); // twice is harmless
    await reaper.whenSynced();
    expect(reaper.podsForSession(before.sessionId)).toHaveLength(2);
    await Promise.all([reaped, swept]);
    expect(reaper.counters).toMatchObject({ orphansReaped: 2, objectsSwept: 3 });
    // deleted (a real cluster may still be finishing: count only objects not terminating)
    expect(await countSessionObjects(cluster, before, { terminating: false })).toEqual({
      pods: 0,
      configmaps: 0,
      services: 0,
      persistentvolumeclaims: 0,
    });
    await reaper.stop();
    await reaper.stop(); // twice is harmless
  });

  it('a restarted gateway sweeps the executor ConfigMaps Spark left for its dead sessions, and only those', async () => {
    const gatewayPod = newGatewayName();
    const otherGateway = newGatewayName();
    const owner = { name: gatewayPod, uid: await createGatewayPod(cluster, gatewayPod) };
    const otherOwner = { name: otherGateway, uid: await createGatewayPod(cluster, otherGateway) };
    const dead = { gatewayPod, sessionId: newSessionId() };
    const live = { gatewayPod, sessionId: newSessionId() };
    const deadConf = await createSparkExecutorConfigMap(cluster, dead, owner);
    const liveConf = await createSparkExecutorConfigMap(cluster, live, owner);
    // Another gateway's session (same labels scheme, other owner): never ours to delete.
    const theirConf = await createSparkExecutorConfigMap(cluster, { gatewayPod: otherGateway, sessionId: newSessionId() }, otherOwner);
    const reaper = startReaper(gatewayPod, (id) => id === live.sessionId, { sweepOnStart: false });
    await reaper.whenSynced();
    expect(await reaper.sweep()).toBe(1);
    expect(await configMapExists(cluster, deadConf, { terminating: false })).toBe(false);
    expect(await configMapExists(cluster, liveConf)).toBe(true);
    expect(await configMapExists(cluster, theirConf)).toBe(true);
  });

  it('does not sweep objects of live sessions', async () => {
    const gatewayPod = newGatewayName();
    const live = { gatewayPod, sessionId: newSessionId() };
    const dead = { gatewayPod, sessionId: newSessionId() };
    await createSessionObjects(cluster, live, 0);
    await createSessionObjects(cluster, dead, 0);
    const reaper = startReaper(gatewayPod, (id) => id === live.sessionId, { sweepOnStart: false });
    await reaper.whenSynced();
    expect(await reaper.sweep()).toBe(3);
    expect(await countSessionObjects(cluster, live, { terminating: false })).toMatchObject({ configmaps: 1, services: 1, persistentvolumeclaims: 1 });
    expect(await countSessionObjects(cluster, dead, { terminating: false })).toMatchObject({ configmaps: 0, services: 0, persistentvolumeclaims: 0 });
  });

  itFakeOnly('keeps working after compaction and a dropped watch (410 Expired, relist)', async () => {
    const fake = cluster.fake!;
    const gatewayPod = newGatewayName();
    const ids = { gatewayPod, sessionId: newSessionId() };
    const reaper = startReaper(gatewayPod, () => false);
    await reaper.whenSynced();
    await fake.waitFor(() => fake.openWatchesMatching(gatewayPod) === 1);
    const relisted = nextEvents(reaper, 'relist', 1);
    const synced = nextEvents(reaper, 'synced', 1);
    fake.compact();
    fake.dropWatches();
    await Promise.all([relisted, synced]);
    expect(reaper.counters.relists).toBe(1);
    const reaped = nextEvents(reaper, 'reaped', 1);
    const [pod] = await createExecutors(cluster, ids, 1);
    expect((await reaped)[0]?.[0]).toMatchObject({ name: pod });
    const lists = fake.requests.filter((r) => r.verb === 'list' && r.resource === 'pods' && r.query['labelSelector']?.includes(gatewayPod));
    expect(lists).toHaveLength(2);
  });

  itFakeOnly('retries a failing list at start and a failing delete', async () => {
    const fake = cluster.fake!;
    const gatewayPod = newGatewayName();
    const ids = { gatewayPod, sessionId: newSessionId() };
    fake.injectFault({ verb: 'list', resource: 'pods', status: 500, times: 2 });
    const reaper = startReaper(gatewayPod, () => false);
    const failures = await nextEvents(reaper, 'failure', 2);
    expect(failures.map(([f]) => f.what)).toEqual(['list executor pods', 'list executor pods']);
    await reaper.whenSynced();
    fake.injectFault({ verb: 'delete', resource: 'pods', status: 503, times: 2 });
    const reaped = nextEvents(reaper, 'reaped', 1);
    await createExecutors(cluster, ids, 1);
    await reaped;
    expect(fake.requests.filter((r) => r.verb === 'delete' && r.name?.startsWith(gatewayPod))).toHaveLength(3);
  });

  itFakeOnly('with deletion delay, a terminating pod is not deleted twice and leaves the snapshot when gone', async () => {
    const fake = cluster.fake!;
    const gatewayPod = newGatewayName();
    const ids = { gatewayPod, sessionId: newSessionId() };
    fake.setDeletionDelayMs(150);
    try {
      const reaper = startReaper(gatewayPod, () => false, { resyncIntervalMs: 20 });
      await reaper.whenSynced();
      const reaped = nextEvents(reaper, 'reaped', 1);
      const terminating = nextEvents(reaper, 'changed', 1, () => reaper.podsForSession(ids.sessionId)[0]?.terminating === true);
      const gone = nextEvents(reaper, 'changed', 1, () => reaper.podsForSession(ids.sessionId).length === 0);
      const [pod] = await createExecutors(cluster, ids, 1);
      await Promise.all([reaped, terminating]);
      expect(reaper.podsForSession(ids.sessionId)).toMatchObject([{ name: pod, terminating: true }]);
      await gone; // after the deletion delay; resyncs ran meanwhile (every 20 ms)
      expect(fake.get('pods', cluster.namespace, pod ?? '')).toBeUndefined();
      expect(fake.requests.filter((r) => r.verb === 'delete' && r.name === pod)).toHaveLength(1);
    } finally {
      fake.setDeletionDelayMs(0);
    }
  });

  it('serves ExecutorLister from its cache once synced; the lister falls back to the API otherwise', async () => {
    const gatewayPod = newGatewayName();
    const ids = { gatewayPod, sessionId: newSessionId() };
    const pods = await createExecutors(cluster, ids, 3);
    if (cluster.fake) {
      cluster.fake.mutate('pods', cluster.namespace, pods[0]!, (p) => {
        p.spec = { ...p.spec, nodeName: 'node-a' };
        p.status = { phase: 'Running', startTime: new Date(Date.now() - 5_000).toISOString() };
      });
    }
    const client = cluster.client(gatewayPod);
    const fromApi = await new ExecutorLister({ client }).list(ids.sessionId);
    expect(fromApi.map((p) => p.name)).toEqual(pods);
    expect(fromApi[0]).toMatchObject({ sessionId: ids.sessionId, executorId: '1', inactive: false, terminating: false });
    if (cluster.fake) {
      expect(fromApi[0]).toMatchObject({ phase: 'Running', node: 'node-a' });
      expect(fromApi[0]?.ageMs).toBeGreaterThanOrEqual(4_000);
      expect(fromApi[1]).toMatchObject({ phase: 'Pending', node: null, startTime: null });
    }

    const reaper = startReaper(gatewayPod, () => true);
    await reaper.whenSynced();
    const before = cluster.fake?.requests.length ?? 0;
    const fromCache = await new ExecutorLister({ client, cache: reaper }).list(ids.sessionId);
    expect(fromCache.map((p) => p.name)).toEqual(pods);
    if (cluster.fake) {
      expect(fromCache.map((p) => ({ ...p, ageMs: null }))).toEqual(fromApi.map((p) => ({ ...p, ageMs: null })));
      expect(cluster.fake.requests.length).toBe(before);
    }
  });
});
