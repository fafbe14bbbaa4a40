/**
 * GC layer 1 through the real @kubernetes/client-node: collectSession deletes a session's
 * executor pods, ConfigMap, PVC and Service and returns only once the API confirms they are
 * gone, through deletion delays, 500s, 429s and cut watches; other gateways' and unlabelled
 * pods survive. Runs against FakeKube, or a real cluster when KUBECONFIG is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectSessionError, ExecutorCollector } from '../../../src/k8s/executor-collector.js';
import type { GcObserver } from '../../../src/k8s/gc-observer.js';
import {
  GC_TIMEOUT_MS,
  itFakeOnly,
  newGatewayName,
  newSessionId,
  startTestCluster,
  TEST_BACKOFF,
  type TestCluster,
} from './cluster.js';
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

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

function fake() {
  if (!cluster.fake) throw new Error('FakeKube-only test ran against a real cluster');
  return cluster.fake;
}

function collectorFor(gatewayPod: string, observer?: GcObserver): ExecutorCollector {
  return new ExecutorCollector({ client: cluster.client(gatewayPod), backoff: TEST_BACKOFF, ...(observer ? { observer } : {}) });
}

const RESOURCES = ['pods', 'configmaps', 'services', 'persistentvolumeclaims'] as const;
const HOLD = 'test.sparkgate.io/hold';

/** Put a finalizer on the session's objects: deletion marks them and they stay until release(). */
function hold(ids: { sessionId: string }): void {
  const f = fake();
  for (const r of RESOURCES) {
    for (const o of f.list(r, cluster.namespace, `sparkgate.io/session=${ids.sessionId}`)) {
      f.mutate(r, cluster.namespace, o.metadata.name, (x) => (x.metadata.finalizers = [HOLD]));
    }
  }
}

function release(ids: { sessionId: string }): void {
  const f = fake();
  for (const r of RESOURCES) {
    for (const o of f.list(r, cluster.namespace, `sparkgate.io/session=${ids.sessionId}`)) {
      f.mutate(r, cluster.namespace, o.metadata.name, (x) => (x.metadata.finalizers = []));
    }
  }
}

const NOTHING = { pods: 0, configmaps: 0, services: 0, persistentvolumeclaims: 0 };

describe('ExecutorCollector.collectSession', () => {
  it('deletes every labelled pod, ConfigMap, PVC and Service and confirms they are gone', async () => {
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    await createSessionObjects(cluster, ids, 3);
    const durations: number[] = [];
    const stats = await collectorFor(ids.gatewayPod, { onGcDuration: (ms) => durations.push(ms) }).collectSession(ids.sessionId, {
      timeoutMs: GC_TIMEOUT_MS,
    });
    expect(stats.podsDeleted).toBe(3);
    expect(stats.otherDeleted).toBe(3);
    expect(stats.durationMs).toBeGreaterThanOrEqual(0);
    expect(durations).toEqual([stats.durationMs]);
    expect(await countSessionObjects(cluster, ids)).toEqual(NOTHING);
    if (cluster.fake) {
      const verbs = new Set(cluster.fake.requests.filter((r) => r.resource === 'pods').map((r) => r.verb));
      expect(verbs).toEqual(new Set(['create', 'list', 'deletecollection', 'watch']));
    }
  });

  it('also deletes what Spark labels only with the session\'s app id (the executor ConfigMap)', async () => {
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    const owner = { name: ids.gatewayPod, uid: await createGatewayPod(cluster, ids.gatewayPod) };
    await createExecutors(cluster, ids, 1);
    const confMap = await createSparkExecutorConfigMap(cluster, ids, owner);
    const otherSession = await createSparkExecutorConfigMap(cluster, { ...ids, sessionId: newSessionId() }, owner);
    const stats = await collectorFor(ids.gatewayPod).collectSession(ids.sessionId, { timeoutMs: GC_TIMEOUT_MS });
    expect(stats).toMatchObject({ podsDeleted: 1, otherDeleted: 1 });
    expect(await configMapExists(cluster, confMap)).toBe(false);
    expect(await configMapExists(cluster, otherSession)).toBe(true);
  });

  it('is a no-op for a session with nothing left', async () => {
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    const stats = await collectorFor(ids.gatewayPod).collectSession(ids.sessionId, { timeoutMs: GC_TIMEOUT_MS });
    expect(stats).toMatchObject({ podsDeleted: 0, otherDeleted: 0 });
  });

  it('never touches pods of another gateway, another session, or without labels', async () => {
    const gatewayPod = newGatewayName();
    const mine = { gatewayPod, sessionId: newSessionId() };
    const sameGatewayOtherSession = { gatewayPod, sessionId: newSessionId() };
    const otherGatewaySameSession = { gatewayPod: newGatewayName(), sessionId: mine.sessionId };
    await createExecutors(cluster, mine, 2);
    const [otherSession] = await createExecutors(cluster, sameGatewayOtherSession, 1);
    const [otherGateway] = await createExecutors(cluster, otherGatewaySameSession, 1);
    const unlabelled = `plain-${gatewayPod}`;
    await createUnlabelledPod(cluster, unlabelled);

    const stats = await collectorFor(gatewayPod).collectSession(mine.sessionId, { timeoutMs: GC_TIMEOUT_MS });
    expect(stats.podsDeleted).toBe(2);
    expect(await countSessionObjects(cluster, mine)).toEqual(NOTHING);
    expect(await podExists(cluster, otherSession ?? '')).toBe(true);
    expect(await podExists(cluster, otherGateway ?? '')).toBe(true);
    expect(await podExists(cluster, unlabelled)).toBe(true);
  });

  it('rejects a session id that cannot be a label value, before any API call', async () => {
    await expect(collectorFor(newGatewayName()).collectSession('not a label value!', { timeoutMs: 1_000 })).rejects.toThrow(
      /invalid value/,
    );
  });

  itFakeOnly('waits for graceful deletion to finish (deletionTimestamp first, gone later)', async () => {
    const f = fake();
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    await createSessionObjects(cluster, ids, 4);
    f.setDeletionDelayMs(150);
    try {
      const t0 = Date.now();
      const stats = await collectorFor(ids.gatewayPod).collectSession(ids.sessionId, { timeoutMs: GC_TIMEOUT_MS });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
      expect(stats).toMatchObject({ podsDeleted: 4, otherDeleted: 3 });
      expect(await countSessionObjects(cluster, ids)).toEqual(NOTHING);
    } finally {
      f.setDeletionDelayMs(0);
    }
  });

  itFakeOnly('retries 500s on list and deletecollection', async () => {
    const f = fake();
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    await createSessionObjects(cluster, ids, 2);
    const listFault = f.injectFault({ verb: 'list', resource: 'pods', status: 500, times: 2 });
    const deleteFault = f.injectFault({ verb: 'deletecollection', resource: 'configmaps', status: 503, times: 2 });
    const retries: string[] = [];
    const collector = new ExecutorCollector({
      client: cluster.client(ids.gatewayPod),
      backoff: TEST_BACKOFF,
      onRetry: ({ what }) => retries.push(what),
    });
    const stats = await collector.collectSession(ids.sessionId, { timeoutMs: GC_TIMEOUT_MS });
    expect(stats).toMatchObject({ podsDeleted: 2, otherDeleted: 3 });
    expect(listFault.hits).toBe(2);
    expect(deleteFault.hits).toBe(2);
    expect(retries).toEqual(expect.arrayContaining(['list pods', 'delete configmaps']));
    expect(await countSessionObjects(cluster, ids)).toEqual(NOTHING);
  });

  itFakeOnly('honours Retry-After on 429', async () => {
    const f = fake();
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    await createSessionObjects(cluster, ids, 2);
    const throttle = f.injectFault({ verb: 'deletecollection', resource: 'pods', status: 429, retryAfterSeconds: 1, times: 1 });
    const delays: number[] = [];
    const collector = new ExecutorCollector({
      client: cluster.client(ids.gatewayPod),
      backoff: TEST_BACKOFF,
      onRetry: ({ delayMs }) => delays.push(delayMs),
    });
    const t0 = Date.now();
    const stats = await collector.collectSession(ids.sessionId, { timeoutMs: GC_TIMEOUT_MS });
    expect(throttle.hits).toBe(1);
    expect(delays).toEqual([1000]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(990);
    expect(stats.podsDeleted).toBe(2);
    expect(await countSessionObjects(cluster, ids)).toEqual(NOTHING);
  });

  itFakeOnly('survives a dropped watch and a cut connection while waiting', async () => {
    const f = fake();
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    await createSessionObjects(cluster, ids, 3);
    hold(ids);
    const cut = f.injectFault({ verb: 'list', resource: 'services', reset: true, status: 0, times: 1 });
    const podWatches = () =>
      f.requests.filter((r) => r.verb === 'watch' && r.resource === 'pods' && r.query['labelSelector']?.includes(ids.sessionId)).length;
    const collecting = collectorFor(ids.gatewayPod).collectSession(ids.sessionId, { timeoutMs: GC_TIMEOUT_MS });
    // four kinds by session labels, three (ConfigMaps, Services, PVCs) by the session's app id
    await f.waitFor(() => f.openWatchesMatching(ids.sessionId) === 7, { what: "the collector's seven watches" });
    expect(f.dropWatches()).toBeGreaterThanOrEqual(7);
    // objects are still terminating (held by a finalizer): the collector must relist and watch again
    await f.waitFor(() => f.openWatchesMatching(ids.sessionId) === 7 && podWatches() === 2, { what: 'watches re-opened' });
    release(ids);
    const stats = await collecting;
    expect(cut.hits).toBe(1);
    expect(stats).toMatchObject({ podsDeleted: 3, otherDeleted: 3 });
    expect(await countSessionObjects(cluster, ids)).toEqual(NOTHING);
  });

  itFakeOnly('relists when the watch resourceVersion has expired (410 as an ERROR event or as HTTP 410)', async () => {
    const f = fake();
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    await createSessionObjects(cluster, ids, 2);
    hold(ids);
    const inStream = f.injectFault({ verb: 'watch', resource: 'pods', status: 410, inStream: true, message: 'too old resource version: 1 (2)' });
    const http = f.injectFault({ verb: 'watch', resource: 'configmaps', status: 410 });
    const lists = (resource: string) =>
      f.requests.filter((r) => r.verb === 'list' && r.resource === resource && r.query['labelSelector']?.includes(ids.sessionId)).length;
    const collecting = collectorFor(ids.gatewayPod).collectSession(ids.sessionId, { timeoutMs: GC_TIMEOUT_MS });
    await f.waitFor(() => f.openWatchesMatching(ids.sessionId) === 7, { what: 'all seven watching after the 410s' });
    expect([inStream.hits, http.hits]).toEqual([1, 1]);
    // ConfigMaps: two selectors (session labels, app id), one of them relisted after its 410
    expect([lists('pods'), lists('configmaps'), lists('services')]).toEqual([2, 3, 2]);
    release(ids);
    const stats = await collecting;
    expect(stats).toMatchObject({ podsDeleted: 2, otherDeleted: 3 });
    expect(await countSessionObjects(cluster, ids)).toEqual(NOTHING);
  });

  itFakeOnly('deletes executors created while it waits', async () => {
    const f = fake();
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    await createSessionObjects(cluster, ids, 1);
    hold(ids);
    const collecting = collectorFor(ids.gatewayPod).collectSession(ids.sessionId, { timeoutMs: GC_TIMEOUT_MS });
    await f.waitFor(() => f.openWatchesMatching(ids.sessionId) === 4);
    const [late] = await createExecutors(cluster, ids, 1, { firstIndex: 7 });
    await f.waitFor(() => f.get('pods', cluster.namespace, late ?? '') === undefined, { what: 'late executor deleted' });
    release(ids);
    const stats = await collecting;
    expect(stats.podsDeleted).toBe(2);
    expect(await countSessionObjects(cluster, ids)).toEqual(NOTHING);
  });

  itFakeOnly('gives up at the timeout and names what is left', async () => {
    const f = fake();
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    const [pod] = await createExecutors(cluster, ids, 1);
    f.setDeletionDelayMs(5_000);
    try {
      const err = await collectorFor(ids.gatewayPod)
        .collectSession(ids.sessionId, { timeoutMs: 200 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CollectSessionError);
      const e = err as CollectSessionError;
      expect(e.reason).toBe('timeout');
      expect(e.remaining).toEqual([{ resource: 'pods', name: pod }]);
      expect(e.message).toContain(`pods/${pod}`);
    } finally {
      f.setDeletionDelayMs(0);
    }
  });

  itFakeOnly('fails fast, with the API message, on a non-retryable error (403)', async () => {
    const f = fake();
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    await createExecutors(cluster, ids, 1);
    f.injectFault({ verb: 'deletecollection', resource: 'pods', status: 403, message: 'pods is forbidden: no deletecollection', times: 1 });
    const err = await collectorFor(ids.gatewayPod)
      .collectSession(ids.sessionId, { timeoutMs: GC_TIMEOUT_MS })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CollectSessionError);
    expect((err as CollectSessionError).reason).toBe('api');
    expect((err as Error).message).toMatch(/HTTP 403 Forbidden: pods is forbidden/);
    // a second run (fault used up) finishes the job
    await collectorFor(ids.gatewayPod).collectSession(ids.sessionId, { timeoutMs: GC_TIMEOUT_MS });
    expect(await countSessionObjects(cluster, ids)).toEqual(NOTHING);
  });
});
